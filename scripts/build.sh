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
# The release .wasm is built with the pinned nightly (tools.sh, installed by setup.sh) when it is
# there, for two things stable cannot do, together about 100 KB raw and 35 KB gzip:
# - the standard library recompiled with our profile (opt-level z, LTO with our code) and its
#   optimize_for_size variants (-Zbuild-std), instead of the prebuilt one, built for speed;
# - -Cpanic=immediate-abort: a panic is a bare `unreachable` trap, with no formatting of its
#   message and location and no panic hook. The code forbids unsafe code and is fuzzed for
#   panics (fuzz/). What a panic looks like in production now: the request fails with an
#   uncaught "RuntimeError: unreachable" (in Workers Logs and `wrangler tail`) but without the "Rust panic: <message> at <file:line>" line that the worker crate's
#   panic hook logged first on stable; as before, nothing recovers and the instance is reused.
#   With nothing printed, -Zlocation-detail=none also drops the file/line records panics
#   would have carried (about 3 KB raw, 0.9 KB gzip).
# Without that toolchain (setup skipped) the build falls back to stable: the same Worker, a
# larger .wasm, panics logged with their message.
if command -v rustup >/dev/null 2>&1 \
   && rustup component list --toolchain "$WASM_NIGHTLY" --installed 2>/dev/null | grep -qx rust-src; then
  export RUSTUP_TOOLCHAIN="$WASM_NIGHTLY"
  export CARGO_UNSTABLE_BUILD_STD=std,panic_abort
  export CARGO_UNSTABLE_BUILD_STD_FEATURES=optimize_for_size
  export RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none"
else
  echo "build: $WASM_NIGHTLY (with rust-src) is not installed; building on stable, about 35 KB gzip larger (run scripts/setup.sh)" >&2
fi
# --no-panic-recovery: worker-build's recovery shim wraps every request in Proxy layers that
# cost about a millisecond of CPU each; the code forbids unsafe code and is fuzzed for panics.
"$TOOLS_ROOT/bin/worker-build" --release --no-panic-recovery
# The function-name section (for readable stack traces) is an eighth of the gzipped .wasm;
# it is kept only for CPU profiles (scripts/profile.sh sets SPOTIFY_MCP_KEEP_NAMES=1).
if [ "${SPOTIFY_MCP_KEEP_NAMES:-}" != 1 ]; then
  node scripts/strip-names.mjs build/worker/index.wasm
fi
