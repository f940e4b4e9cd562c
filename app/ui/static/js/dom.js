// Building the page. Text always goes in through textContent, never as HTML, so dataset texts
// and label names are shown as they are, whatever they contain.

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value == null || value === false) continue;
    if (name === "class") element.className = value;
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child == null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export function card(title, ...children) {
  return h("section", { class: "card" }, title ? h("h2", {}, title) : null, ...children);
}

export function table(columns, rows, onRow) {
  const head = h("tr", {}, columns.map((c) => h("th", { class: c.number ? "number" : null }, c.title)));
  const body = rows.map((row) =>
    h(
      "tr",
      { class: onRow ? "link" : null, onclick: onRow ? () => onRow(row) : null },
      columns.map((c) => h("td", { class: c.number ? "number" : null }, cell(c.value(row)))),
    ),
  );
  return h("div", { class: "table-wrap" }, h("table", {}, h("thead", {}, head), h("tbody", {}, body)));
}

function cell(value) {
  if (value instanceof Node) return value;
  if (value == null) return "—";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toFixed(3);
  return String(value);
}

export function fixed(value, digits = 3) {
  return typeof value === "number" ? value.toFixed(digits) : null;
}

export function badge(status) {
  return h("span", { class: `badge ${status}` }, status);
}

export function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "—";
}

export function stat(name, value) {
  const shown = typeof value === "number" && !Number.isInteger(value) ? value.toFixed(3) : value;
  return h("div", { class: "stat" }, h("div", { class: "value" }, shown ?? "—"), h("div", { class: "name" }, name));
}

export function problem(error) {
  const lines = (error.problem?.errors || []).map((e) => h("li", {}, `${e.location}: ${e.message}`));
  return h("div", { class: "error", role: "alert" }, error.message, lines.length ? h("ul", {}, lines) : null);
}

export function meterRow(label, score, best) {
  const bar = h("div", {});
  bar.style.width = `${Math.round(score * 1000) / 10}%`;
  return h(
    "div",
    { class: `score-row${best ? " best" : ""}`, dataset: { label } },
    h("span", { class: "label" }, label),
    h("div", { class: "meter" }, bar),
    h("span", { class: "value" }, score.toFixed(3)),
  );
}

export function link(href, text) {
  return h("a", { href }, text);
}

// Charts measure their container: draw them once the page is in the document.
export function afterAttach(draw) {
  requestAnimationFrame(() => draw());
}
