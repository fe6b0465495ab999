// The host side of MCP Apps for tests/browser/apps.mjs, bundled by esbuild at test time:
// the SDK's AppBridge talking to a view in a sandboxed iframe, as a chat client would.
// The view's server tool calls go to `window.workerRpc`, which the test exposes from Node
// (it holds the bearer token and sends them to the Worker's /mcp).
import { AppBridge, PostMessageTransport } from '@modelcontextprotocol/ext-apps/app-bridge';

// A few host style variables, so the views' use of applyHostStyleVariables is exercised;
// the rest come from the views' own fallbacks.
const VARIABLES = {
  light: { '--color-background-primary': '#ffffff', '--color-text-primary': '#14171a', '--font-sans': 'system-ui, sans-serif' },
  dark: { '--color-background-primary': '#17181a', '--color-text-primary': '#f1f3f4', '--font-sans': 'system-ui, sans-serif' },
};

/// The CSP a host derives from the resource's `_meta.ui.csp`: inline script and style (the
/// views are single files), and only the declared origins for everything else.
function policy(csp = {}) {
  const res = (csp.resourceDomains ?? []).join(' ');
  const list = (v, none = "'none'") => (v && v.length ? v.join(' ') : none);
  return [
    "default-src 'none'",
    `script-src 'unsafe-inline' ${res}`,
    `style-src 'unsafe-inline' ${res}`,
    `img-src data: blob: ${res}`,
    `font-src data: ${res}`,
    `media-src data: ${res}`,
    `connect-src ${list(csp.connectDomains)}`,
    `frame-src ${list(csp.frameDomains)}`,
    `base-uri ${list(csp.baseUriDomains, "'self'")}`,
    "form-action 'none'",
  ].join('; ');
}

function withPolicy(html, csp) {
  const meta = `<meta http-equiv="Content-Security-Policy" content="${policy(csp).replace(/"/g, '&quot;')}">`;
  // First in <head>, before anything the policy should cover.
  return /<head[^>]*>/i.test(html) ? html.replace(/<head[^>]*>/i, (h) => `${h}${meta}`) : meta + html;
}

function context(theme, width) {
  return {
    theme,
    styles: { variables: VARIABLES[theme] },
    displayMode: 'inline',
    availableDisplayModes: ['inline'],
    containerDimensions: { width, maxHeight: 900 },
    platform: 'web',
    locale: 'en-US',
    deviceCapabilities: { touch: false, hover: true },
  };
}

let bridge;
const log = [];
window.hostLog = log;

/// Mounts a view: iframe, bridge, handshake, then the tool's input and result.
window.mountView = async ({ html, csp, tool, input, result, theme = 'light', width = 420 }) => {
  if (bridge) await bridge.close().catch(() => {});
  const frame = document.createElement('iframe');
  frame.setAttribute('sandbox', 'allow-scripts');
  frame.setAttribute('title', `${tool} view`);
  frame.style.width = `${width}px`;
  frame.style.height = '200px';
  document.getElementById('stage').replaceChildren(frame);
  bridge = new AppBridge(null, { name: 'apps-test-host', version: '1.0.0' }, { serverTools: {}, logging: {} }, {
    hostContext: context(theme, width),
  });
  bridge.oncalltool = async (params) => {
    log.push({ call: params.name, arguments: params.arguments });
    return window.workerRpc('tools/call', params);
  };
  bridge.onsizechange = ({ height }) => {
    if (height) frame.style.height = `${Math.ceil(height)}px`;
  };
  bridge.onloggingmessage = (m) => log.push({ log: m });
  const initialized = new Promise((resolve) => {
    bridge.oninitialized = resolve;
  });
  // Listening before the page loads, so its ui/initialize is not missed; the WindowProxy
  // stays the same across the srcdoc navigation.
  await bridge.connect(new PostMessageTransport(frame.contentWindow, frame.contentWindow));
  frame.srcdoc = withPolicy(html, csp);
  await initialized;
  if (input) await bridge.sendToolInput({ arguments: input });
  await bridge.sendToolResult(result);
  return policy(csp);
};

window.setTheme = async (theme) => {
  const width = parseInt(document.querySelector('#stage iframe').style.width, 10);
  await bridge.sendHostContextChange({ theme, styles: { variables: VARIABLES[theme] } });
  document.documentElement.dataset.theme = theme;
  return width;
};
