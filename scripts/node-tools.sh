# Sourced by scripts/lint-specs.sh and scripts/prism-check.sh: the pinned Node tools.
#
# tools/node/package.json and package-lock.json pin @redocly/cli and @stoplight/prism-cli
# exactly; `npm ci` installs them into tools/node/node_modules (git-ignored), with
# tools/node/.npmrc's settings (no install scripts, engines enforced). Nothing is installed
# globally. Re-installed when missing or when the lock file is newer than the install.
# Needs `node` and `npm` (Node >= 20.19).

NODE_TOOLS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../tools/node" && pwd)"
NODE_BIN="$NODE_TOOLS_DIR/node_modules/.bin"

# No telemetry, no update notices, no colour in CI logs.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true SCARF_ANALYTICS=false
export NO_UPDATE_NOTIFIER=1 NO_COLOR=1

ensure_node_tools() {
  for tool in node npm; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      echo "error: \`$tool\` is not on PATH; install Node.js >= 20.19 (with npm)" >&2
      return 1
    fi
  done
  local installed="$NODE_TOOLS_DIR/node_modules/.package-lock.json"
  if [[ ! -f "$installed" || "$NODE_TOOLS_DIR/package-lock.json" -nt "$installed" ]]; then
    echo "installing the pinned Node tools (npm ci in tools/node)" >&2
    (cd "$NODE_TOOLS_DIR" && npm ci --no-audit --no-fund --loglevel=error >&2)
  fi
}
