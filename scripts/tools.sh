# Sourced by the other scripts: where the pinned build tools live, and their versions.
# The cache survives between runs (CI caches ~/.cache); a fresh machine fills it once.
TOOLS_ROOT="${SPOTIFY_MCP_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/spotify-mcp-edge/tools}"
WORKER_BUILD_VERSION=0.8.7
PY_MCP_VERSION=2.3.0
# cargo-fuzz (libFuzzer) for the fuzz targets in fuzz/; runs on the stable toolchain with `-s none`.
CARGO_FUZZ_VERSION=0.13.2
# The nightly that builds the release .wasm (scripts/build.sh): it recompiles the standard
# library for size with panics that trap at once (about 36 KB gzip less). Dated nightlies are
# named by the day after their commit: this one is rustc 1.97.0-nightly e50aa6fba 2026-05-19.
# Host tests, clippy, rustfmt and the fuzz targets stay on stable.
WASM_NIGHTLY=nightly-2026-05-20
# twiggy, the wasm size profiler of scripts/size.sh (installed by that script on first use).
TWIGGY_VERSION=0.8.0
# wasm-bindgen-cli must equal the wasm-bindgen in Cargo.lock, byte for byte.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
WASM_BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/, ""); print; exit}' "$ROOT/Cargo.lock")"
export PATH="$TOOLS_ROOT/bin:$HOME/.cargo/bin:$PATH"
export WASM_BINDGEN_BIN="$TOOLS_ROOT/bin/wasm-bindgen"
export ESBUILD_BIN="$ROOT/node_modules/.bin/esbuild"
export WASM_OPT_BIN="$ROOT/node_modules/.bin/wasm-opt"
export WRANGLER_SEND_METRICS=false
export SPOTIFY_MCP_PYTHON="$TOOLS_ROOT/py/bin/python"
