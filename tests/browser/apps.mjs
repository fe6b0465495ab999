// The MCP Apps views as a person sees them in a chat client: a host page built on the SDK's
// AppBridge (tests/browser/apps-host.js, bundled here) loads each UI resource read from the
// running Worker into a sandboxed iframe under the resource's CSP, hands it a real tool
// result, and forwards the view's tool calls to the Worker. Headless Chromium (Debian's,
// driven by playwright-core) clicks the buttons; the Worker's own get_playback_state says
// whether the emulator's player followed. Screenshots of both views in both themes.
// Usage: node tests/browser/apps.mjs <worker base URL> <bearer access token> <artifacts dir>
import { chromium } from 'playwright-core';
import { build } from 'esbuild';
import http from 'node:http';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [base, token, artifacts] = process.argv.slice(2);
if (!base || !token || !artifacts) {
  console.error('usage: node tests/browser/apps.mjs <worker base URL> <access token> <artifacts dir>');
  process.exit(2);
}
const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
mkdirSync(artifacts, { recursive: true });

const results = [];
function check(ok, what, detail = '') {
  results.push({ ok, what });
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${ok || !detail ? '' : `: ${detail}`}`);
  if (!ok) throw new Error(`failed: ${what}${detail ? `: ${detail}` : ''}`);
}

// --- The Worker, over JSON-RPC: the 2025-06-18 protocol, one POST per request. A client
// declares MCP Apps support at initialize; the session id it gets back remembers that.
const APPS = 'io.modelcontextprotocol/ui';
const UI_MIME = 'text/html;profile=mcp-app';
let rpcId = 0;
let session;
async function rpc(method, params) {
  const headers = {
    authorization: `Bearer ${token}`,
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': '2025-06-18',
  };
  if (session) headers['mcp-session-id'] = session;
  const res = await fetch(`${base}/mcp`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ jsonrpc: '2.0', id: ++rpcId, method, params }),
  });
  if (method === 'initialize') session = res.headers.get('mcp-session-id') ?? undefined;
  const body = await res.text();
  if (res.status !== 200) throw new Error(`${method}: HTTP ${res.status}: ${body.slice(0, 300)}`);
  // A streamable-HTTP answer may come as one SSE event.
  const json = res.headers.get('content-type')?.includes('text/event-stream')
    ? JSON.parse(body.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5)).join(''))
    : JSON.parse(body);
  if (json.error) throw new Error(`${method}: ${JSON.stringify(json.error)}`);
  return json.result;
}
const tool = (name, args = {}) => rpc('tools/call', { name, arguments: args });
const playback = async () => (await tool('get_playback_state')).structuredContent;

// --- The host page, served from loopback ---
const host = await build({
  entryPoints: [join(root, 'tests/browser/apps-host.js')],
  bundle: true,
  minify: true,
  format: 'iife',
  write: false,
  logLevel: 'warning',
});
const hostHtml = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>MCP Apps test host</title>
<style>body{margin:0;padding:16px;background:#e9ebee}[data-theme=dark] body{background:#050505}iframe{border:0;display:block}</style>
</head><body><div id="stage"></div><script>${host.outputFiles[0].text.replace(/<\/script/gi, '<\\/script')}</script></body></html>`;
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(hostHtml);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const hostOrigin = `http://127.0.0.1:${server.address().port}`;

/// Spotify's image hosts (src/tools/ui.rs IMAGE_ORIGINS): what the views may load.
const IMAGE_HOST = /^https:\/\/[a-z0-9-]+\.(scdn\.co|spotifycdn\.com)$/;

// A cover for every Spotify image, so screenshots do not depend on the internet.
function coverSvg(path) {
  let h = 0;
  for (const c of path) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  const a = h % 360;
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="hsl(${a},70%,55%)"/><stop offset="1" stop-color="hsl(${(a + 60) % 360},70%,30%)"/></linearGradient></defs><rect width="64" height="64" fill="url(#g)"/><circle cx="32" cy="32" r="14" fill="none" stroke="#fff" stroke-opacity=".6" stroke-width="3"/></svg>`;
}

function contrast(a, b) {
  const lum = ([r, g, b2]) => {
    const f = (v) => {
      const s = v / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b2);
  };
  const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const stray = [];
const consoleErrors = [];
const sizes = {};
try {
  // --- What the server offers ---
  const init = await rpc('initialize', {
    protocolVersion: '2025-06-18',
    capabilities: { extensions: { [APPS]: { mimeTypes: [UI_MIME] } } },
    clientInfo: { name: 'apps-browser-test', version: '1.0.0' },
  });
  check(init.capabilities?.extensions?.[APPS]?.mimeTypes?.includes(UI_MIME), 'the server advertises MCP Apps', JSON.stringify(init.capabilities));
  check(!!session, 'initialize with MCP Apps gives a session id', String(session));
  const tools = (await rpc('tools/list', {})).tools;
  const uiOf = (name) => tools.find((t) => t.name === name)?._meta?.ui?.resourceUri;
  check(uiOf('get_playback_state') === 'ui://spotify/player.html', 'get_playback_state opens the player view', uiOf('get_playback_state'));
  for (const name of ['search', 'get_item', 'get_playlist', 'get_library']) {
    check(uiOf(name) === 'ui://spotify/list.html', `${name} opens the list view`, uiOf(name));
  }
  const resources = {};
  for (const view of ['player', 'list']) {
    const uri = `ui://spotify/${view}.html`;
    const r = (await rpc('resources/read', { uri })).contents?.[0];
    check(r?.uri === uri && r?.mimeType === UI_MIME, `${uri} is an MCP App resource`, JSON.stringify(r?.mimeType));
    check(typeof r.text === 'string' && r.text.startsWith('<!doctype html>'), `${uri} holds the built HTML`);
    check(!/<(script|link|img)[^>]+(src|href)=["']?https?:/i.test(r.text), `${uri} loads nothing from outside`);
    const csp = r._meta?.ui?.csp;
    const domains = csp?.resourceDomains ?? [];
    check(
      domains.includes('https://i.scdn.co') && domains.every((d) => IMAGE_HOST.test(d)) && !csp.connectDomains?.length,
      `${uri} allows images from Spotify's hosts and nothing else`,
      JSON.stringify(csp),
    );
    sizes[view] = Buffer.byteLength(r.text);
    resources[view] = r;
  }

  const context = await browser.newContext({ viewport: { width: 520, height: 900 }, deviceScaleFactor: 2 });
  await context.route(
    (url) => IMAGE_HOST.test(url.origin),
    (route) => route.fulfill({ status: 200, contentType: 'image/svg+xml', body: coverSvg(new URL(route.request().url()).pathname) }),
  );
  const page = await context.newPage();
  page.on('request', (req) => {
    const u = req.url();
    if (!u.startsWith(hostOrigin) && !/^(data|about|blob):/.test(u) && !IMAGE_HOST.test(new URL(u).origin)) stray.push(u);
  });
  page.on('console', (m) => {
    // zod probes for eval once, which the CSP refuses as intended.
    if (m.type() === 'error' && !/unsafe-eval/.test(m.text())) consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  await page.exposeFunction('workerRpc', (method, params) => rpc(method, params));
  await page.goto(hostOrigin);
  const frameEl = page.locator('#stage iframe');
  const frame = page.frameLocator('#stage iframe');
  const mount = (view, toolName, input, result, extra = {}) =>
    page.evaluate((a) => window.mountView(a), { html: resources[view].text, csp: resources[view]._meta.ui.csp, tool: toolName, input, result, ...extra });
  const hostLog = () => page.evaluate(() => window.hostLog.slice());
  const frameEval = async (fn, arg) => (await frameEl.elementHandle()).contentFrame().then((f) => f.evaluate(fn, arg));
  const shoot = async (name) => {
    // No hover highlight or focus ring left over from the clicks: the pointer rests on the
    // heading, which has no hover style.
    await frame.locator('h1').first().hover();
    await frameEval(() => document.activeElement?.blur());
    await page.waitForTimeout(150);
    await frameEl.screenshot({ path: join(artifacts, name) });
  };
  const setTheme = async (theme) => {
    await page.evaluate((t) => window.setTheme(t), theme);
    await frame.locator(`html[data-theme="${theme}"]`).waitFor();
  };
  // Text contrast as rendered: each element's color against the first opaque background up
  // its ancestors.
  const contrasts = async (selectors) => {
    const pairs = await frameEval((sels) => {
      const rgb = (s) => (s.match(/[\d.]+/g) || []).map(Number);
      const bgOf = (el) => {
        for (let e = el; e; e = e.parentElement) {
          const c = rgb(getComputedStyle(e).backgroundColor);
          if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c.slice(0, 3);
        }
        return [255, 255, 255];
      };
      return sels.flatMap((s) => [...document.querySelectorAll(s)].slice(0, 1).map((el) => ({ s, fg: rgb(getComputedStyle(el).color).slice(0, 3), bg: bgOf(el) })));
    }, selectors);
    return pairs.map((p) => ({ s: p.s, ratio: contrast(p.fg, p.bg) }));
  };
  const checkContrast = async (view, theme, selectors) => {
    const low = (await contrasts(selectors)).filter((p) => p.ratio < 4.5);
    check(low.length === 0, `${view} text meets WCAG AA contrast in ${theme} theme`, JSON.stringify(low));
  };
  const unnamedButtons = () =>
    frameEval(() => [...document.querySelectorAll('button')].filter((b) => !(b.getAttribute('aria-label') || b.textContent.trim())).length);
  const fitsWidth = async (view, width) => {
    await page.evaluate((w) => {
      document.querySelector('#stage iframe').style.width = `${w}px`;
    }, width);
    await page.waitForTimeout(100);
    const [scroll, client] = await frameEval(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
    check(scroll <= client, `${view} fits ${width}px without sideways scrolling`, `${scroll} > ${client}`);
  };

  // --- Player ---
  const stateResult = await tool('get_playback_state');
  const state = stateResult.structuredContent;
  check(!stateResult.isError && !!state?.track, 'something is playing (set up by the caller)', JSON.stringify(state));
  await mount('player', 'get_playback_state', {}, stateResult, { theme: 'light' });
  await frame.locator('h1.title', { hasText: state.track.name }).waitFor({ timeout: 10000 });
  check(true, `player shows the title "${state.track.name}"`);
  const artistsText = await frame.locator('.artists').textContent();
  check(artistsText.includes(state.track.artists[0]), `player shows the artist "${state.track.artists[0]}"`, artistsText);
  check((await frame.locator('.device').textContent()).includes(state.device.name), `player shows the device "${state.device.name}"`);
  const volumeShown = (await frame.locator('input[type=range]').count()) === 1;
  check(volumeShown === (typeof state.device.volume_percent === 'number'), 'the volume control is there exactly when the device reports a volume');
  check((await unnamedButtons()) === 0, 'every player button has an accessible name');
  // Keyboard: Tab moves between the controls, and the focused one shows a focus ring.
  await frame.getByRole('button', { name: 'Previous track' }).focus();
  await page.keyboard.press('Tab');
  const focused = await frameEval(() => {
    const el = document.activeElement;
    const cs = getComputedStyle(el);
    return { label: el.getAttribute('aria-label'), outline: cs.outlineStyle, width: parseFloat(cs.outlineWidth) };
  });
  check(focused.label === 'Pause' && focused.outline !== 'none' && focused.width >= 2, 'Tab reaches Pause and shows a visible focus ring', JSON.stringify(focused));
  await checkContrast('player', 'light', ['h1.title', '.artists', '.muted', '.eyebrow', '.times']);
  await shoot('ui-player-light.png');
  // The README's screenshot is refreshed on request only: a test run leaves the tree clean.
  if (process.env.UPDATE_DOCS_SCREENSHOT === '1') copyFileSync(join(artifacts, 'ui-player-light.png'), join(root, 'docs/player.png'));
  await setTheme('dark');
  await checkContrast('player', 'dark', ['h1.title', '.artists', '.muted', '.eyebrow', '.times']);
  const darkBg = await frameEval(() => getComputedStyle(document.documentElement).backgroundColor);
  check(darkBg === 'rgb(23, 24, 26)', 'the dark host background variable is applied', darkBg);
  await shoot('ui-player-dark.png');
  await fitsWidth('player', 320);
  await page.evaluate(() => {
    document.querySelector('#stage iframe').style.width = '420px';
  });

  // Pause through the view: the emulator's player stops.
  check(state.is_playing === true, 'the player was playing before Pause');
  await frame.getByRole('button', { name: 'Pause' }).click();
  await frame.getByRole('button', { name: 'Play', exact: true }).waitFor({ timeout: 10000 });
  check(true, 'after Pause the view re-renders with a Play button');
  const afterPause = await playback();
  check(afterPause.is_playing === false, 'Pause in the view paused the player (get_playback_state: is_playing false)', JSON.stringify(afterPause));
  const calls = (await hostLog()).filter((l) => l.call).map((l) => `${l.call} ${JSON.stringify(l.arguments)}`);
  check(calls.includes('control_playback {"command":"pause"}') && calls.includes('get_playback_state {}'), 'the view called control_playback pause, then get_playback_state, through the host', calls.join('; '));

  // Nothing playing: the real tool's idle shape.
  await mount('player', 'get_playback_state', {}, {
    content: [{ type: 'text', text: 'Nothing is playing and no device is active.' }],
    structuredContent: { is_playing: false, track: null, device: null, progress_ms: 0, shuffle: false, repeat: 'off', context_uri: null },
  });
  await frame.getByText('Nothing is playing right now.').waitFor({ timeout: 10000 });
  check(true, 'player says when nothing is playing');

  // --- List, from a real search ---
  const current = (await playback()).track?.uri;
  const searchResult = await tool('search', { query: 'love', types: ['track'], limit: 5 });
  const tracks = searchResult.structuredContent?.results?.tracks?.items ?? [];
  check(!searchResult.isError && tracks.length >= 2, 'search "love" finds tracks', JSON.stringify(searchResult).slice(0, 300));
  await mount('list', 'search', { query: 'love', types: ['track'], limit: 5 }, searchResult, { theme: 'light' });
  await frame.locator('.row').first().waitFor({ timeout: 10000 });
  const titles = await frame.locator('.row-title').allTextContents();
  check(JSON.stringify(titles) === JSON.stringify(tracks.map((t) => t.name)), 'list rows show the found titles in order', JSON.stringify(titles));
  check((await frame.locator('.row').first().locator('.row-detail').textContent()).includes(tracks[0].artists[0]), 'list rows show the artists');
  check((await unnamedButtons()) === 0, 'every list button has an accessible name');
  check((await frame.getByRole('button', { name: /^Add .* to queue$/ }).count()) === tracks.length, 'each track row has an Add-to-queue button');
  const pick = tracks.find((t) => t.uri !== current) ?? tracks[0];
  await frame.getByRole('button', { name: `Play ${pick.name}`, exact: true }).click();
  await frame.locator('#status', { hasText: `Now playing: ${pick.name}` }).waitFor({ timeout: 10000 });
  check(true, `after Play the list says "Now playing: ${pick.name}"`);
  const afterPlay = await playback();
  check(afterPlay.track?.uri === pick.uri && afterPlay.is_playing === true, `Play on the row made "${pick.name}" the playing track (get_playback_state)`, JSON.stringify(afterPlay.track));
  check((await frame.locator('.row[aria-current="true"] .row-title').textContent()) === pick.name, 'the playing row is marked');
  const other = tracks.find((t) => t.uri !== pick.uri);
  await frame.getByRole('button', { name: `Add ${other.name} to queue`, exact: true }).click();
  await frame.locator('#status', { hasText: `Added ${other.name} to the queue.` }).waitFor({ timeout: 10000 });
  const queue = (await tool('get_queue')).structuredContent?.queue ?? [];
  check(queue.some((t) => t.uri === other.uri), `Add to queue queued "${other.name}" (get_queue)`);
  await checkContrast('list', 'light', ['h1.title', '.row-title', '.row-detail', '#status']);
  await shoot('ui-list-light.png');
  await setTheme('dark');
  await checkContrast('list', 'dark', ['h1.title', '.row-title', '.row-detail', '#status']);
  await shoot('ui-list-dark.png');
  await fitsWidth('list', 320);

  // An album from get_item: its tracks, each played in the album's context.
  const albumUri = 'spotify:album:6i6folBtxKV28WX3msQ4FE';
  const album = await tool('get_item', { uri: albumUri });
  const albumTracks = album.structuredContent?.tracks ?? [];
  check(!album.isError && albumTracks.length >= 3, 'get_item gives an album with tracks', JSON.stringify(album).slice(0, 300));
  await mount('list', 'get_item', { uri: albumUri }, album);
  await frame.locator('h1.title', { hasText: album.structuredContent.name }).waitFor({ timeout: 10000 });
  const albumTitles = await frame.locator('.row-title').allTextContents();
  check(JSON.stringify(albumTitles) === JSON.stringify(albumTracks.map((t) => t.name)), 'the album view lists its tracks', JSON.stringify(albumTitles));
  const third = albumTracks[2];
  await frame.getByRole('button', { name: `Play ${third.name}`, exact: true }).click();
  await frame.locator('#status', { hasText: `Now playing: ${third.name}` }).waitFor({ timeout: 10000 });
  const inAlbum = await playback();
  check(inAlbum.track?.uri === third.uri && inAlbum.context_uri === albumUri, `Play on the album's third row plays "${third.name}" in the album`, JSON.stringify(inAlbum));

  // An empty result and a tool error, as the real tools give them.
  const none = await tool('search', { query: 'zzzqqxnothing', types: ['track'] });
  await mount('list', 'search', {}, none);
  await frame.getByText('Nothing found for “zzzqqxnothing”.').waitFor({ timeout: 10000 });
  check(true, 'list says when a search finds nothing');
  const failed = await tool('get_item', { uri: 'spotify:album:0000000000000000000000' });
  check(failed.isError === true, 'get_item of a missing album is an error result');
  await mount('list', 'get_item', {}, failed);
  const alert = frame.locator('#status.error');
  await alert.waitFor({ timeout: 10000 });
  check((await alert.textContent()) === failed.content[0].text, 'list shows the error text of an isError result');

  check(stray.length === 0, 'the page fetched nothing but the host page and Spotify images', stray.join(' '));
  check(consoleErrors.length === 0, 'no errors in the console', consoleErrors.join(' | '));
} catch (e) {
  if (!results.some((r) => !r.ok)) results.push({ ok: false, what: String(e?.message ?? e) });
  console.log(`FAIL ${e?.stack ?? e}`);
} finally {
  await browser.close();
  server.close();
}
const failed = results.filter((r) => !r.ok);
const size = Object.entries(sizes).map(([k, v]) => `${k} ${v} B`).join(', ');
console.log(`apps: ${results.length - failed.length}/${results.length} checks passed${size ? ` (${size})` : ''}${failed.length ? `; failed: ${failed[0].what}` : ''}`);
process.exit(failed.length ? 1 : 0);
