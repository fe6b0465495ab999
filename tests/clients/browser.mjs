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

// `ownClientId`: sign in with the person's own Spotify app instead of the server's.
export async function signInWithBrowser(authorizationUrl, user, ownClientId) {
  const consent = await fetch(authorizationUrl, { redirect: 'manual' });
  const html = await consent.text();
  if (consent.status !== 200) throw new Error(`consent page: HTTP ${consent.status}: ${html.slice(0, 300)}`);
  const csrf = cookieOf(consent, '__Host-mcp_csrf');
  const origin = new URL(authorizationUrl).origin;
  // The page refuses an approval within a second of appearing (double-clickjacking).
  await new Promise((resolve) => setTimeout(resolve, 1050));
  const approve = await fetch(`${origin}/authorize`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: csrf },
    // What a browser sends with the boxes checked by default.
    body: new URLSearchParams([['request', field(html, 'request')], ['csrf', field(html, 'csrf')], ['decision', 'approve'],
      ...[...html.matchAll(/name="capability" value="(\w+)" checked/g)].map((m) => ['capability', m[1]]),
      ...(ownClientId ? [['spotify_app', 'own'], ['spotify_client_id', ownClientId]] : [])]),
  });
  if (approve.status !== 302) throw new Error(`approve: HTTP ${approve.status}: ${await approve.text()}`);
  const bind = cookieOf(approve, '__Host-mcp_bind');
  let next = approve.headers.get('location');
  // Spotify, then our callback; once more when the callback widens to an existing link's scopes.
  for (let round = 0; round < 2; round++) {
    const spotify = await fetch(`${next}&emulator_user=${encodeURIComponent(user)}`, { redirect: 'manual' });
    if (spotify.status !== 302) throw new Error(`emulator sign-in: HTTP ${spotify.status}: ${await spotify.text()}`);
    const callback = await fetch(spotify.headers.get('location'), { redirect: 'manual', headers: { cookie: bind } });
    if (callback.status !== 302) throw new Error(`callback: HTTP ${callback.status}: ${await callback.text()}`);
    next = callback.headers.get('location');
    if (new URL(next).origin !== new URL(approve.headers.get('location')).origin) return new URL(next);
  }
  throw new Error('more than two rounds through Spotify');
}
