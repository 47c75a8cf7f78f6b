#!/usr/bin/env bash
# Fresh-clone check: the committed HEAD, cloned into an empty folder with nothing beside it,
# passes the spec-fidelity tests on its own, and those tests open no file outside the clone.
#
#   scripts/fresh-clone-check.sh
#
# - `git clone` of this repository, then a detached checkout of exactly HEAD (uncommitted
#   changes are not part of the check), into $TMPDIR/embed-sessions-fresh-clone-<uid>-<hash>/repo;
#   the folder is wiped before and after, and `repo` is alone in it, so a test reading a folder
#   beside the checkout finds nothing.
# - The build reuses this checkout's target directory (CARGO_TARGET_DIR, default ./target):
#   registry dependencies are not rebuilt, only the workspace crates of the clone. Cargo names
#   a workspace crate's artifacts by a hash that does not depend on where the workspace sits,
#   so the clone would overwrite this checkout's own test binaries (built with the clone's
#   paths inside, e.g. CARGO_MANIFEST_DIR). To keep them apart, the clone's workspace version
#   gets a `-fresh-clone` pre-release suffix (the only edit made to the clone; no crate
#   requires a version of another): different package ids, different artifact names, and the
#   registry dependencies' artifacts are still shared.
# - The test binaries run under `strace` (file system calls of every thread and child): any
#   path they touch outside the clone, the target directory and the system's read-only
#   locations (/proc, /sys, /dev, /etc, /usr, /lib*, and ~/.terminfo, which the libtest harness
#   probes for its terminal) fails the check, as do failing tests.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
target="$(mkdir -p "${CARGO_TARGET_DIR:-$root/target}" && cd "${CARGO_TARGET_DIR:-$root/target}" && pwd)"
command -v strace >/dev/null || {
  echo "fresh-clone check: \`strace\` is required to audit file access (apt-get install strace)" >&2
  exit 1
}

tests=(spec_fidelity_vlens spec_fidelity_vrplatform_bunq)
hash="$(printf '%s' "$target" | cksum | cut -d' ' -f1)"
base="${TMPDIR:-/tmp}/embed-sessions-fresh-clone-$(id -u)-$hash"
clone="$base/repo"
rm -rf "$base"
mkdir -p "$base"
trap 'rm -rf "$base"' EXIT

head="$(git rev-parse HEAD)"
git clone --quiet --no-checkout "$root" "$clone"
git -C "$clone" -c advice.detachedHead=false checkout --quiet --detach "$head"
[[ "$(ls -A "$base")" == repo ]] || { echo "fresh-clone check: $base is not empty" >&2; exit 1; }
sed -i '0,/^version = "/s/^version = "\([^"]*\)"$/version = "\1-fresh-clone"/' "$clone/Cargo.toml"
grep -q '^version = ".*-fresh-clone"$' "$clone/Cargo.toml" || {
  echo "fresh-clone check: could not mark the clone's workspace version" >&2
  exit 1
}
echo "cloned $head into $clone"

# Build the tests in the clone; collect the test executables from cargo's JSON messages.
test_args=()
for t in "${tests[@]}"; do test_args+=(--test "$t"); done
executables="$(
  cd "$clone" &&
    CARGO_TARGET_DIR="$target" cargo test -p integration-tests "${test_args[@]}" --no-run \
      --message-format=json --quiet |
    grep -o '"executable":"[^"]*"' | sed 's/^"executable":"//; s/"$//'
)"
[[ "$(wc -l <<<"$executables")" -eq "${#tests[@]}" ]] || {
  echo "fresh-clone check: expected ${#tests[@]} test executables, got: $executables" >&2
  exit 1
}

# Run each executable as `cargo test` would (working directory: the package), under strace.
status=0
trace="$base/trace"
while read -r exe; do
  rm -f "$trace".*
  echo "running $(basename "$exe") in the clone"
  (cd "$clone/tests" && strace -f -qq -ff -e trace=%file -o "$trace" "$exe" --quiet) || status=1
  # Every quoted path argument of a file system call; relative ones are relative to tests/.
  outside="$(
    cat "$trace".* | grep -o '"[^"]*"' | tr -d '"' | sort -u | while read -r path; do
      [[ -z "$path" ]] && continue
      [[ "$path" == /* ]] || path="$clone/tests/$path"
      path="$(realpath -m "$path")"
      case "$path" in
        "$clone" | "$clone"/* | "$target" | "$target"/*) ;;
        /proc/* | /sys/* | /dev/* | /etc/* | /usr/* | /lib/* | /lib64/* | /lib32/*) ;;
        "$HOME/.terminfo" | "$HOME/.terminfo"/*) ;;
        *) echo "$path" ;;
      esac
    done
  )"
  if [[ -n "$outside" ]]; then
    echo "fresh-clone check: $(basename "$exe") touched paths outside the clone:" >&2
    sed 's/^/  /' <<<"$outside" >&2
    status=1
  fi
done <<<"$executables"

if [[ "$status" -ne 0 ]]; then
  echo "fresh-clone check: FAILED" >&2
  exit 1
fi
echo "fresh-clone check: passed (spec-fidelity tests in a fresh clone of $head, no access outside it)"
