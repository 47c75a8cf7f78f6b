#!/usr/bin/env bash
# Compile cost of embed-sessions (see BENCHMARKS.md): the clean release build time of the facade
# with each provider feature alone and with all of them, beside the floor (benches/floor: a
# crate using only reqwest with rustls and JSON, serde and tokio), and the number of crates in
# each dependency tree.
#
# Each build starts from an empty target directory under $COMPILE_COST_DIR (default
# /tmp/embed-sessions-compile-cost), so the workspace's own target/ is left alone. Builds run
# one at a time, $RUNS times each (default 3; the median is shown): nothing else heavy should
# run meanwhile, and on a VM single builds vary by ±15% (mostly aws-lc-sys's C build). Each
# build also writes cargo's --timings report, from which the table adds the unit-seconds (sum
# of the compile units' durations), those of the units the floor does not build ("added"), and
# the slowest units.
#
# Usage: scripts/compile-cost.sh [NAME...]
#   names: floor vlens vrplatform bunq all floor-bin (default: all six, in that order).
#   Results go to $COMPILE_COST_DIR/results.tsv as they come (a name run again replaces its
#   rows), and the table is printed from that file, so a partial run can be completed later.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${COMPILE_COST_DIR:-/tmp/embed-sessions-compile-cost}
runs=${RUNS:-3}
mkdir -p "$out"
results=$out/results.tsv
touch "$results"
export CARGO_TERM_COLOR=never CARGO_INCREMENTAL=0

all_names=(floor vlens vrplatform bunq all floor-bin)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=("${all_names[@]}")

# The package and features of one build (cargo arguments shared by `build` and `tree`).
args_for() {
  case "$1" in
    floor | floor-bin) echo "--manifest-path benches/floor/Cargo.toml" ;;
    vlens | vrplatform | bunq) echo "-p embed-sessions --no-default-features --features $1" ;;
    all) echo "-p embed-sessions" ;;
    *) echo "unknown build: $1" >&2; exit 2 ;;
  esac
}

# Which targets: libraries are compared with libraries (`floor` is the floor's library);
# `floor-bin` adds the floor's binary (codegen of what a program instantiates, and linking).
targets_for() {
  case "$1" in
    floor-bin) echo "" ;;
    *) echo "--lib" ;;
  esac
}

count_tree() { # crates in the normal dependency tree (what `cargo tree -e normal` lists)
  # shellcheck disable=SC2046
  cargo tree --locked -e normal --prefix none $(args_for "$1") | sed 's/ (\*)//; s/ (proc-macro)//' |
    sort -u | wc -l
}

for name in "${names[@]}"; do
  args="$(args_for "$name") $(targets_for "$name")"
  crates=$(count_tree "$name")
  grep -v "^$name	" "$results" > "$results.tmp" || true
  mv "$results.tmp" "$results"
  for run in $(seq "$runs"); do
    target=$out/target-$name
    rm -rf "$target"
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    echo "== $name ($run/$runs): cargo build --release --locked --timings $args" \
      "--target-dir $target" >&2
    # Wall and CPU (user + system) seconds of the whole build, build scripts and C included.
    # shellcheck disable=SC2086
    /usr/bin/time -f '%e %U %S' -o "$out/time-$name" \
      cargo build --release --locked --timings $args --target-dir "$target" \
      2> "$out/build-$name.log"
    read -r wall user sys < "$out/time-$name"
    cpu=$(python3 -c "print(f'{$user + $sys:.1f}')")
    units=$(grep -c '^ *Compiling ' "$out/build-$name.log" || true)
    report=$(ls -t "$target"/cargo-timings/cargo-timing-*.html | head -1)
    cp "$report" "$out/timings-$name-$run.html"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$run" "$wall" "$cpu" "$units" "$crates" \
      "$load" >> "$results"
    echo "   $wall s wall, $cpu s CPU, $units units compiled, $crates crates in the tree" \
      "(load before: $load)" >&2
  done
  rm -rf "$out/target-$name"
done

python3 - "$results" "$out" <<'EOF'
import collections, json, os, re, statistics, sys

results, out = sys.argv[1], sys.argv[2]
names = ["floor", "vlens", "vrplatform", "bunq", "all", "floor-bin"]
rows = collections.defaultdict(list)
for line in open(results):
    name, run, wall, cpu, units, crates, load = line.rstrip("\n").split("\t")
    rows[name].append((int(run), float(wall), float(cpu), int(units), int(crates), load))


def unit_data(name, run):
    path = os.path.join(out, f"timings-{name}-{run}.html")
    if not os.path.exists(path):
        return None
    m = re.search(r"const UNIT_DATA = (\[.*?\]);\n", open(path).read(), re.S)
    units = {}
    for u in json.loads(m.group(1)) if m else []:
        key = (u["name"], u["version"], u.get("target", "").strip())
        units[key] = units.get(key, 0.0) + u["duration"]
    return units


def median_units(name):
    """Per unit, the median duration over the runs."""
    runs = [unit_data(name, r[0]) for r in rows.get(name, [])]
    runs = [r for r in runs if r]
    keys = set().union(*runs) if runs else set()
    return {k: statistics.median(r.get(k, 0.0) for r in runs) for k in keys}


units = {n: median_units(n) for n in names if n in rows}
floor_units = units.get("floor", {})
med = {n: (statistics.median(r[1] for r in rows[n]), statistics.median(r[2] for r in rows[n]))
       for n in rows}
fw, fc = med.get("floor", (None, None))

print(f"{'build':<11}{'runs':>5}{'wall s':>8}{'× floor':>8}{'CPU s':>8}{'× floor':>8}"
      f"{'unit-s':>8}{'added':>7}{'units':>6}{'crates':>7}   wall s of each run")
for n in names:
    if n not in rows:
        continue
    wall, cpu = med[n]
    rw = f"{wall / fw:.2f}" if fw else "n/a"
    rc = f"{cpu / fc:.2f}" if fc else "n/a"
    u = units.get(n, {})
    added = sum(v for k, v in u.items() if k not in floor_units) if n not in ("floor", "floor-bin") else 0.0
    r0 = rows[n][0]
    each = " ".join(f"{r[1]:.0f}" for r in sorted(rows[n]))
    print(f"{n:<11}{len(rows[n]):>5}{wall:>8.1f}{rw:>8}{cpu:>8.1f}{rc:>8}{sum(u.values()):>8.1f}"
          f"{added:>7.1f}{r0[3]:>6}{r0[4]:>7}   {each}")
print("\nwall/CPU: medians over the runs; unit-s: sum of the compile units' durations (median per"
      "\nunit); added: unit-s of the units the floor does not build; units: compiled; crates: in"
      "\n`cargo tree -e normal`.")


def label(k):
    return k[0] + (f" [{k[2]}]" if k[2] else "")


for n in names:
    u = units.get(n)
    if not u:
        continue
    top = sorted(u.items(), key=lambda kv: -kv[1])[:8]
    print(f"\nslowest units ({n}): " + ", ".join(f"{label(k)} {v:.1f}s" for k, v in top))
    if n not in ("floor", "floor-bin") and floor_units:
        extra = sorted(((k, v) for k, v in u.items() if k not in floor_units), key=lambda kv: -kv[1])
        print(f"  not in the floor ({n}): " + ", ".join(f"{label(k)} {v:.1f}s" for k, v in extra[:12]))
EOF
