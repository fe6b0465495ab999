// Builds the MCP Apps views (src/ui) into one self-contained HTML file each in build/ui/,
// script and CSS inlined and minified: the host loads the page into a sandboxed iframe
// whose CSP allows no script or style origin, so nothing may be fetched.
// Usage: node scripts/build-ui.mjs
import { build } from 'esbuild';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src/ui');
const out = join(root, 'build/ui');
const VIEWS = ['player', 'list'];

// The SDK's MCP client pulls in zod, whose index re-exports every locale (~250 KB minified)
// that nothing here uses: only English error messages are kept. And its packages do not
// declare themselves free of side effects, which keeps unused modules alive.
const slim = {
  name: 'slim',
  setup(b) {
    b.onResolve({ filter: /\/locales\/index\.js$/ }, (a) =>
      a.importer.includes('/zod/') ? { path: 'zod-locales', namespace: 'slim' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'slim' }, () => ({
      contents: 'export { default as en } from "zod/v4/locales/en.js";',
      resolveDir: root,
    }));
    b.onResolve({ filter: /.*/ }, async (a) => {
      if (a.pluginData === 'slim' || a.kind === 'entry-point') return undefined;
      const r = await b.resolve(a.path, { resolveDir: a.resolveDir, kind: a.kind, importer: a.importer, pluginData: 'slim' });
      if (r.errors.length === 0 && /node_modules\/(@modelcontextprotocol|zod)\//.test(r.path)) r.sideEffects = false;
      return r;
    });
  },
};

const common = { bundle: true, minify: true, write: false, logLevel: 'warning', legalComments: 'none' };

/// One esbuild run for all views (they share the SDK, parsed once) and one for the CSS.
async function bundles() {
  const [js, css] = await Promise.all([
    build({
      ...common,
      entryPoints: Object.fromEntries(VIEWS.map((v) => [v, join(src, `${v}.ts`)])),
      outdir: out,
      format: 'iife',
      platform: 'browser',
      target: 'es2022',
      plugins: [slim],
    }),
    build({ ...common, entryPoints: [join(src, 'style.css')], loader: { '.css': 'css' } }),
  ]);
  const scripts = Object.fromEntries(js.outputFiles.map((f) => [f.path.replace(/^.*\/|\.js$/g, ''), f.text]));
  return { scripts, style: css.outputFiles[0].text };
}

function view(name, scripts, styleText) {
  // An inline script or style ends at the first `</script` / `</style`, even inside a string.
  const script = scripts[name].replace(/<\/script/gi, '<\\/script');
  const style = styleText.replace(/<\/style/gi, '<\\/style');
  const template = readFileSync(join(src, `${name}.html`), 'utf8');
  if (!template.includes('/*__CSS__*/') || !template.includes('/*__JS__*/')) {
    throw new Error(`${name}.html lacks the /*__CSS__*/ or /*__JS__*/ marker`);
  }
  // Replacer functions: the bundle contains `$&`-like sequences a replacement string would expand.
  const html = template
    .replace(/\n\s*/g, '')
    .replace('/*__CSS__*/', () => style.trim())
    .replace('/*__JS__*/', () => script.trim());
  const file = join(out, `${name}.html`);
  writeFileSync(file, html);
  const raw = Buffer.byteLength(html);
  const gz = gzipSync(html, { level: 9 }).length;
  console.log(`build-ui: build/ui/${name}.html ${raw} bytes (${gz} gzip)`);
  return { name, raw, gz };
}

const started = performance.now();
mkdirSync(out, { recursive: true });
const { scripts, style } = await bundles();
for (const v of VIEWS) view(v, scripts, style);
console.log(`build-ui: ${VIEWS.length} views in ${Math.round(performance.now() - started)} ms`);
