# Shared by scripts/bench-instructions.sh and scripts/bench-allocs.sh (sourced, not run): the
# session groups they default to, the valgrind check, and the facade bench binary they run
# with BENCH_CALLS (benches/support/mod.rs), built here if it is not already.
#
# After sourcing: `LOW` and `HIGH` (the two call counts, default 500 and 1,500), `groups` (the
# arguments, or both session groups), `bin` (the bench binary, or `BIN`), `out` (a temporary directory
# removed on exit).

LOW=${LOW:-500}
HIGH=${HIGH:-1500}

groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(vrplatform_embed_session vlens_auth_session)
command -v valgrind > /dev/null || { echo "valgrind is required (apt-get install -y valgrind)" >&2; exit 1; }

# BIN=<absolute path of a facade bench binary> measures that one instead (say, an older commit's, copied aside,
# to compare two builds in one session).
bin=${BIN:-}
[ -n "$bin" ] || bin=$(cargo bench -p embed-sessions --locked --bench facade --no-run --message-format=json 2> /dev/null |
  python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "facade" and m.get("executable"):
        print(m["executable"])')
[ -n "$bin" ] || { echo "could not build the facade bench" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
