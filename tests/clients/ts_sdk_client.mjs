// The official TypeScript MCP SDK client (speaks 2025-11-25) completes the OAuth flow
// against the running Worker and calls search_tracks.
// Usage: node ts_sdk_client.mjs <worker base URL> <spotify user> [own Spotify app client id]
// Prints one JSON line with what it saw; exits non-zero on any failure.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { signInWithBrowser } from './browser.mjs';

const [base, user, ownClientId] = process.argv.slice(2);
const redirectUrl = 'http://127.0.0.1:9/ts-sdk-callback';
let clientInfo, tokens, verifier, code;

const authProvider = {
  get redirectUrl() { return redirectUrl; },
  get clientMetadata() {
    return { client_name: 'TS SDK e2e', redirect_uris: [redirectUrl], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' };
  },
  clientInformation: () => clientInfo,
  saveClientInformation: (info) => { clientInfo = info; },
  tokens: () => tokens,
  saveTokens: (t) => { tokens = t; },
  saveCodeVerifier: (v) => { verifier = v; },
  codeVerifier: () => verifier,
  redirectToAuthorization: async (url) => {
    const back = await signInWithBrowser(url.toString(), user, ownClientId);
    code = back.searchParams.get('code');
  },
};

const mcpUrl = new URL(`${base}/mcp`);
async function connect() {
  const client = new Client({ name: 'ts-sdk-e2e', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(mcpUrl, { authProvider });
  await client.connect(transport);
  return { client, transport };
}

let session;
try {
  session = await connect();
  throw new Error('expected the first connection to require sign-in');
} catch (e) {
  if (!(e instanceof UnauthorizedError)) throw e;
  const transport = new StreamableHTTPClientTransport(mcpUrl, { authProvider });
  await transport.finishAuth(code);
  session = await connect();
}
const { client } = session;
const tools = await client.listTools();
const result = await client.callTool({ name: 'search_tracks', arguments: { query: 'love', limit: 2 } });
const profile = await client.callTool({ name: 'get_my_profile', arguments: {} });
console.log(JSON.stringify({
  protocolVersion: session.transport.protocolVersion,
  tools: tools.tools.map((t) => t.name),
  searchIsError: result.isError,
  trackCount: result.structuredContent?.tracks?.length,
  user: profile.structuredContent?.id,
  profileIsError: profile.isError,
  scope: tokens?.scope,
}));
await client.close();
