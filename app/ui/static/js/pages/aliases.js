import { all, send } from "../api.js";
import { card, h, link, problem, table, when } from "../dom.js";

export async function aliasesPage(signal) {
  const aliases = await all("/v1/aliases");
  const page = h("div", {}, h("h1", {}, "Aliases"), h("p", { class: "subtitle" }, "Names that predictions go through; every move is kept."));
  if (!aliases.length) page.append(card(null, h("p", { class: "muted" }, "No aliases yet: point one at a model from its page.")));
  for (const alias of aliases) page.append(aliasCard(alias));
  return page;
}

function aliasCard(alias) {
  const current = h("span", { class: "mono", "data-alias-model": alias.name }, alias.model_id);
  const message = h("div", {});
  const history = h("div", {});
  const rollback = h("button", { type: "button", class: "danger", "data-rollback": alias.name }, "Roll back one step");
  const showHistory = (moves) =>
    history.replaceChildren(
      table(
        [
          { title: "when", value: (m) => when(m.created_at) },
          { title: "from", value: (m) => m.from_model_id },
          { title: "to", value: (m) => link(`#/models/${m.to_model_id}`, m.to_model_id) },
          { title: "by", value: (m) => m.actor },
          { title: "kind", value: (m) => (m.is_rollback ? "rollback" : m.rolled_back ? "move (undone)" : "move") },
          { title: "reason", value: (m) => m.reason },
        ],
        moves,
      ),
    );
  showHistory(alias.history);
  rollback.addEventListener("click", async () => {
    if (!confirm(`Move ${alias.name} back one step?`)) return;
    rollback.disabled = true;
    message.replaceChildren();
    try {
      const moved = await send("POST", `/v1/aliases/${encodeURIComponent(alias.name)}/rollback`, { reason: "rolled back from the dashboard" });
      current.textContent = moved.model_id;
      showHistory(moved.history);
    } catch (error) {
      message.replaceChildren(problem(error));
    } finally {
      rollback.disabled = false;
    }
  });
  return card(alias.name, h("p", {}, "Serves ", current, " · updated ", when(alias.updated_at)), h("p", {}, rollback), message, history);
}
