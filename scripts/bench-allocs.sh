#!/usr/bin/env bash
# Heap allocations and bytes allocated per call of each contender of the facade bench's pairs,
# counted by valgrind's DHAT. Each contender is run alone twice, with
# BENCH_CALLS=<group>/<contender>:$LOW and :$HIGH (benches/support/mod.rs); per call =
# (total(HIGH) - total(LOW)) / (HIGH - LOW), so start-up and set-up cancel out. Allocation
# counts do not move with timing, so one run each is enough (unlike bench-instructions.sh).
#
# With SITES=1, also the allocation sites whose per-call count differs from the floor's
# (the reqwest contender), named by their first two frames: where a contender allocates more.
#
# Usage: scripts/bench-allocs.sh [GROUP...]   (default: both session groups)
#        LOW=500 HIGH=1500 SITES=1 scripts/bench-allocs.sh vrplatform_embed_session
set -euo pipefail
cd "$(dirname "$0")/.."
SITES=${SITES:-0}
# shellcheck source=scripts/facade-bench-lib.sh
. scripts/facade-bench-lib.sh

run() { # group contender calls -> dhat file
  (cd crates/embed-sessions &&
    BENCH_CALLS="$1/$2:$3" valgrind --tool=dhat --dhat-out-file="$out/$2.$3.json" "$bin" "$1" --bench \
      > /dev/null 2>&1)
}

for g in "${groups[@]}"; do
  for who in reqwest raw facade; do
    run "$g" "$who" "$LOW"
    run "$g" "$who" "$HIGH"
  done
  python3 - "$out" "$g" "$LOW" "$HIGH" "$SITES" <<'PY'
import json, re, sys
out, group, low, high, sites = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1"
n = high - low
# Frames that only say "this allocates": skipped so a site is named by who asked.
plumbing = re.compile(r"alloc::|__rust|malloc|calloc|realloc|raw_vec|RawVec|finish_grow|exchange_malloc|with_capacity|reserve")

def load(who, calls):
    d = json.load(open(f"{out}/{who}.{calls}.json"))
    by_site = {}
    for pp in d["pps"]:
        frames = [re.sub(r" \(in [^)]*\)", "", d["ftbl"][i].split(": ", 1)[-1]) for i in pp["fs"]]
        frames = [f for f in frames if not plumbing.search(f)]
        site = " <- ".join(f[:80] for f in frames[:2])
        blocks, size = by_site.get(site, (0, 0))
        by_site[site] = (blocks + pp["tbk"], size + pp["tb"])
    return by_site

def per_call(who):
    lo, hi = load(who, low), load(who, high)
    return {s: ((hi.get(s, (0, 0))[0] - lo.get(s, (0, 0))[0]) / n,
                (hi.get(s, (0, 0))[1] - lo.get(s, (0, 0))[1]) / n) for s in set(lo) | set(hi)}

calls = {who: per_call(who) for who in ("reqwest", "raw", "facade")}
print(f"{'group':<26} {'contender':<8} {'allocs/call':>11} {'bytes/call':>10}  vs floor")
floor = None
for who, sites_of in calls.items():
    blocks = sum(b for b, _ in sites_of.values())
    size = sum(s for _, s in sites_of.values())
    floor = floor or (blocks, size)
    print(f"{group:<26} {who:<8} {blocks:>11.1f} {size:>10.0f}  {blocks - floor[0]:+.1f} allocs, {size - floor[1]:+.0f} B")
if sites:
    for who in ("raw", "facade"):
        print(f"\n{group}/{who}: sites allocating differently from the floor (allocs/call, bytes/call)")
        rows = []
        for s in set(calls[who]) | set(calls["reqwest"]):
            b, z = calls[who].get(s, (0, 0))
            fb, fz = calls["reqwest"].get(s, (0, 0))
            if abs(b - fb) >= 0.5:
                rows.append((b - fb, z - fz, s))
        for b, z, s in sorted(rows, reverse=True):
            print(f"  {b:+5.1f} {z:+7.0f} B  {s}")
PY
done
