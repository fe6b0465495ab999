// The pages a person sees, in a real headless Chromium (Debian's, driven by playwright-core):
// landing page, a client's authorization approved on the consent page through the emulator's
// Spotify sign-in, the deny path, and revoking the client from "your connection" after which
// its next MCP call is refused. Screenshots go to the artifacts directory.
// Usage: node tests/browser/flow.mjs <worker base URL> <artifacts dir>
import { chromium } from 'playwright-core';
import http from 'node:http';
import { mkdirSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';

const [base, artifacts, ownClientId] = process.argv.slice(2);
mkdirSync(artifacts, { recursive: true });
const results = [];
const check = (ok, what) => {
  results.push({ ok, what });
  if (!ok) throw new Error(`failed: ${what}`);
};

// The MCP client's redirect target: a page that shows what the client received.
const client = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/html' });
  res.end(`<!doctype html><title>client</title><h1>Client received the answer</h1><p>${new URL(req.url, 'http://x').search.replace(/[<>&]/g, '')}</p>`);
});
await new Promise((r) => client.listen(0, '127.0.0.1', r));
const redirectUri = `http://127.0.0.1:${client.address().port}/callback`;

const reg = await (await fetch(`${base}/register`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ client_name: 'Browser Test Client', redirect_uris: [redirectUri], token_endpoint_auth_method: 'none' }),
})).json();

const ownAppReg = await (await fetch(`${base}/register`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ client_name: 'Own App Client', redirect_uris: [redirectUri], token_endpoint_auth_method: 'none' }),
})).json();

function authorizeUrl(challenge, state, clientId = reg.client_id) {
  const u = new URL(`${base}/authorize`);
  Object.entries({ response_type: 'code', client_id: clientId, redirect_uri: redirectUri, state, code_challenge: challenge, code_challenge_method: 'S256', resource: `${base}/mcp` })
    .forEach(([k, v]) => u.searchParams.set(k, v));
  return u.toString();
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const context = await browser.newContext();
  const page = await context.newPage();

  await page.goto(`${base}/`);
  check((await page.textContent('#url')).trim() === `${base}/mcp`, 'landing page shows the MCP URL');
  await page.screenshot({ path: `${artifacts}/1-landing.png`, fullPage: true });

  // Approve.
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  await page.goto(authorizeUrl(challenge, 'browser-state'));
  check(await page.isVisible('text=Browser Test Client'), 'consent page names the client');
  check(await page.isVisible('text=127.0.0.1'), 'consent page shows the redirect host');
  await page.screenshot({ path: `${artifacts}/2-consent.png`, fullPage: true });
  await page.waitForTimeout(1050); // a person reads the page; an approval within a second is refused
  await Promise.all([page.waitForURL(`${redirectUri}**`), page.click('button[value=approve]')]);
  const back = new URL(page.url());
  check(back.searchParams.get('state') === 'browser-state' && back.searchParams.get('iss') === base, 'client receives state and iss');
  await page.screenshot({ path: `${artifacts}/3-client-received-code.png`, fullPage: true });
  const token = await (await fetch(`${base}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: back.searchParams.get('code'), redirect_uri: redirectUri, code_verifier: verifier, client_id: reg.client_id }),
  })).json();
  const mcp = () => fetch(`${base}/mcp`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token.access_token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });
  check((await mcp()).status === 200, 'the approved client can call /mcp');

  // The choices: capabilities and the person's own Spotify app.
  const verifier2 = randomBytes(32).toString('base64url');
  const challenge2 = createHash('sha256').update(verifier2).digest('base64url');
  await page.goto(authorizeUrl(challenge2, 'own-app-state', ownAppReg.client_id));
  for (const c of ['playback', 'library', 'playlists']) {
    check(await page.isChecked(`input[name=capability][value=${c}]`), `capability ${c} is offered, checked by default`);
  }
  check(await page.isVisible('label[for=spotify_client_id]'), 'the Client ID field has a visible label');
  await page.uncheck('input[name=capability][value=playback]');
  await page.uncheck('input[name=capability][value=library]');
  await page.check('input[name=spotify_app][value=own]');
  await page.click('summary');
  check((await page.inputValue('#redirect_uri_copy')) === `${base}/callback`, 'the guide shows the exact Redirect URI');
  await page.fill('#spotify_client_id', 'not-a-client-id');
  await page.waitForTimeout(1050);
  await page.click('button[value=approve]');
  await page.waitForSelector('[role=alert]');
  check(await page.isVisible('text=32 characters'), 'a malformed Client ID comes back with what to fix');
  check(!(await page.isChecked('input[name=capability][value=playback]')), 'the choices survive the error');
  await page.screenshot({ path: `${artifacts}/2b-consent-own-app-error.png`, fullPage: true });
  check(await page.isVisible('#redirect_uri_copy'), 'after an error the guide stays open');
  await page.fill('#spotify_client_id', ownClientId);
  await page.screenshot({ path: `${artifacts}/2c-consent-own-app.png`, fullPage: true });
  await page.waitForTimeout(1050); // a person reads the page; an approval within a second is refused
  await Promise.all([page.waitForURL(`${redirectUri}**`), page.click('button[value=approve]')]);
  const own = new URL(page.url());
  check(own.searchParams.get('state') === 'own-app-state', 'signed in with the own app');
  const narrow = await (await fetch(`${base}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: own.searchParams.get('code'), redirect_uri: redirectUri, code_verifier: verifier2, client_id: ownAppReg.client_id }),
  })).json();
  check(narrow.scope === 'playlists', 'the grant carries only the chosen capability');

  // Deny.
  await page.goto(authorizeUrl(challenge, 'deny-state'));
  await Promise.all([page.waitForURL(`${redirectUri}**`), page.click('button[value=deny]')]);
  check(new URL(page.url()).searchParams.get('error') === 'access_denied', 'deny sends access_denied to the client');
  await page.screenshot({ path: `${artifacts}/4-denied.png`, fullPage: true });

  // Your connection: sign in, revoke the client.
  await page.goto(`${base}/account`);
  await page.screenshot({ path: `${artifacts}/5-account-sign-in.png`, fullPage: true });
  await page.click('form[action="/account/login"] button');
  await page.waitForSelector('text=Signed in as');
  const row = page.locator('li', { hasText: 'Browser Test Client' });
  check((await row.count()) === 1, 'your connection lists the client');
  check(await page.isVisible('text=your own app'), 'your connection names the Spotify app in use');
  await page.screenshot({ path: `${artifacts}/6-account.png`, fullPage: true });
  await row.locator('button', { hasText: 'Revoke' }).click();
  await page.locator('li', { hasText: 'Browser Test Client' }).waitFor({ state: 'detached' });
  check((await page.locator('li', { hasText: 'Browser Test Client' }).count()) === 0, 'revoked client disappears');
  await page.screenshot({ path: `${artifacts}/7-account-after-revoke.png`, fullPage: true });
  check((await mcp()).status === 401, "the revoked client's next call is refused");

  // An error page is a page, not a stack trace or JSON.
  await page.goto(`${base}/callback?state=bogus&code=x`);
  check(await page.isVisible('text=Unknown sign-in'), 'a bad callback explains itself');
  await page.screenshot({ path: `${artifacts}/8-error-page.png`, fullPage: true });
} finally {
  await browser.close();
  client.close();
}
console.log(JSON.stringify({ passed: results.length, checks: results.map((r) => r.what) }));
