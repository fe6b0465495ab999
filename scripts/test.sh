#!/usr/bin/env bash
# Every test: formatting and lints (host and wasm32), host unit tests, the Worker build,
# then the integration suite that drives the built Worker in `wrangler dev` against the
# Spotify emulator, and a short run of every fuzz target. Run through `make test`, which
# installs the tools first.
set -euo pipefail
. "$(dirname "$0")/tools.sh"
cd "$ROOT"

step() { printf '\n== %s\n' "$*"; }

step "format"
cargo fmt --all -- --check
cargo fmt --manifest-path fuzz/Cargo.toml --all -- --check
step "lint (host)"
cargo clippy --workspace --all-targets -- -D warnings
step "lint (wasm32)"
cargo clippy -p spotify-mcp-edge --all-targets --target wasm32-unknown-unknown -- -D warnings
step "build the Worker (release)"
bash scripts/build.sh
printf 'worker bundle: %s bytes wasm, %s bytes gzip\n' "$(wc -c < build/worker/index.wasm)" "$(gzip -9 -c build/worker/index.wasm | wc -c)"
step "unit and integration tests"
SPOTIFY_MCP_SKIP_BUILD=1 cargo test --workspace
step "fuzz (short runs of every target)"
bash scripts/fuzz.sh
