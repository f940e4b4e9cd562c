import { all, get } from "../api.js";
import { badge, card, fixed, h, link, table, when } from "../dom.js";
import { navigate } from "../main.js";

export async function webhooksPage() {
  const webhooks = await all("/v1/webhooks");
  return h(
    "div",
    {},
    h("h1", {}, "Webhooks"),
    h("p", { class: "subtitle" }, "Endpoints that hear of jobs, models and aliases."),
    card(
      null,
      webhooks.length
        ? table(
            [
              { title: "url", value: (w) => w.url },
              { title: "events", value: (w) => w.events.join(", ") },
              { title: "state", value: (w) => (w.enabled ? "enabled" : `disabled: ${w.disabled_reason || ""}`) },
              { title: "created", value: (w) => when(w.created_at) },
            ],
            webhooks,
            (w) => navigate(`#/webhooks/${w.id}`),
          )
        : h("p", { class: "muted" }, "No webhooks: subscribe one with POST /v1/webhooks."),
    ),
  );
}

export async function webhookPage(signal, id) {
  const [webhook, deliveries] = await Promise.all([get(`/v1/webhooks/${id}`), all(`/v1/webhooks/${id}/deliveries`)]);
  return h(
    "div",
    {},
    h("h1", {}, "Webhook deliveries"),
    h("p", { class: "subtitle" }, webhook.url),
    card(
      null,
      table(
        [
          { title: "event", value: (d) => d.event_type },
          { title: "status", value: (d) => badge(d.status) },
          { title: "attempts", value: (d) => d.attempts, number: true },
          { title: "last answer", value: (d) => d.last_status_code ?? d.last_error },
          { title: "created", value: (d) => when(d.created_at) },
        ],
        deliveries,
      ),
    ),
  );
}

export async function triggersPage() {
  const triggers = await all("/v1/triggers");
  return h(
    "div",
    {},
    h("h1", {}, "Retraining triggers"),
    h("p", { class: "subtitle" }, "Signed calls that retrain a model and move an alias only when it is better."),
    card(
      null,
      triggers.length
        ? table(
            [
              { title: "name", value: (t) => t.name },
              { title: "alias", value: (t) => t.alias },
              { title: "gate", value: (t) => `${t.gate.metric} +${t.gate.min_delta}` },
              { title: "dataset", value: (t) => t.dataset_id },
              { title: "created", value: (t) => when(t.created_at) },
            ],
            triggers,
            (t) => navigate(`#/triggers/${t.id}`),
          )
        : h("p", { class: "muted" }, "No triggers: create one with POST /v1/triggers."),
    ),
  );
}

export async function triggerPage(signal, id) {
  const [trigger, runs] = await Promise.all([get(`/v1/triggers/${id}`), all(`/v1/triggers/${id}/runs`)]);
  return h(
    "div",
    {},
    h("h1", {}, trigger.name),
    h("p", { class: "subtitle" }, `moves ${trigger.alias} when ${trigger.gate.metric} gains at least ${trigger.gate.min_delta} on ${trigger.gate.eval_dataset_id}`),
    card(
      "Runs and their decisions",
      runs.length
        ? table(
            [
              { title: "decision", value: (r) => badge(r.status) },
              { title: "job", value: (r) => link(`#/jobs/${r.job_id}`, r.job_id) },
              { title: "candidate", value: (r) => fixed(r.candidate_score), number: true },
              { title: "current", value: (r) => fixed(r.current_score), number: true },
              { title: "why", value: (r) => r.reason },
              { title: "started", value: (r) => when(r.created_at) },
            ],
            runs,
          )
        : h("p", { class: "muted" }, "Not fired yet."),
    ),
  );
}
