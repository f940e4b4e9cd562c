import { all, get, send, upload } from "../api.js";
import { labelDistribution } from "../charts.js";
import { afterAttach, card, h, problem, stat, table, when } from "../dom.js";
import { navigate } from "../main.js";

export async function datasetsPage() {
  const datasets = await all("/v1/datasets");
  return h(
    "div",
    {},
    h("h1", {}, "Datasets"),
    h("p", { class: "subtitle" }, `${datasets.length} labeled datasets`),
    uploadForm(),
    card(
      null,
      datasets.length
        ? table(
            [
              { title: "name", value: (d) => d.name },
              { title: "examples", value: (d) => d.num_examples, number: true },
              { title: "labels", value: (d) => Object.keys(d.labels).length, number: true },
              { title: "kind", value: (d) => (d.multi_label ? "multi-label" : "single-label") },
              { title: "created", value: (d) => when(d.created_at) },
            ],
            datasets,
            (d) => navigate(`#/datasets/${d.id}`),
          )
        : h("p", { class: "muted" }, "No datasets yet: upload a CSV or JSONL file above."),
    ),
  );
}

function uploadForm() {
  const file = h("input", { type: "file", name: "file", accept: ".csv,.jsonl", required: true });
  const name = h("input", { name: "name", placeholder: "the file's name" });
  const result = h("div", {});
  const submit = h("button", { type: "submit" }, "Upload");
  const form = h("form", { class: "card stack" }, h("h2", {}, "Upload"), h("div", { class: "row" }, h("label", {}, "CSV or JSONL file", file), h("label", {}, "Name", name), submit), result);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    try {
      const dataset = await upload(file.files[0], name.value.trim() || null);
      navigate(`#/datasets/${dataset.id}`);
    } catch (error) {
      result.replaceChildren(problem(error));
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

export async function datasetPage(signal, id) {
  const [dataset, strategies] = await Promise.all([get(`/v1/datasets/${id}`), get("/v1/strategies")]);
  const chart = h("div", { class: "chart tall" });
  const labels = Object.keys(dataset.labels).length;
  const page = h(
    "div",
    {},
    h("h1", {}, dataset.name),
    h("p", { class: "subtitle mono" }, dataset.id, dataset.parent_id ? ` · version of ${dataset.parent_id}` : ""),
    h(
      "div",
      { class: "card stats" },
      stat("examples", dataset.num_examples),
      stat("labels", labels),
      stat("kind", dataset.multi_label ? "multi-label" : "single-label"),
      stat("format", dataset.format),
    ),
    dataset.warnings.length ? card("Warnings", dataset.warnings.map((w) => h("p", { class: "warning" }, w))) : null,
    card("Label distribution", chart),
    jobForm(dataset, strategies.data),
  );
  afterAttach(() => labelDistribution(chart, dataset.labels));
  return page;
}

function jobForm(dataset, strategies) {
  const strategy = h(
    "select",
    { name: "strategy" },
    h("option", { value: "auto" }, "auto: measure, then choose"),
    strategies.map((s) => h("option", { value: s.strategy }, `${s.strategy}: ${s.summary}`)),
  );
  const budget = h("select", { name: "budget" }, ["low", "standard", "high"].map((b) => h("option", { value: b, selected: b === "standard" }, b)));
  const hyperparameters = h("textarea", { name: "hyperparameters", placeholder: '{"epochs": 5}  (optional: the strategy\'s defaults otherwise)' });
  const result = h("div", {});
  const submit = h("button", { type: "submit" }, "Start job");
  const form = h(
    "form",
    { class: "card stack" },
    h("h2", {}, "Train a model on this dataset"),
    h("div", { class: "row" }, h("label", {}, "Strategy", strategy), h("label", {}, "Budget (auto)", budget)),
    h("label", {}, "Hyperparameters (JSON)", hyperparameters),
    result,
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    result.replaceChildren();
    let given = {};
    try {
      given = hyperparameters.value.trim() ? JSON.parse(hyperparameters.value) : {};
    } catch {
      result.replaceChildren(h("p", { class: "error" }, "Hyperparameters must be a JSON object."));
      return;
    }
    submit.disabled = true;
    try {
      const body = { dataset_id: dataset.id, strategy: strategy.value, hyperparameters: given };
      if (strategy.value === "auto") body.budget = budget.value;
      const job = await send("POST", "/v1/jobs", body);
      navigate(`#/jobs/${job.id}`);
    } catch (error) {
      result.replaceChildren(problem(error));
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}
