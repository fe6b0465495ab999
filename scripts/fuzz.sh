#!/usr/bin/env bash
# The fuzz targets in fuzz/ (cargo-fuzz + libFuzzer, coverage-guided) on the stable
# toolchain: `--sanitizer none` needs no nightly, and the crate has no unsafe code for
# AddressSanitizer to watch; panics, debug assertions and overflow checks are what we hunt.
#
#   bash scripts/fuzz.sh                  every target for a fixed number of runs (`make test`)
#   bash scripts/fuzz.sh TARGET [ARGS..]  a campaign; ARGS go to libFuzzer, e.g.
#                                         -runs=10000000, -max_total_time=3600, -fork=2
# Campaigns keep what they find in fuzz/corpus-work/TARGET (not committed); the seeds in
# fuzz/corpus/TARGET are only read. Crashes land in fuzz/artifacts/TARGET.
set -euo pipefail
. "$(dirname "$0")/tools.sh"
cd "$ROOT"

TARGETS=(mcp http sealed store)
SMOKE_RUNS="${FUZZ_SMOKE_RUNS:-30000}"

run() {
  local target="$1" work="$2"
  shift 2
  mkdir -p "$work"
  cargo fuzz run --sanitizer none "$target" "$work" "fuzz/corpus/$target" -- -max_len=4096 "$@"
}

cargo fuzz build --sanitizer none
if [ $# -eq 0 ]; then
  for target in "${TARGETS[@]}"; do
    work="$(mktemp -d)"
    start=$SECONDS
    # A fixed seed: the same inputs on every machine; a failure names the input to replay.
    run "$target" "$work" -runs="$SMOKE_RUNS" -seed=1 2>"$work.log" \
      || { tail -n 40 "$work.log"; echo "fuzz: $target failed; replay with: cargo fuzz run --sanitizer none $target fuzz/artifacts/$target/<crash file>"; exit 1; }
    printf 'fuzz %-6s %s runs, no panic (%ss)\n' "$target" "$SMOKE_RUNS" "$((SECONDS - start))"
    rm -rf "$work" "$work.log"
  done
else
  target="$1"
  shift
  run "$target" "fuzz/corpus-work/$target" -print_final_stats=1 "$@"
fi
