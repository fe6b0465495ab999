// CPU per request of the Worker under `wrangler dev`: signs a user in (through the emulator),
// then sends N authenticated tools/list and N tools/call search_tracks requests, and reads the
// CPU time (utime + stime, from /proc) of every workerd process before and after each batch.
// Usage: node bench/cpu.mjs <worker base URL> [N]   (scripts/bench.sh starts everything)
import { readFileSync, readdirSync } from 'node:fs';
import { signIn } from './signin.mjs';

const [base, nArg] = process.argv.slice(2);
const N = Number(nArg || 300);
const TICKS = 100; // USER_HZ on Linux

function workerdCpuTicks() {
  let total = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes('workerd')) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += Number(fields[11]) + Number(fields[12]); // utime, stime
    } catch { /* process went away */ }
  }
  return total;
}

async function batch(label, access, body, path = '/mcp', expect = 200) {
  const headers = { authorization: `Bearer ${access}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25' };
  const init = body === undefined ? { headers } : { method: 'POST', headers, body };
  for (let i = 0; i < 10; i++) await (await fetch(`${base}${path}`, init)).arrayBuffer(); // warm up
  const before = workerdCpuTicks();
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const r = await fetch(`${base}${path}`, init);
    if (r.status !== expect) throw new Error(`${label}: HTTP ${r.status}`);
    await r.arrayBuffer();
  }
  const wall = performance.now() - t0;
  const cpuMs = ((workerdCpuTicks() - before) * 1000) / TICKS;
  console.log(`${label}: ${N} requests, workerd CPU ${cpuMs.toFixed(0)} ms total = ${(cpuMs / N).toFixed(2)} ms/request; wall ${(wall / N).toFixed(2)} ms/request`);
}

const access = await signIn(base, 'bench-user');
// Baselines: what workerd spends per request around the Worker (local proxy, routing), with no
// KV and no outbound fetch, so the figures below can be read as "baseline + our work".
await batch('baseline GET /health', access, undefined, '/health');
await batch('baseline /mcp rejected before KV (401)', 'not-a-token', JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), '/mcp', 401);
await batch('tools/list', access, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }));
await batch('tools/call search_tracks', access, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'search_tracks', arguments: { query: 'love', limit: 5 } } }));
