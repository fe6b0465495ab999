#!/usr/bin/env bash
# A CPU profile of the Worker under `wrangler dev`, through workerd's DevTools inspector:
# N requests of one kind (unauth: /mcp without a token; list: tools/list; search: a
# tools/call search_tracks), then the top frames by self and total time (bench/profile.mjs).
#   bash scripts/profile.sh [unauth|list|search] [N] [TOP]
# The release .wasm must keep its name section for Rust frame names; PROFILE_NAMES=1 (the
# default) builds one that does, without changing the code that runs.
set -euo pipefail
. "$(dirname "$0")/tools.sh"
cd "$ROOT"
KIND="${1:-search}"; N="${2:-500}"; TOP="${3:-25}"
export SPOTIFY_MCP_KEEP_NAMES="${PROFILE_NAMES:-1}"
. scripts/stack.sh
node bench/profile.mjs "$BASE" "$IPORT" "$KIND" "$N" "$TOP"
