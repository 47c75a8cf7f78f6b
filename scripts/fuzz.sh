#!/usr/bin/env bash
# Runs the fuzz targets (fuzz/, cargo-fuzz + libFuzzer) for a number of runs or a time each,
# and prints, per target, the executions and what was found (crash, timeout, out of memory).
#
#   scripts/fuzz.sh [--runs N | --time SECONDS] [--jobs J] [TARGET...]
#
# Default: --runs 1000000, every target, one at a time (--jobs 2 runs two targets at once).
# Needs the nightly toolchain (rustup's `nightly`) and cargo-fuzz (installed with
# `cargo install cargo-fuzz --locked` when missing). No sanitizer by default (the targets are
# safe Rust over C crypto that libFuzzer's ASan would not instrument anyway; set
# FUZZ_SANITIZER=address for one). Each target starts from its seeds (fuzz/seeds/<target>/,
# documented examples; the `spec` target from specs/*.yaml) and the inputs kept in
# fuzz/regressions/<target>/, with the providers' field names as a dictionary
# (fuzz/providers.dict). Findings land in fuzz/artifacts/<target>/; the exit status is 1 when
# any target found something.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

runs=1000000
time=""
jobs=1
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --time) time="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
all=(vlens_response vrplatform_response bunq_response retry_after excerpt event bunq_context_file spec)
[ "${#targets[@]}" -gt 0 ] || targets=("${all[@]}")

rustup run nightly rustc --version >/dev/null 2>&1 || {
  echo "fuzz.sh: the nightly toolchain is needed (rustup toolchain install nightly)" >&2
  exit 2
}
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
sanitizer="${FUZZ_SANITIZER:-none}"
# The same dependency versions as the main workspace (fuzz/Cargo.lock is not kept).
cp ../Cargo.lock Cargo.lock
cargo +nightly fuzz build -s "$sanitizer" 2>&1 | tail -n 3

limit=(-runs="$runs")
[ -z "$time" ] || limit=(-max_total_time="$time")
run_one() {
  local t="$1" corpus="corpus/$1" log="artifacts/$1.log"
  mkdir -p "$corpus" "artifacts/$t"
  [ -d "seeds/$t" ] && cp -n seeds/"$t"/* "$corpus"/ 2>/dev/null || true
  [ -d "regressions/$t" ] && cp -n regressions/"$t"/* "$corpus"/ 2>/dev/null || true
  [ "$t" = spec ] && for s in ../specs/*.yaml; do cp -n "$s" "$corpus/$(basename "$s")"; done
  local started=$SECONDS status=0
  cargo +nightly fuzz run -s "$sanitizer" "$t" "$corpus" -- "${limit[@]}" \
    -dict=providers.dict -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="artifacts/$t/" >"$log" 2>&1 || status=$?
  local execs found
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n 1)
  found=$(find "artifacts/$t" -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | wc -l)
  printf '%-20s %12s executions %6ss  %s finding(s)  exit %s  (log: fuzz/%s)\n' \
    "$t" "${execs:-?}" "$((SECONDS - started))" "$found" "$status" "$log"
}

printf '%-20s %12s\n' target executions
failed=0
if [ "$jobs" -gt 1 ]; then
  export -f run_one
  export sanitizer
  export limit_str="${limit[*]}"
  printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'limit=($limit_str); run_one "$@"' _ {}
else
  for t in "${targets[@]}"; do run_one "$t"; done
fi
for t in "${targets[@]}"; do
  if [ -n "$(find "artifacts/$t" -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) 2>/dev/null)" ]; then
    failed=1
  fi
done
exit "$failed"
