import { session } from "../api.js";
import { h } from "../dom.js";

export function signInPage(onSignedIn) {
  const key = h("input", { type: "password", name: "api-key", autocomplete: "off", required: true, placeholder: "adk_…" });
  const message = h("p", { class: "error", role: "alert" });
  const form = h(
    "form",
    { class: "stack card signin" },
    h("h1", {}, "Sign in"),
    h("p", { class: "muted" }, "Paste an API key. It is kept in this tab only, and the pages show only its team."),
    h("label", {}, "API key", key),
    message,
    h("button", { type: "submit" }, "Sign in"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.textContent = "";
    const candidate = key.value.trim();
    const response = await fetch("/v1/datasets?limit=1", {
      headers: { Authorization: `Bearer ${candidate}`, Accept: "application/json" },
    }).catch(() => null);
    if (response?.ok) {
      session.signIn(candidate);
      onSignedIn();
    } else if (response?.status === 401) {
      message.textContent = "That key is not known (or was revoked).";
    } else {
      message.textContent = response ? `The service answered ${response.status}.` : "The service cannot be reached.";
    }
  });
  return form;
}
