# Sourced by bench.sh and profile.sh: builds the Worker and starts it under `wrangler dev`
# (with the inspector on $IPORT) against the Spotify emulator, on fixed local ports, with a
# throwaway KV directory. Everything stops when the sourcing script exits.
# Sets BASE (the Worker's URL) and IPORT (the DevTools inspector port).
EPORT="${EPORT:-18788}"; WPORT="${WPORT:-18787}"; IPORT="${IPORT:-19229}"
BASE="http://127.0.0.1:$WPORT"
bash scripts/build.sh >/dev/null
cargo build -q --release -p spotify-emulator
target/release/spotify-emulator --port "$EPORT" >/dev/null & emu=$!
stack_dir="$(mktemp -d)"
# LOCAL_BENCHMARK: the scripted client approves consent at once and calls faster than fair use
# allows one person (honoured on loopback only). No .dev.vars: every variable is set here.
SPOTIFY_MCP_SKIP_BUILD=1 node_modules/.bin/wrangler dev --ip 127.0.0.1 --port "$WPORT" --inspector-port "$IPORT" --persist-to "$stack_dir" --log-level error \
  --env-file /dev/null --var LOCAL_BENCHMARK:on \
  --var SPOTIFY_CLIENT_ID:emulator-client-id --var SPOTIFY_CLIENT_SECRET:emulator-client-secret \
  --var "TOKEN_ENCRYPTION_KEY:$(head -c 32 /dev/urandom | base64)" \
  --var "SPOTIFY_ACCOUNTS_BASE_URL:http://127.0.0.1:$EPORT" --var "SPOTIFY_API_BASE_URL:http://127.0.0.1:$EPORT" >/dev/null 2>&1 & wr=$!
trap 'kill $emu $wr 2>/dev/null; rm -rf "$stack_dir"' EXIT
for _ in $(seq 1 120); do curl -sf "$BASE/health" >/dev/null && break; sleep 0.5; done
