#!/usr/bin/env bash
# Prism check: each spec, served by Prism as a mock (static examples, request validation),
# answers the `embed-sessions` CLI, and the CLI accepts the answers.
#
#   scripts/prism-check.sh
#
# - Prism (@stoplight/prism-cli, pinned in tools/node/package-lock.json, installed there on
#   first use) serves specs/<provider>.yaml on 127.0.0.1 with `--dynamic false` (the spec's
#   examples, so answers are deterministic) and `--errors` (a request or response that
#   violates the spec is answered with an error instead of a warning).
# - The CLI (`target/debug/embed-sessions`, built here unless PRISM_CHECK_NO_BUILD=1) runs
#   with a clean environment: only the provider variables set below.
# - Vlens: `auth-session`, `invitation` (admin login first), `template-fields`; VRPlatform:
#   `session`, `team`: each must exit 0 with the spec's example values in its output.
# - bunq: `session` runs installation, then device-server. Only installation can succeed:
#   every later answer must carry `X-Bunq-Server-Signature` over its body, which Prism cannot
#   produce. The check asserts that installation passed Prism's validation and was accepted
#   (the context file holds the example's installation token) and that the CLI then stopped
#   at the device step on the missing server signature (exit 4), i.e. after installation.
# - Every Prism log must be free of validation violations.
#
# Fails (never skips) when Node, the tools or Prism cannot start.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
source scripts/node-tools.sh
ensure_node_tools

target="${CARGO_TARGET_DIR:-$root/target}"
cli="$target/debug/embed-sessions"
if [[ "${PRISM_CHECK_NO_BUILD:-0}" != 1 ]]; then
  cargo build -p embed-sessions-cli --quiet
fi
if [[ ! -x "$cli" ]]; then
  echo "prism check: $cli not found (cargo build -p embed-sessions-cli)" >&2
  exit 1
fi

work="$(mktemp -d)"
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "prism check: FAILED: $*" >&2
  exit 1
}

# A port nothing listens on (checked with a connect attempt; Prism fails loudly on a clash).
# Below Linux's ephemeral range (32768-60999): a port there may be the local end of some
# connection, which a connect attempt does not see but which makes Prism's bind fail.
next_port=$((20000 + ($$ % 10000)))
free_port() {
  while (exec 3<>"/dev/tcp/127.0.0.1/$next_port") 2>/dev/null; do
    next_port=$((next_port + 1))
  done
  port="$next_port"
  next_port=$((next_port + 1))
}

# start_prism PROVIDER: starts Prism for specs/PROVIDER.yaml in the background.
declare -A url log
start_prism() {
  local name="$1" port
  free_port
  log[$name]="$work/prism-$name.log"
  url[$name]="http://127.0.0.1:$port"
  "$NODE_BIN/prism" mock "specs/$name.yaml" --host 127.0.0.1 --port "$port" \
    --dynamic false --errors >"${log[$name]}" 2>&1 &
  pids+=("$!")
  eval "pid_$name=$!"
}

# wait_prism PROVIDER: waits up to 60 s for "Prism is listening"; fails if Prism exits (after
# up to two restarts on another port when its port was taken meanwhile).
wait_prism() {
  local name="$1" pid_var="pid_$1" i restarts=0
  for ((i = 0; i < 600; i++)); do
    grep -q "Prism is listening" "${log[$name]}" && return 0
    if ! kill -0 "${!pid_var}" 2>/dev/null && grep -q EADDRINUSE "${log[$name]}" \
      && ((restarts < 2)); then
      restarts=$((restarts + 1))
      echo "prism check: ${url[$name]} was taken; starting Prism for $name on another port"
      start_prism "$name"
      continue
    fi
    if ! kill -0 "${!pid_var}" 2>/dev/null; then
      cat "${log[$name]}" >&2
      fail "Prism could not start for specs/$name.yaml (log above)"
    fi
    sleep 0.1
  done
  cat "${log[$name]}" >&2
  fail "Prism did not listen within 60 s for specs/$name.yaml (log above)"
}

# run_cli EXPECTED_EXIT LABEL VAR=VALUE... -- ARGS...: runs the CLI in a clean environment.
run_cli() {
  local expect="$1" label="$2" code=0
  shift 2
  local vars=()
  while [[ "$1" != "--" ]]; do
    vars+=("$1")
    shift
  done
  shift
  env -i PATH="$PATH" HOME="$HOME" "${vars[@]}" "$cli" "$@" >"$work/out" 2>"$work/err" || code=$?
  if [[ "$code" -ne "$expect" ]]; then
    echo "--- stdout" >&2
    cat "$work/out" >&2
    echo "--- stderr" >&2
    cat "$work/err" >&2
    fail "$label: exit $code, expected $expect"
  fi
}

