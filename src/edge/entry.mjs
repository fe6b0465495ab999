// The Worker's entry module: the Rust Worker (build/worker/shim.mjs, built by worker-build)
// behind one memo at the JS boundary, and the MCP Apps views it serves.
//
// The unauthenticated `/mcp` probe (a POST without Authorization) is what every client sends
// first and every scanner sends forever. The Rust router answers it from the URL's origin and
// the request's Origin header alone (`app::answer_before_body`: no body, no configuration
// change, no I/O), so the first answer for a given pair is kept and replayed without entering
// the .wasm: the logic stays in Rust, this only remembers its output. Only the early answers
// (401, or 403 from the origin checks) are kept; anything else always goes to Rust.
// The Rust Worker's fetch handler (the legacy shim of worker-build exports it), called from a
// plain module handler: no entrypoint class to construct on every request.
import { fetch as rustFetch } from "../../build/worker/shim.mjs";
import player from "../../build/ui/player.html";
import list from "../../build/ui/list.html";

// The MCP Apps views, as text (wrangler's Text rule), for the Rust adapter's `Assets` port
// (src/edge/mod.rs reads this one global; nothing else does).
globalThis.__SPOTIFY_MCP_VIEWS__ = Object.freeze({ "player.html": player, "list.html": list });

const probes = new Map();
/** Origins a deployment answers on are few; past this the memo starts over. */
const MAX = 64;

/**
 * `url` when its path is exactly `/mcp` with no query, else `undefined`: the text before the
 * path is the origin, so the whole URL is a key as good as (origin, path), found without
 * parsing the URL.
 */
function mcpProbeKey(url) {
  const pathStart = url.indexOf("/", url.indexOf("//") + 2);
  return url.endsWith("/mcp") && pathStart === url.length - 4 ? url : undefined;
}

async function remember(key, request, env, ctx) {
  const response = await rustFetch(request, env, ctx);
  if (response.status === 401 || response.status === 403) {
    if (probes.size >= MAX) probes.clear();
    const bytes = await response.clone().arrayBuffer();
    const body = bytes.byteLength > 0 ? bytes : null;
    probes.set(key, { body, init: { status: response.status, headers: new Headers(response.headers) } });
  }
  return response;
}

export default {
  // Not `async`: a replayed answer is returned as it is, without a promise around it.
  fetch(request, env, ctx) {
    if (request.method === "POST" && !request.headers.has("authorization")) {
      const url = mcpProbeKey(request.url);
      if (url !== undefined) {
        const key = `${url}\n${request.headers.get("origin") ?? ""}`;
        const known = probes.get(key);
        return known ? new Response(known.body, known.init) : remember(key, request, env, ctx);
      }
    }
    return rustFetch(request, env, ctx);
  },
};
