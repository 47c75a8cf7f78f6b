#!/usr/bin/env bash
# Lints the three specs with Redocly CLI's `recommended` ruleset (configuration and the one
# rule turned off, with its reason: redocly.yaml). Fails on any error AND on any warning.
#
#   scripts/lint-specs.sh                 # all three specs
#   scripts/lint-specs.sh vlens           # one (the `apis` names of redocly.yaml)
#
# Redocly CLI is pinned in tools/node/package-lock.json and installed there on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-tools.sh
ensure_node_tools

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
status=0
"$NODE_BIN/redocly" lint --format stylish --max-problems 1000 "$@" >"$out" 2>&1 || status=$?
# Keep the report, without the boxed Node-version notice Redocly prints on Node 20.
grep -v '[║╔╚]' "$out" | grep -v '^[[:space:]]*$' || true
# `recommended` reports some rules as warnings, which do not change the exit status.
problems="$(grep -cE '^[[:space:]]+[0-9]+:[0-9]+[[:space:]]+(error|warning)[[:space:]]' "$out" || true)"
if [[ "$status" -ne 0 || "$problems" -ne 0 ]]; then
  echo "spec lint: $problems problem(s) (errors and warnings both fail); see above" >&2
  exit 1
fi
echo "spec lint: 0 errors, 0 warnings"
