#!/usr/bin/env bash
# Runs the Worker locally on http://127.0.0.1:8787 with `wrangler dev` (workerd, local KV).
# Without Spotify credentials in .dev.vars it also starts the Spotify emulator and points
# the Worker at it, so the whole sign-in flow works with no Spotify account.
set -euo pipefail
. "$(dirname "$0")/tools.sh"
cd "$ROOT"
PORT="${PORT:-8787}"
EMULATOR_PORT="${EMULATOR_PORT:-8788}"

if [ ! -f .dev.vars ]; then
  key="$(head -c 32 /dev/urandom | base64)"
  sed "s|^TOKEN_ENCRYPTION_KEY=.*|TOKEN_ENCRYPTION_KEY=$key|" .dev.vars.example > .dev.vars
  echo "dev: wrote .dev.vars with a fresh TOKEN_ENCRYPTION_KEY"
fi

args=(dev --ip 127.0.0.1 --port "$PORT")
if ! grep -q '^SPOTIFY_CLIENT_ID=.' .dev.vars; then
  echo "dev: no SPOTIFY_CLIENT_ID in .dev.vars: using the Spotify emulator on 127.0.0.1:$EMULATOR_PORT"
  cargo build -q -p spotify-emulator
  target/debug/spotify-emulator --port "$EMULATOR_PORT" &
  emulator=$!
  trap 'kill $emulator 2>/dev/null' EXIT
  args+=(--var SPOTIFY_CLIENT_ID:emulator-client-id --var SPOTIFY_CLIENT_SECRET:emulator-client-secret
         --var "SPOTIFY_ACCOUNTS_BASE_URL:http://127.0.0.1:$EMULATOR_PORT"
         --var "SPOTIFY_API_BASE_URL:http://127.0.0.1:$EMULATOR_PORT")
fi
echo "dev: MCP endpoint http://127.0.0.1:$PORT/mcp"
node_modules/.bin/wrangler "${args[@]}"
