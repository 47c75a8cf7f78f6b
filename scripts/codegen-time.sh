#!/usr/bin/env bash
# Wall time of `cargo xtask codegen --check` for all three specs, after a build (compiling the
# xtask is excluded). See BENCHMARKS.md.
#
# Two figures: the command as typed (`cargo xtask ...`, i.e. `cargo run`, whose own freshness
# check is included) and the xtask binary alone. With hyperfine (apt-get install -y hyperfine)
# when available, else a loop timed with `date`. Also prints the xtask's own per-spec report.
#
# Usage: scripts/codegen-time.sh [RUNS]   (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}

echo "building the xtask (not timed)" >&2
cargo build --locked -q -p xtask
bin=$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug/xtask
cargo xtask codegen --check # once: must pass (and shows the per-spec report)

if command -v hyperfine > /dev/null; then
  json=$(mktemp)
  hyperfine --warmup 3 --runs "$runs" -N --export-json "$json" \
    -n 'cargo xtask codegen --check' 'cargo xtask codegen --check' \
    -n 'xtask binary: codegen --check' "$bin codegen --check"
  python3 - "$json" <<'EOF'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"{r['command']}: median {r['median'] * 1000:.0f} ms, "
          f"min {r['min'] * 1000:.0f} ms, max {r['max'] * 1000:.0f} ms ({len(r['times'])} runs)")
EOF
  rm -f "$json"
else
  for cmd in "cargo xtask codegen --check" "$bin codegen --check"; do
    python3 - "$runs" "$cmd" <<'EOF'
import shlex, statistics, subprocess, sys, time
runs, cmd = int(sys.argv[1]), shlex.split(sys.argv[2])
subprocess.run(cmd, check=True, capture_output=True)
times = []
for _ in range(runs):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    times.append(time.perf_counter() - t)
print(f"{sys.argv[2]}: median {statistics.median(times) * 1000:.0f} ms, "
      f"min {min(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms ({runs} runs)")
EOF
  done
fi