# expect_out PATTERN LABEL: the last stdout matches the extended regex PATTERN.
expect_out() {
  grep -Eq "$1" "$work/out" || {
    cat "$work/out" >&2
    fail "$2: output does not match /$1/"
  }
}

# clean_log PROVIDER: no request or response violated the spec.
clean_log() {
  if grep -Eq "Violation|did not pass|✖" "${log[$1]}"; then
    cat "${log[$1]}" >&2
    fail "Prism reported violations for specs/$1.yaml (log above)"
  fi
}

started=$SECONDS
for provider in vlens vrplatform bunq; do start_prism "$provider"; done
for provider in vlens vrplatform bunq; do wait_prism "$provider"; done
echo "Prism up for vlens, vrplatform, bunq ($((SECONDS - started)) s)"

# ----- Vlens -----
vlens_env=(VLENS_API_KEY=prism-check-api-key "VLENS_BASE_URL=${url[vlens]}")
vlens_admin=(VLENS_TENANCY_NAME=YOUR_TENANCY_NAME VLENS_USERNAME=admin@example.com VLENS_PASSWORD=YOUR_PASSWORD)

run_cli 0 "vlens auth-session" "${vlens_env[@]}" -- \
  vlens auth-session --phone +201234567890 --contract-type 414 --minimal-signature-flow
expect_out '"token": ?"SESSION_TOKEN"' "vlens auth-session"
expect_out 'app\.vlenseg\.com/session\?token=SESSION_TOKEN' "vlens auth-session"

run_cli 0 "vlens invitation" "${vlens_env[@]}" "${vlens_admin[@]}" -- \
  vlens invitation --phone +201234567890 --contract-type 414 \
  --field "414.fullName=Ahmed Mohamed" --field 414.monthlyIncome=5000
expect_out '"token": ?"SESSION_TOKEN"' "vlens invitation"

run_cli 0 "vlens template-fields" "${vlens_env[@]}" -- vlens template-fields --request-type 414
expect_out 'fullName' "vlens template-fields"
expect_out 'monthlyIncome' "vlens template-fields"
clean_log vlens
grep -q "post /api/credentials/Login" "${log[vlens]}" || fail "vlens invitation did not log in"
echo "ok: vlens auth-session, invitation (with admin login), template-fields"

# ----- VRPlatform -----
vrp_env=(VRPLATFORM_API_KEY=prism-check-provider-key "VRPLATFORM_BASE_URL=${url[vrplatform]}")
tenant=4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a

run_cli 0 "vrplatform session" "${vrp_env[@]}" -- \
  vrplatform session --sub hostaway-user-123 --tenant "$tenant" --auto-provision
expect_out '"accessToken": ?"<vrplatform-bearer-token>"' "vrplatform session"
expect_out '"expiresAt": ?"2026-04-01T12:00:00.000Z"' "vrplatform session"
expect_out "\"tenantId\": ?\"$tenant\"" "vrplatform session"

run_cli 0 "vrplatform team" "${vrp_env[@]}" -- vrplatform team --tenant "$tenant"
expect_out "$tenant" "vrplatform team"
expect_out 'propertyManager' "vrplatform team"
clean_log vrplatform
echo "ok: vrplatform session, team"

# ----- bunq -----
context="$work/bunq-context.json"
run_cli 4 "bunq session" BUNQ_API_KEY=sandbox_prism-check-api-key "BUNQ_BASE_URL=${url[bunq]}" -- \
  bunq session --context "$context" --sandbox
clean_log bunq
# Installation: validated by Prism, answered with the spec's example, accepted by the CLI.
grep -q "post /installation" "${log[bunq]}" || fail "bunq: no installation request reached Prism"
[[ -f "$context" ]] || fail "bunq: no context file was saved after installation"
grep -q a5958d77151e62a830ff652099e299f86d0f387a422781d678075a3c555cbb41 "$context" ||
  fail "bunq: the context file does not hold the example's installation token"
# Then the device step: its request passed Prism's validation, the answer (unsigned) was refused.
grep -q "post /device-server" "${log[bunq]}" || fail "bunq: the CLI stopped before the device step"
grep -qi "signature" "$work/err" || {
  cat "$work/err" >&2
  fail "bunq: the failure after installation is not the missing server signature"
}
if grep -q "post /session-server" "${log[bunq]}"; then
  fail "bunq: session-server was called although the device answer was unsigned"
fi
echo "ok: bunq installation accepted; stopped at device-server: $(head -c 200 "$work/err")"
echo "prism check: passed ($((SECONDS - started)) s)"
