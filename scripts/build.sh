#!/usr/bin/env bash
# The [build] command of wrangler.toml: `npx wrangler dev` and `npx wrangler deploy` run it.
# Points worker-build at the pinned local tools so nothing is downloaded.
set -euo pipefail
. "$(dirname "$0")/tools.sh"
cd "$ROOT"
if [ ! -x "$WASM_BINDGEN_BIN" ] || [ ! -x "$WASM_OPT_BIN" ]; then
  echo "build: pinned tools missing; run scripts/setup.sh (or make setup) first" >&2
  exit 1
fi
mkdir -p build/ui
# The test harness builds once and starts several Workers from the same build.
# The MCP Apps views (build/ui/*.html) are imported by the entry module (src/edge/entry.mjs); they
# take about a second, so a skipped build still makes them when they are missing.
if [ "${SPOTIFY_MCP_SKIP_BUILD:-}" = 1 ] && [ -f build/worker/shim.mjs ]; then
  [ -f build/ui/player.html ] && [ -f build/ui/list.html ] || node scripts/build-ui.mjs
  exit 0
fi
node scripts/build-ui.mjs
# --no-panic-recovery: worker-build's recovery shim wraps every request in Proxy layers that
# cost about a millisecond of CPU each; the code forbids unsafe code and is fuzzed for panics.
"$TOOLS_ROOT/bin/worker-build" --release --no-panic-recovery
# The function-name section (for readable stack traces) is an eighth of the gzipped .wasm;
# it is kept only for CPU profiles (scripts/profile.sh sets SPOTIFY_MCP_KEEP_NAMES=1).
if [ "${SPOTIFY_MCP_KEEP_NAMES:-}" != 1 ]; then
  node scripts/strip-names.mjs build/worker/index.wasm
fi
