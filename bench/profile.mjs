// A CPU profile of the Worker's isolate while it serves N requests of one kind, taken through
// workerd's DevTools inspector (`wrangler dev --inspector-port`), printed as the top frames by
// self time and by total time. Wasm frames carry Rust function names while the .wasm keeps
// its name section (scripts/profile.sh builds one that does).
// Usage: node bench/profile.mjs <base> <inspector port> <unauth|list|search> [N] [top]
import WebSocket from 'ws'; // wrangler's own dependency; the inspector proxy wants an Origin header
import { signIn } from './signin.mjs';

const [base, iport, kind, nArg, topArg] = process.argv.slice(2);
const N = Number(nArg || 500);
const TOP = Number(topArg || 25);
const bodies = {
  unauth: { jsonrpc: '2.0', id: 1, method: 'tools/list' },
  list: { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} },
  search: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'search_tracks', arguments: { query: 'love', limit: 5 } } },
};
if (!bodies[kind]) throw new Error(`kind must be one of ${Object.keys(bodies)}`);
const access = kind === 'unauth' ? null : await signIn(base, 'profile-user');
const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25' };
if (access) headers.authorization = `Bearer ${access}`;
const send = async () => {
  const r = await fetch(`${base}/mcp`, { method: 'POST', headers, body: JSON.stringify(bodies[kind]) });
  await r.arrayBuffer();
  if (r.status !== (access ? 200 : 401)) throw new Error(`HTTP ${r.status}`);
};
for (let i = 0; i < 20; i++) await send(); // warm the isolate (and its caches)

// The Worker's isolate among the inspector's targets (the others belong to wrangler's proxy).
const targets = await (await fetch(`http://127.0.0.1:${iport}/json`)).json();
const target = targets.find((t) => t.webSocketDebuggerUrl && !/proxy/i.test(t.title || '')) || targets[0];
const ws = new WebSocket(target.webSocketDebuggerUrl, { headers: { origin: 'http://127.0.0.1' } });
await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
let next = 1;
const pending = new Map();
ws.onmessage = (m) => {
  const msg = JSON.parse(m.data);
  if (msg.id && pending.has(msg.id)) {
    pending.get(msg.id)(msg);
    pending.delete(msg.id);
  }
};
const call = (method, params = {}) => new Promise((resolve) => {
  const id = next++;
  pending.set(id, resolve);
  ws.send(JSON.stringify({ id, method, params }));
});

await call('Profiler.enable');
await call('Profiler.setSamplingInterval', { interval: 50 });
await call('Profiler.start');
const t0 = performance.now();
for (let i = 0; i < N; i++) await send();
const wall = performance.now() - t0;
const { result } = await call('Profiler.stop');
ws.close();

const { nodes, samples, timeDeltas } = result.profile;
const byId = new Map(nodes.map((n) => [n.id, n]));
const selfUs = new Map();
samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) || 0) + (timeDeltas[i] || 0)));
const parent = new Map();
for (const n of nodes) for (const c of n.children || []) parent.set(c, n.id);
const name = (n) => {
  const f = n.callFrame;
  const where = f.url ? ` ${f.url.replace(/^.*\//, '')}` : '';
  return `${f.functionName || '(anonymous)'}${where}`;
};
const self = new Map();
const total = new Map();
for (const [id, us] of selfUs) {
  const n = byId.get(id);
  self.set(name(n), (self.get(name(n)) || 0) + us);
  // Inclusive time: each distinct frame on the sample's stack once.
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const k = name(byId.get(cur));
    if (!seen.has(k)) total.set(k, (total.get(k) || 0) + us);
    seen.add(k);
  }
}
const idle = ['(idle)', '(program)', '(garbage collector)', '(root)'];
const busy = [...self].filter(([k]) => !idle.includes(k)).reduce((a, [, v]) => a + v, 0);
const print = (title, map) => {
  console.log(`\n${title}`);
  [...map].filter(([k]) => !idle.includes(k)).sort((a, b) => b[1] - a[1]).slice(0, TOP)
    .forEach(([k, us]) => console.log(`${(us / N / 1000).toFixed(3).padStart(8)} ms/req ${((100 * us) / busy).toFixed(1).padStart(5)}%  ${k.slice(0, 110)}`));
};
console.log(`${kind}: ${N} requests in ${(wall / N).toFixed(2)} ms each; isolate busy ${(busy / N / 1000).toFixed(3)} ms/request (sampled; GC ${((self.get('(garbage collector)') || 0) / N / 1000).toFixed(3)} ms)`);
print('top frames by self time', self);
print('top frames by total time', total);
print('the Worker\'s own (wasm) frames by total time', new Map([...total].filter(([k]) => k.includes('.wasm'))));
