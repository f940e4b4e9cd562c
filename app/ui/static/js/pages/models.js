import { all, get, send } from "../api.js";
import { confusionHeatmap, reliability } from "../charts.js";
import { afterAttach, card, fixed, h, link, meterRow, problem, stat, table, when } from "../dom.js";
import { navigate } from "../main.js";

export async function modelsPage() {
  const models = await all("/v1/models");
  return h(
    "div",
    {},
    h("h1", {}, "Models"),
    h("p", { class: "subtitle" }, `${models.length} models`),
    card(
      null,
      models.length
        ? table(
            [
              { title: "model", value: (m) => m.id },
              { title: "strategy", value: (m) => m.strategy },
              { title: "labels", value: (m) => m.labels.length, number: true },
              { title: "accuracy", value: (m) => fixed(m.metrics.accuracy), number: true },
              { title: "macro-F1", value: (m) => fixed(m.metrics.macro_f1), number: true },
              { title: "created", value: (m) => when(m.created_at) },
            ],
            models,
            (m) => navigate(`#/models/${m.id}`),
          )
        : h("p", { class: "muted" }, "No models yet: they appear when a job succeeds."),
    ),
  );
}

export async function modelPage(signal, id) {
  const [model, evaluation] = await Promise.all([get(`/v1/models/${id}`), get(`/v1/models/${id}/evaluation`).catch(() => null)]);
  const report = evaluation?.report;
  const heatmap = h("div", { class: "chart tall" });
  const calibration = h("div", { class: "chart" });
  const page = h(
    "div",
    {},
    h("h1", {}, "Model ", h("span", { class: "mono" }, model.id)),
    h(
      "p",
      { class: "subtitle" },
      `${model.strategy} on ${model.base_model}`,
      model.job_id ? [" · from job ", link(`#/jobs/${model.job_id}`, model.job_id)] : null,
      model.acceleration ? ` · served with ${model.acceleration.method}` : null,
    ),
    report
      ? h(
          "div",
          { class: "card stats" },
          stat("accuracy", report.accuracy),
          stat("macro-F1", report.macro_f1),
          stat("micro-F1", report.micro_f1),
          stat("calibration error", report.expected_calibration_error),
          stat("examples scored", report.num_examples),
        )
      : null,
    tryIt(model),
    report ? evaluationCards(model, report, heatmap, calibration) : card("Evaluation", h("p", { class: "muted" }, "No evaluation report for this model.")),
    aliasForm(model),
  );
  if (report) {
    afterAttach(() => {
      if (report.confusion_matrix) confusionHeatmap(heatmap, report.confusion_matrix.labels, report.confusion_matrix.matrix);
      if (report.calibration_bins?.length) reliability(calibration, report.calibration_bins);
    });
  }
  return page;
}

function evaluationCards(model, report, heatmap, calibration) {
  const perLabel = Object.entries(report.per_label || {}).map(([label, s]) => ({ label, ...s }));
  perLabel.sort((a, b) => a.f1 - b.f1 || a.label.localeCompare(b.label));
  return h(
    "div",
    {},
    report.confusion_matrix ? card("Confusion matrix (share of each true label)", heatmap) : null,
    h(
      "div",
      { class: "grid" },
      card(
        "Per label (weakest first)",
        table(
          [
            { title: "label", value: (r) => r.label },
            { title: "precision", value: (r) => fixed(r.precision), number: true },
            { title: "recall", value: (r) => fixed(r.recall), number: true },
            { title: "F1", value: (r) => fixed(r.f1), number: true },
            { title: "support", value: (r) => r.support, number: true },
          ],
          perLabel,
        ),
      ),
      h(
        "div",
        {},
        card("Calibration", report.calibration_bins?.length ? calibration : h("p", { class: "muted" }, "No confidence bins in this report.")),
        report.top_confusions?.length
          ? card(
              "Most confused",
              table(
                [
                  { title: "true", value: (c) => c.true },
                  { title: "predicted", value: (c) => c.predicted },
                  { title: "count", value: (c) => c.count, number: true },
                ],
                report.top_confusions,
              ),
            )
          : null,
      ),
    ),
  );
}

function tryIt(model) {
  const text = h("textarea", { name: "text", placeholder: "Type a text to classify", required: true });
  const scores = h("div", { class: "scores", "data-scores": "" });
  const submit = h("button", { type: "submit" }, "Predict");
  const form = h("form", { class: "card stack" }, h("h2", {}, "Try it"), text, submit, scores);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    try {
      const answer = await send("POST", `/v1/models/${model.id}/predict`, { inputs: [text.value] });
      const prediction = answer.predictions[0];
      const verdict = prediction.abstained
        ? h("p", { class: "muted" }, "The model abstains: the text may belong to no label.")
        : h("p", {}, "Best label: ", h("strong", { "data-best": "" }, prediction.label));
      scores.replaceChildren(verdict, ...prediction.scores.map((s, i) => meterRow(s.label, s.score, i === 0 && !prediction.abstained)));
    } catch (error) {
      scores.replaceChildren(problem(error));
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

function aliasForm(model) {
  const name = h("input", { name: "alias", placeholder: "support-router", required: true, pattern: "[A-Za-z0-9][A-Za-z0-9._-]{0,99}" });
  const reason = h("input", { name: "reason", placeholder: "why (kept in the history)" });
  const result = h("div", {});
  const form = h("form", { class: "card stack" }, h("h2", {}, "Point an alias at this model"), h("div", { class: "row" }, h("label", {}, "Alias", name), h("label", {}, "Reason", reason), h("button", { type: "submit" }, "Set alias")), result);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const body = { model_id: model.id };
      if (reason.value.trim()) body.reason = reason.value.trim();
      await send("PUT", `/v1/aliases/${encodeURIComponent(name.value.trim())}`, body);
      navigate("#/aliases");
    } catch (error) {
      result.replaceChildren(problem(error));
    }
  });
  return form;
}
