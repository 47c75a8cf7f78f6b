#!/usr/bin/env bash
# User-space instructions per call of each contender of the facade bench's pairs, counted by
# callgrind (which does not move with the VM's speed phases; the kernel's loopback work, the
# same for every contender, is not counted). Each contender is run alone twice, with
# BENCH_CALLS=<group>/<contender>:$LOW and :$HIGH (benches/support/mod.rs); per call =
# (total(HIGH) - total(LOW)) / (HIGH - LOW), so start-up and set-up cancel out. Hash seeds,
# address-space layout and allocator state still move a figure by about 1% from one run to the
# next, so each is the median of REPS runs (default 3).
#
# Usage: scripts/bench-instructions.sh [GROUP...]   (default: both session groups)
#        LOW=500 HIGH=1500 scripts/bench-instructions.sh vlens_auth_session
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${REPS:-3}
# shellcheck source=scripts/facade-bench-lib.sh
. scripts/facade-bench-lib.sh

total() { # group contender calls -> instructions
  (cd crates/embed-sessions &&
    BENCH_CALLS="$1/$2:$3" valgrind --tool=callgrind --callgrind-out-file="$out/cg" "$bin" "$1" --bench \
      > /dev/null 2>&1)
  sed -n 's/^totals: //p' "$out/cg"
}

printf '%-26s %-8s %14s %8s  %s\n' group contender "instr/call" "vs floor" "runs"
for g in "${groups[@]}"; do
  floor=
  for who in reqwest raw facade; do
    runs=()
    for _ in $(seq "$REPS"); do
      lo=$(total "$g" "$who" "$LOW")
      hi=$(total "$g" "$who" "$HIGH")
      runs+=($(( (hi - lo) / (HIGH - LOW) )))
    done
    per=$(printf '%s\n' "${runs[@]}" | sort -n | sed -n "$(( (REPS + 1) / 2 ))p")
    [ -n "$floor" ] || floor=$per
    printf '%-26s %-8s %14d %8s  %s\n' "$g" "$who" "$per" \
      "$(python3 -c "print(f'{$per/$floor:.3f}x')")" "${runs[*]}"
  done
done
