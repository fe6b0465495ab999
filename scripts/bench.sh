#!/usr/bin/env bash
# CPU per request under wrangler dev (see bench/cpu.mjs). Usage: make bench [N=300]
# Note: workerd's CPU includes the local-mode runtime (KV simulator, proxying), so this is an
# upper bound of what the Worker itself spends; the emulator runs outside workerd.
set -euo pipefail
. "$(dirname "$0")/tools.sh"
cd "$ROOT"
N="${N:-300}"
bash scripts/build.sh >/dev/null
cargo build -q --release -p spotify-emulator
EPORT=18788; WPORT=18787
target/release/spotify-emulator --port "$EPORT" >/dev/null & emu=$!
dir="$(mktemp -d)"
SPOTIFY_MCP_SKIP_BUILD=1 node_modules/.bin/wrangler dev --ip 127.0.0.1 --port "$WPORT" --inspector-port 19229 --persist-to "$dir" --log-level error \
  --var SPOTIFY_CLIENT_ID:emulator-client-id --var SPOTIFY_CLIENT_SECRET:emulator-client-secret \
  --var "TOKEN_ENCRYPTION_KEY:$(head -c 32 /dev/urandom | base64)" \
  --var "SPOTIFY_ACCOUNTS_BASE_URL:http://127.0.0.1:$EPORT" --var "SPOTIFY_API_BASE_URL:http://127.0.0.1:$EPORT" >/dev/null 2>&1 & wr=$!
trap 'kill $emu $wr 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$WPORT/health" >/dev/null && break; sleep 0.5; done
node bench/cpu.mjs "http://127.0.0.1:$WPORT" "$N"
