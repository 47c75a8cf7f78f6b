#!/usr/bin/env bash
# Runs the runtime benchmarks of BENCHMARKS.md in one session and prints the ratios:
#
#   1. the machine (nproc, CPU model, load average);
#   2. `openssl speed -seconds 3 rsa2048`, the reference for bunq's RSA-2048 figures, saved to
#      target/criterion/openssl-rsa2048.txt;
#   3. `cargo bench -p embed-sessions` (benches/facade.rs and benches/bunq.rs), extra arguments
#      passed to criterion (for example `--quick`, or a filter such as `vlens`);
#   4. scripts/bench-ratios.py.
#
# Nothing else heavy should run meanwhile: the figures are wall-clock medians.
#
# Usage: scripts/bench.sh [CRITERION ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."
target=$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
mkdir -p "$target/criterion"

echo "== machine"
echo "nproc: $(nproc); CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "load average (1/5/15 min): $(cut -d' ' -f1-3 /proc/loadavg)"
rustc --version
openssl version

echo "== openssl speed -seconds 3 rsa2048"
openssl speed -seconds 3 rsa2048 > "$target/criterion/openssl-rsa2048.txt" 2>&1
grep -E '^ +sign|^rsa +2048' "$target/criterion/openssl-rsa2048.txt"

echo "== cargo bench -p embed-sessions -- $*"
cargo bench -p embed-sessions --locked -- "$@"

echo "== ratios (scripts/bench-ratios.py)"
echo "load average after (1/5/15 min): $(cut -d' ' -f1-3 /proc/loadavg)"
python3 scripts/bench-ratios.py --target-dir "$target"
