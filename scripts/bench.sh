#!/usr/bin/env bash
# CPU per request under wrangler dev (see bench/cpu.mjs). Usage: make bench [N=300]
# Note: workerd's CPU includes the local-mode runtime (KV simulator, proxying), so this is an
# upper bound of what the Worker itself spends; the emulator runs outside workerd.
set -euo pipefail
. "$(dirname "$0")/tools.sh"
cd "$ROOT"
N="${N:-300}"
. scripts/stack.sh
node bench/cpu.mjs "$BASE" "$N"
