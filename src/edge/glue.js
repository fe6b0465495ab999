// Helpers of the Rust adapter (src/edge/mod.rs), bundled into the Worker by wasm-bindgen.
// Each does in one call what would otherwise be several calls between the .wasm and JS
// (every call through the boundary pays for its arguments, and every string it returns
// is copied into the .wasm with a call back to its allocator). None of them decides
// anything: the server's logic stays in Rust.
//
// Headers cross as text, `name\nvalue\n` per header: the Fetch API refuses CR, LF and NUL
// in header names and values, so the text splits back unambiguously.

/** Every header of `headers` as `name\nvalue\n`. */
export function headerLines(headers) {
  let text = "";
  for (const [name, value] of headers) text += name + "\n" + value + "\n";
  return text;
}

function headersOf(lines) {
  const headers = new Headers();
  const parts = lines.split("\n");
  for (let i = 0; i + 1 < parts.length; i += 2) headers.append(parts[i], parts[i + 1]);
  return headers;
}

/** `env[name]` when it has a function `method` (a binding of that kind), else undefined. */
export function binding(env, name, method) {
  const value = env[name];
  return value != null && typeof value[method] === "function" ? value : undefined;
}

/** `fetch` of an outbound request: redirects are not followed, `signal` aborts it. */
export function send(url, method, lines, body, signal) {
  const init = { method, headers: headersOf(lines), redirect: "manual", signal };
  if (body.length > 0) init.body = body.slice();
  return fetch(url, init);
}

/** The Worker's answer. An empty body is no body (what a 204 or 304 must have). */
export function respond(status, lines, body) {
  return new Response(body.length > 0 ? body.slice() : null, { status, headers: headersOf(lines) });
}
