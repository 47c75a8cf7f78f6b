#!/usr/bin/env bash
# Per call of each contender of the facade bench's pairs: instructions, simulated cache misses
# and branch mispredictions, counted by valgrind's cachegrind (--cache-sim=yes
# --branch-sim=yes), and a modelled cycle count built from them. Like bench-instructions.sh,
# each contender is run alone with BENCH_CALLS=<group>/<contender>:$LOW and :$HIGH
# (benches/support/mod.rs), and per call = (total(HIGH) - total(LOW)) / (HIGH - LOW).
#
# Why: on this project's VMs the facade runs ~1.05x the floor's instructions but takes
# ~1.13x its wall-clock time, and the VMs expose no hardware counters (no `perf stat -e
# cycles`). The simulated misses are where the difference goes: the facade's extra code and
# data (larger futures copied into fresh boxes, more code run once per call) miss the L1
# caches more than its share of instructions. The model
#
#   cycles = Ir + MISS * (I1mr + D1mr + D1mw) + MISPREDICT * (Bcm + Bim)
#
# (defaults MISS=10, an L1 miss served by L2; MISPREDICT=15) is an estimate, not a
# measurement: its use is to rank changes by a figure that does not move with the VM, before
# confirming them in the paired criterion benchmark (BENCHMARKS.md, "Where the wall-clock gap
# goes").
# The simulated caches are the host's L1 sizes as cachegrind reads them (printed below).
#
# Hash seeds, address-space layout and allocator state move a contender's modelled cycles by
# up to 4% from one run to the next, so each row is the run with the median cycles of REPS
# runs (default 3). With FUNCS=1, also the functions whose modelled cycles per call (first
# run) differ most: the generated client's and the facade's from the floor's (the reqwest
# contender), and the facade's from the generated client's (what the facade itself adds).
#
# Usage: scripts/bench-cachesim.sh [GROUP...]   (default: both session groups)
#        REPS=5 MISS=12 MISPREDICT=20 FUNCS=1 scripts/bench-cachesim.sh vrplatform_embed_session
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${REPS:-3}
MISS=${MISS:-10}
MISPREDICT=${MISPREDICT:-15}
FUNCS=${FUNCS:-0}
# shellcheck source=scripts/facade-bench-lib.sh
. scripts/facade-bench-lib.sh

run() { # group contender calls rep -> cachegrind file
  (cd crates/embed-sessions &&
    BENCH_CALLS="$1/$2:$3" valgrind --tool=cachegrind --cache-sim=yes --branch-sim=yes \
      --cachegrind-out-file="$out/$2.$3.$4.cg" "$bin" "$1" --bench > /dev/null 2>&1)
}

for g in "${groups[@]}"; do
  for who in reqwest raw facade; do
    for r in $(seq "$REPS"); do
      # The two runs of a contender are independent: one per core.
      run "$g" "$who" "$LOW" "$r" &
      run "$g" "$who" "$HIGH" "$r" &
      wait
    done
  done
  python3 - "$out" "$g" "$LOW" "$HIGH" "$MISS" "$MISPREDICT" "$FUNCS" "$REPS" <<'PY'
import re
import subprocess
import sys

out, group, low, high, miss, mispredict, funcs, reps = sys.argv[1:]
low, high, miss, mispredict, reps = int(low), int(high), float(miss), float(mispredict), int(reps)
EVENTS = ["Ir", "I1mr", "D1mr", "D1mw", "Bcm", "Bim"]


def cycles(e):
    return (e["Ir"] + miss * (e["I1mr"] + e["D1mr"] + e["D1mw"])
            + mispredict * (e["Bcm"] + e["Bim"]))


def parse(path):
    """Totals and per-function counts of one cachegrind output file."""
    names, totals, per_fn, fn = None, None, {}, None
    with open(path) as f:
        for line in f:
            if line.startswith("events:"):
                names = line.split()[1:]
            elif line.startswith("summary:"):
                totals = dict(zip(names, map(int, line.split()[1:])))
            elif line.startswith("fn="):
                fn = line[3:].strip()
            elif fn and line[:1].isdigit():
                counts = list(map(int, line.split()[1:]))
                acc = per_fn.setdefault(fn, dict.fromkeys(names, 0))
                for n, c in zip(names, counts):
                    acc[n] += c
    return totals, per_fn


def per_call(a, b):
    return {e: (b.get(e, 0) - a.get(e, 0)) / (high - low) for e in EVENTS}


def caches(path):
    text = subprocess.run(["cg_annotate", path], capture_output=True, text=True).stdout
    found = re.finditer(r"(I1|D1) cache:\s+\d+ B, \d+ B, \d+-way", text)
    return "; ".join(" ".join(m.group(0).split()) for m in found)


rows, fns = {}, {}
for who in ("reqwest", "raw", "facade"):
    runs = []
    for r in range(1, reps + 1):
        (ta, fa), (tb, fb) = parse(f"{out}/{who}.{low}.{r}.cg"), parse(f"{out}/{who}.{high}.{r}.cg")
        runs.append(per_call(ta, tb))
        if r == 1:
            fns[who] = {k: cycles(per_call(fa.get(k, {}), fb[k])) for k in fb}
    # The run whose modelled cycles are the median.
    rows[who] = sorted(runs, key=cycles)[(reps - 1) // 2]
print(f"{group}: per call, median of {reps} runs; simulated {caches(f'{out}/reqwest.{high}.1.cg')}; "
      f"cycles = Ir + {miss:g} x L1 misses + {mispredict:g} x mispredictions")
print(f"  {'contender':<9}" + "".join(f"{e:>9}" for e in EVENTS) + f"{'cycles':>10}{'vs floor':>10}")
floor = cycles(rows["reqwest"])
for who, e in rows.items():
    c = cycles(e)
    print(f"  {who:<9}" + "".join(f"{e[k]:>9.0f}" for k in EVENTS) + f"{c:>10.0f}{c / floor:>9.3f}x")
if funcs == "1":
    for who, base in (("raw", "reqwest"), ("facade", "reqwest"), ("facade", "raw")):
        diff = {k: fns[who].get(k, 0) - fns[base].get(k, 0)
                for k in set(fns[who]) | set(fns[base])}
        top = sorted(diff.items(), key=lambda kv: -abs(kv[1]))[:12]
        label = "floor" if base == "reqwest" else base
        print(f"  {who} vs {label}, modelled cycles per call, largest differences:")
        for k, v in top:
            print(f"    {v:>+9.0f}  {k[:110]}")
PY
done
