#!/usr/bin/env bash
# The Worker's size: builds it (scripts/build.sh), prints the .wasm's raw and gzip -9 sizes
# (with its name section, kept for this breakdown, and without it, as deployed), then
# the top 20 crates and the top 20 functions by twiggy. Run: `bash scripts/size.sh`
# (SPOTIFY_MCP_SKIP_BUILD=1 measures the last build; N=40 shows more rows). Installs twiggy
# into the tools cache on first use (one `cargo install`, about two minutes).
set -euo pipefail
. "$(dirname "$0")/tools.sh"
cd "$ROOT"
WASM=build/worker/index.wasm
[ "${SPOTIFY_MCP_SKIP_BUILD:-}" = 1 ] && [ -f "$WASM" ] || SPOTIFY_MCP_KEEP_NAMES=1 bash scripts/build.sh >&2
N="${N:-20}"
TWIGGY="$TOOLS_ROOT/bin/twiggy"
if ! "$TWIGGY" --version 2>/dev/null | grep -q "$TWIGGY_VERSION"; then
  echo "size: installing twiggy $TWIGGY_VERSION into $TOOLS_ROOT" >&2
  cargo install twiggy --version "$TWIGGY_VERSION" --locked --root "$TOOLS_ROOT" >&2
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cp "$WASM" "$tmp/stripped.wasm" && node scripts/strip-names.mjs "$tmp/stripped.wasm" >/dev/null
printf 'wasm:                 %8d bytes raw, %7d bytes gzip\n' "$(wc -c < "$WASM")" "$(gzip -9 -c "$WASM" | wc -c)"
printf 'without names section %8d bytes raw, %7d bytes gzip\n' \
  "$(wc -c < "$tmp/stripped.wasm")" "$(gzip -9 -c "$tmp/stripped.wasm" | wc -c)"
"$TWIGGY" top -n 1000000 --format json "$WASM" > "$tmp/top.json"
node - "$tmp/top.json" "$N" <<'JS'
// Crates: each function counts for the first path segment of its (demangled) name, so a
// generic instantiation counts for the crate that defines the function (serde_json's
// deserializer for one of our structs counts as serde_json); data segments and custom
// sections are rows of their own.
const [file, n] = process.argv.slice(2);
const rows = JSON.parse(require("fs").readFileSync(file, "utf8"));
const total = rows.reduce((s, r) => s + r.shallow_size, 0);
const crateOf = (name) => {
  if (/^(data segment|custom section|"|type\[|table\[|elem\[|global\[|memory\[)/.test(name)) {
    return name.startsWith("data segment") ? "(data segments)" : name;
  }
  const m = name.replace(/^([<&*\s]|mut |const |dyn )+/, "").match(/^[A-Za-z_][A-Za-z0-9_]*/);
  return m ? m[0] : name;
};
const sum = new Map();
for (const r of rows) sum.set(crateOf(r.name), (sum.get(crateOf(r.name)) || 0) + r.shallow_size);
const pct = (b) => ((100 * b) / total).toFixed(1).padStart(5) + "%";
const show = (title, entries) => {
  console.log(`\n${title}`);
  for (const [name, bytes] of entries.slice(0, Number(n))) {
    console.log(`${String(bytes).padStart(9)} ${pct(bytes)}  ${name.length > 140 ? name.slice(0, 137) + "..." : name}`);
  }
};
show(`top ${n} crates (of ${total} bytes)`, [...sum].sort((a, b) => b[1] - a[1]));
show(`top ${n} items`, rows.map((r) => [r.name, r.shallow_size]));
JS
