// A signed-in user's access token for the benchmarks: registers a client, plays the browser
// through our consent page and the emulator's Spotify sign-in, and redeems the code.
import { signInWithBrowser } from '../tests/clients/browser.mjs';
import { createHash, randomBytes } from 'node:crypto';

export async function signIn(base, user) {
  const redirect = 'http://127.0.0.1:9/bench';
  const reg = await (await fetch(`${base}/register`, { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_name: 'bench', redirect_uris: [redirect], token_endpoint_auth_method: 'none' }) })).json();
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const url = new URL(`${base}/authorize`);
  Object.entries({ response_type: 'code', client_id: reg.client_id, redirect_uri: redirect, state: 's', code_challenge: challenge, code_challenge_method: 'S256' })
    .forEach(([k, v]) => url.searchParams.set(k, v));
  const back = await signInWithBrowser(url.toString(), user);
  const tok = await (await fetch(`${base}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: back.searchParams.get('code'), redirect_uri: redirect, code_verifier: verifier, client_id: reg.client_id }) })).json();
  return tok.access_token;
}
