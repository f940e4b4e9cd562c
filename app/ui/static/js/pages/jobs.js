import { all, follow, get, send } from "../api.js";
import { trainingCurves } from "../charts.js";
import { afterAttach, badge, card, fixed, h, link, problem, stat, table, when } from "../dom.js";
import { navigate } from "../main.js";

export async function jobsPage() {
  const jobs = await all("/v1/jobs");
  return h(
    "div",
    {},
    h("h1", {}, "Jobs"),
    h("p", { class: "subtitle" }, `${jobs.length} jobs, newest first`),
    card(
      null,
      jobs.length
        ? table(
            [
              { title: "status", value: (j) => badge(j.status) },
              { title: "kind", value: (j) => j.kind },
              { title: "strategy", value: (j) => (j.requested_strategy === "auto" ? `auto → ${j.strategy}` : j.strategy) },
              { title: "dataset", value: (j) => j.dataset_id },
              { title: "accuracy", value: (j) => fixed(j.metrics.accuracy), number: true },
              { title: "created", value: (j) => when(j.created_at) },
            ],
            jobs,
            (j) => navigate(`#/jobs/${j.id}`),
          )
        : h("p", { class: "muted" }, "No jobs yet: start one from a dataset's page."),
    ),
  );
}

export async function jobPage(signal, id) {
  const job = await get(`/v1/jobs/${id}`);
  const status = h("span", { "data-job-status": "" }, badge(job.status));
  const fill = h("div", {});
  const progressText = h("span", {});
  const eta = h("span", {});
  const events = h("div", { class: "events" });
  const curves = h("div", { class: "chart" });
  const outcome = h("div", {});
  const cancel = h("button", { type: "button", class: "danger", hidden: job.status !== "queued" && job.status !== "running" }, "Cancel job");
  cancel.addEventListener("click", async () => {
    if (!confirm(`Cancel job ${job.id}?`)) return;
    cancel.disabled = true;
    try {
      await send("POST", `/v1/jobs/${job.id}/cancel`);
    } catch (error) {
      outcome.replaceChildren(problem(error));
    }
  });
  const page = h(
    "div",
    {},
    h("h1", {}, `Job `, h("span", { class: "mono" }, job.id)),
    h("p", { class: "subtitle" }, status, " ", strategyLine(job), " on ", job.dataset_id ? link(`#/datasets/${job.dataset_id}`, job.dataset_id) : "no dataset"),
    card("Progress", h("div", { class: "progress" }, fill), h("div", { class: "progress-line" }, progressText, eta), h("p", {}, cancel)),
    outcome,
    job.auto ? autoCard(job.auto) : null,
    h("div", { class: "grid" }, card("Loss and validation per epoch", curves), card("Events", events)),
  );

  const show = (latest) => {
    status.replaceChildren(badge(latest.status));
    const p = latest.progress || {};
    const fraction = latest.status === "succeeded" ? 1 : p.fraction ?? (p.total_steps ? (p.step || 0) / p.total_steps : 0);
    fill.style.width = `${Math.round(fraction * 100)}%`;
    const parts = [];
    if (p.total_steps) parts.push(`step ${p.step ?? 0}/${p.total_steps}`);
    if (p.epochs) parts.push(`epoch ${p.epoch ?? 0}/${p.epochs}`);
    if (p.loss != null) parts.push(`loss ${p.loss.toFixed(4)}`);
    progressText.textContent = parts.join(" · ") || latest.status;
    eta.textContent = p.eta_seconds != null && latest.status === "running" ? `about ${duration(p.eta_seconds)} left` : "";
    cancel.hidden = latest.status !== "queued" && latest.status !== "running";
  };
  show(job);

  afterAttach(() => {
    const chart = trainingCurves(curves);
    follow(
      `/v1/jobs/${job.id}/events/stream`,
      (message) => {
        if (message.event === "progress") {
          show(message.data);
          return;
        }
        const event = message.data;
        events.prepend(h("div", {}, h("span", { class: "muted" }, `${new Date(event.created_at).toLocaleTimeString()} `), event.message));
        const d = event.data || {};
        if (event.type === "metrics" && d.validation) {
          chart.add({ epoch: d.epoch, loss: d.train_loss, accuracy: d.validation.accuracy, macroF1: d.validation.macro_f1 });
        }
        if (event.type === "state" && ["succeeded", "failed", "cancelled"].includes(d.status)) {
          get(`/v1/jobs/${job.id}`).then((ended) => {
            show(ended);
            outcome.replaceChildren(outcomeCard(ended));
          });
        }
      },
      signal,
    );
  });
  if (["succeeded", "failed", "cancelled"].includes(job.status)) outcome.replaceChildren(outcomeCard(job));
  return page;
}

const HEADLINE = [
  ["accuracy", "validation accuracy"],
  ["macro_f1", "macro-F1"],
  ["micro_f1", "micro-F1"],
  ["epochs_trained", "epochs"],
  ["train_seconds", "training seconds"],
];

function strategyLine(job) {
  if (job.kind !== "train") return `${job.kind} of model ${job.model_id} (${job.strategy})`;
  return job.requested_strategy === "auto" ? `auto chose ${job.strategy}` : job.strategy;
}

function autoCard(auto) {
  return card(
    "What auto measured",
    h("p", {}, auto.reason),
    table(
      [
        { title: "strategy", value: (t) => t.strategy },
        { title: "outcome", value: (t) => t.outcome },
        { title: "validation", value: (t) => fixed(t.validation_score), number: true },
        { title: "seconds", value: (t) => fixed(t.seconds, 1), number: true },
      ],
      auto.trials,
    ),
  );
}

function outcomeCard(job) {
  if (job.status === "succeeded") {
    return card(
      "Result",
      h("div", { class: "stats" }, HEADLINE.filter(([key]) => job.metrics[key] != null).map(([key, name]) => stat(name, job.metrics[key]))),
      h("p", {}, "Model ", link(`#/models/${job.model_id}`, job.model_id)),
      job.strategy_reason ? h("p", { class: "muted" }, job.strategy_reason) : null,
    );
  }
  if (job.error) return card("Failed", h("p", { class: "error" }, `${job.error.code}: ${job.error.message}`));
  return card("Ended", h("p", {}, `The job ended ${job.status}.`));
}

function duration(seconds) {
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return m ? `${m} min ${s} s` : `${s} s`;
}
