#!/usr/bin/env bash
# Installs everything the build and the tests need, offline-friendly and idempotent:
# the wasm32 target, pinned worker-build, wasm-bindgen-cli and cargo-fuzz (cached under $TOOLS_ROOT),
# and the npm packages pinned in package-lock.json (wrangler, esbuild, binaryen, MCP SDK).
set -euo pipefail
. "$(dirname "$0")/tools.sh"
cd "$ROOT"

rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
# The pinned nightly of the release .wasm (see tools.sh): minimal profile, the standard library's
# source (recompiled by -Zbuild-std) and the wasm32 target (worker-build checks it is there).
if ! rustup component list --toolchain "$WASM_NIGHTLY" --installed 2>/dev/null | grep -qx rust-src \
   || ! rustup target list --toolchain "$WASM_NIGHTLY" --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  echo "setup: installing the $WASM_NIGHTLY toolchain for the release .wasm"
  rustup toolchain install "$WASM_NIGHTLY" --profile minimal -c rust-src -t wasm32-unknown-unknown
fi

installed() { "$1" --version 2>/dev/null | grep -q "$2"; }
if ! installed "$TOOLS_ROOT/bin/worker-build" "$WORKER_BUILD_VERSION"; then
  echo "setup: installing worker-build $WORKER_BUILD_VERSION into $TOOLS_ROOT"
  cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked --root "$TOOLS_ROOT"
fi
if ! installed "$TOOLS_ROOT/bin/wasm-bindgen" "$WASM_BINDGEN_VERSION"; then
  echo "setup: installing wasm-bindgen-cli $WASM_BINDGEN_VERSION into $TOOLS_ROOT"
  # Not --locked: its lockfile pins a webpki-roots release some registry mirrors lack.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --root "$TOOLS_ROOT"
fi
# libfuzzer-sys compiles libFuzzer (C++) when the fuzz targets build.
if ! command -v c++ >/dev/null 2>&1; then
  echo "setup: installing Debian's g++ for the fuzz targets"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q g++ >/dev/null \
    || { $SUDO apt-get update -q >/dev/null && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q g++ >/dev/null; }
fi
if ! installed "$TOOLS_ROOT/bin/cargo-fuzz" "$CARGO_FUZZ_VERSION"; then
  echo "setup: installing cargo-fuzz $CARGO_FUZZ_VERSION into $TOOLS_ROOT"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --root "$TOOLS_ROOT"
fi
if [ ! -x node_modules/.bin/wrangler ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
# Debian's Chromium for the browser suite (npm's browser downloads do not work offline).
if ! command -v chromium >/dev/null 2>&1; then
  echo "setup: installing Debian's chromium for the browser tests"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null \
    || { $SUDO apt-get update -q >/dev/null && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }
fi
# The official Python MCP SDK client for the integration suite (2026-07-28 era).
if ! "$TOOLS_ROOT/py/bin/python" -c "import mcp, sys; sys.exit(0)" 2>/dev/null \
   || [ "$("$TOOLS_ROOT/py/bin/pip" show mcp 2>/dev/null | awk '/^Version/{print $2}')" != "$PY_MCP_VERSION" ]; then
  python3 -m venv "$TOOLS_ROOT/py"
  "$TOOLS_ROOT/py/bin/pip" install -q "mcp==$PY_MCP_VERSION"
fi
echo "setup: ok ($WASM_NIGHTLY, worker-build $WORKER_BUILD_VERSION, wasm-bindgen $WASM_BINDGEN_VERSION, cargo-fuzz $CARGO_FUZZ_VERSION, wrangler $(node_modules/.bin/wrangler --version 2>/dev/null | tail -n1))"
