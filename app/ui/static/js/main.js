// The dashboard: a hash router over pages that call the public API with the signed-in key.

import { session } from "./api.js";
import { destroyCharts } from "./charts.js";
import { h, problem } from "./dom.js";
import { aliasesPage } from "./pages/aliases.js";
import { datasetPage, datasetsPage } from "./pages/datasets.js";
import { jobPage, jobsPage } from "./pages/jobs.js";
import { modelPage, modelsPage } from "./pages/models.js";
import { signInPage } from "./pages/signin.js";
import { triggerPage, triggersPage, webhookPage, webhooksPage } from "./pages/hooks.js";

const routes = [
  [/^#\/datasets$/, datasetsPage],
  [/^#\/datasets\/([\w-]+)$/, datasetPage],
  [/^#\/jobs$/, jobsPage],
  [/^#\/jobs\/([\w-]+)$/, jobPage],
  [/^#\/models$/, modelsPage],
  [/^#\/models\/([\w-]+)$/, modelPage],
  [/^#\/aliases$/, aliasesPage],
  [/^#\/webhooks$/, webhooksPage],
  [/^#\/webhooks\/([\w-]+)$/, webhookPage],
  [/^#\/triggers$/, triggersPage],
  [/^#\/triggers\/([\w-]+)$/, triggerPage],
];

let current = new AbortController();

async function render() {
  current.abort();
  current = new AbortController();
  destroyCharts();
  const view = document.getElementById("view");
  const signedIn = Boolean(session.key());
  document.getElementById("nav").hidden = !signedIn;
  document.getElementById("sign-out").hidden = !signedIn;
  if (!signedIn) {
    view.replaceChildren(signInPage(() => navigate("#/datasets")));
    return;
  }
  const hash = location.hash || "#/datasets";
  const match = routes.map(([pattern, page]) => [hash.match(pattern), page]).find(([m]) => m);
  for (const a of document.querySelectorAll("nav a")) {
    a.classList.toggle("active", hash.startsWith(`#/${a.dataset.section}`));
  }
  if (!match) {
    view.replaceChildren(h("p", { class: "error" }, "No such page."));
    return;
  }
  const [found, page] = match;
  view.replaceChildren(h("p", { class: "muted" }, "Loading…"));
  try {
    const content = await page(current.signal, ...found.slice(1));
    if (!current.signal.aborted) view.replaceChildren(content);
  } catch (error) {
    if (!current.signal.aborted) view.replaceChildren(problem(error));
  }
}

export function navigate(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

window.addEventListener("hashchange", render);
window.addEventListener("adaptd:signed-out", render);
document.getElementById("sign-out").addEventListener("click", () => {
  session.signOut();
  render();
});
render();
