#!/usr/bin/env bash
# Peak memory (maximum resident set size) of one `embed-sessions vrplatform session` run against
# a loopback stand-in for VRPlatform (scripts/vrplatform-stub.py), release build, measured with
# GNU time (`/usr/bin/time -v`; Debian/Ubuntu package `time`). See BENCHMARKS.md.
#
# Beside it, the same for the compile-cost floor (benches/floor: the same POST by hand with
# reqwest, serde and tokio), built into $PEAK_MEMORY_DIR (default /tmp/embed-sessions-peak-memory).
#
# Usage: scripts/peak-memory.sh [RUNS]   (default 5 runs each; the largest and the median are shown)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
out=${PEAK_MEMORY_DIR:-/tmp/embed-sessions-peak-memory}
tenant=4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a
mkdir -p "$out"
[ -x /usr/bin/time ] || { echo "needs GNU time: apt-get install -y time" >&2; exit 1; }

echo "building (release): embed-sessions-cli, and the floor" >&2
cargo build --release --locked -q -p embed-sessions-cli
cli=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/embed-sessions
cargo build --release --locked -q --manifest-path benches/floor/Cargo.toml --target-dir "$out/target"
floor=$out/target/release/embed-sessions-floor

python3 scripts/vrplatform-stub.py > "$out/port" &
stub=$!
trap 'kill $stub 2> /dev/null || true' EXIT
for _ in $(seq 50); do [ -s "$out/port" ] && break; sleep 0.1; done
port=$(cat "$out/port")
base=http://127.0.0.1:$port

measure() { # label, command...: runs it $runs times, prints the peak RSS figures
  local label=$1
  shift
  local rss=()
  for _ in $(seq "$runs"); do
    VRPLATFORM_API_KEY=k /usr/bin/time -v "$@" > "$out/stdout" 2> "$out/time"
    rss+=("$(awk -F': ' '/Maximum resident set size/ {print $2}' "$out/time")")
  done
  python3 - "$label" "${rss[@]}" <<'PY'
import statistics, sys
label, kib = sys.argv[1], [int(x) for x in sys.argv[2:]]
print(f"{label:<44} max {max(kib) / 1024:6.1f} MiB   median {statistics.median(kib) / 1024:6.1f} MiB   ({len(kib)} runs, KiB: {' '.join(map(str, kib))})")
PY
  echo "  output: $(head -c 200 "$out/stdout")"
}

echo "stub VRPlatform on $base" >&2
measure "embed-sessions vrplatform session" \
  "$cli" --base-url "$base" vrplatform session --sub u --tenant "$tenant"
measure "floor (reqwest + serde + tokio, by hand)" "$floor" "$base" u "$tenant"
