// The browser part of the sign-in, done with fetch: our consent page (approve), the emulator's
// Spotify sign-in as a chosen user, and our callback. Returns the URL the client is sent to.
function cookieOf(res, name) {
  for (const c of res.headers.getSetCookie()) {
    const kv = c.split(';')[0];
    if (kv.startsWith(name + '=')) return kv;
  }
  throw new Error(`no ${name} cookie (HTTP ${res.status})`);
}

function field(html, name) {
  const m = html.match(new RegExp(`name="${name}" value="([^"]*)"`));
  if (!m) throw new Error(`no ${name} field in the consent page`);
  return m[1].replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');
}

export async function signInWithBrowser(authorizationUrl, user) {
  const consent = await fetch(authorizationUrl, { redirect: 'manual' });
  const html = await consent.text();
  if (consent.status !== 200) throw new Error(`consent page: HTTP ${consent.status}: ${html.slice(0, 300)}`);
  const csrf = cookieOf(consent, '__Host-mcp_csrf');
  const origin = new URL(authorizationUrl).origin;
  const approve = await fetch(`${origin}/authorize`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: csrf },
    body: new URLSearchParams({ request: field(html, 'request'), csrf: field(html, 'csrf'), decision: 'approve' }),
  });
  if (approve.status !== 302) throw new Error(`approve: HTTP ${approve.status}: ${await approve.text()}`);
  const bind = cookieOf(approve, '__Host-mcp_bind');
  const spotify = await fetch(`${approve.headers.get('location')}&emulator_user=${encodeURIComponent(user)}`, { redirect: 'manual' });
  if (spotify.status !== 302) throw new Error(`emulator sign-in: HTTP ${spotify.status}`);
  const callback = await fetch(spotify.headers.get('location'), { redirect: 'manual', headers: { cookie: bind } });
  if (callback.status !== 302) throw new Error(`callback: HTTP ${callback.status}: ${await callback.text()}`);
  return new URL(callback.headers.get('location'));
}
