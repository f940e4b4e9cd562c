// The adaptd API from the browser. The API key lives in this tab's sessionStorage only: it is
// sent in the Authorization header, never put in a URL, and gone when the tab closes.

const KEY = "adaptd.api-key";

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export const session = {
  key: () => sessionStorage.getItem(KEY),
  signIn: (key) => sessionStorage.setItem(KEY, key),
  signOut: () => sessionStorage.removeItem(KEY),
};

function headers(extra = {}) {
  return { Authorization: `Bearer ${session.key()}`, Accept: "application/json", ...extra };
}

async function answer(response) {
  if (response.status === 204) return null;
  const body = await response.json().catch(() => ({ detail: response.statusText }));
  if (!response.ok) {
    if (response.status === 401) {
      session.signOut();
      window.dispatchEvent(new Event("adaptd:signed-out"));
    }
    throw new ApiError(response.status, body);
  }
  return body;
}

export async function get(path, params = {}) {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v != null));
  const url = query.toString() ? `${path}?${query}` : path;
  return answer(await fetch(url, { headers: headers() }));
}

export async function send(method, path, body) {
  const extra = { "Content-Type": "application/json" };
  if (method === "POST") extra["Idempotency-Key"] = crypto.randomUUID();
  const init = { method, headers: headers(extra) };
  if (body !== undefined) init.body = JSON.stringify(body);
  return answer(await fetch(path, init));
}

export async function upload(file, name) {
  const form = new FormData();
  form.append("file", file);
  if (name) form.append("name", name);
  const init = {
    method: "POST",
    headers: headers({ "Idempotency-Key": crypto.randomUUID() }),
    body: form,
  };
  return answer(await fetch("/v1/datasets", init));
}

// Every item of a paged list (`data`, `has_more`, `after` = the last id).
export async function all(path, limit = 100) {
  const items = [];
  let after = null;
  for (;;) {
    const page = await get(path, { limit, after });
    items.push(...page.data);
    if (!page.has_more || page.data.length === 0) return items;
    after = page.data[page.data.length - 1].id ?? page.data[page.data.length - 1].sequence;
  }
}

// Server-sent events over fetch (EventSource cannot send the Authorization header). Calls
// onMessage({event, id, data}) for each message until the stream ends or `signal` aborts;
// resumes after a dropped connection from the last id seen.
export async function follow(path, onMessage, signal) {
  let lastId = null;
  for (let attempt = 0; attempt < 6 && !signal.aborted; attempt++) {
    try {
      const extra = lastId ? { "Last-Event-ID": lastId } : {};
      const response = await fetch(path, { headers: headers(extra), signal });
      if (!response.ok) return answer(response);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const message = parseMessage(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          if (message) {
            if (message.id) lastId = message.id;
            attempt = 0;
            onMessage(message);
          }
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** attempt));
    }
  }
}

function parseMessage(block) {
  const message = { event: "message", id: null, data: "" };
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") message.event = value;
    else if (field === "id") message.id = value;
    else if (field === "data") message.data += (message.data ? "\n" : "") + value;
  }
  return message.data ? { ...message, data: JSON.parse(message.data) } : null;
}
