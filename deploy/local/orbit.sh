#!/usr/bin/env bash
# Entry point for every npm script that needs the project built: installs
# node modules when they are missing or stale, compiles (tsc -b is incremental,
# about a second when nothing changed), then runs the named command.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

ensure_built() {
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "orbit: installing node modules (npm ci)" >&2
    npm ci --no-audit --no-fund --loglevel=error >&2
  fi
  npx --no-install tsc -b >&2
}

export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true  # Node 20 is the machine's; the SDK's upgrade notice is noise here
ensure_built
cmd="${1:-}"; shift || true
case "$cmd" in
  stack) exec node deploy/local/dist/cli.js "$@" ;;
  provision) exec node deploy/local/dist/provision-cli.js "$@" ;;
  schemas-check) exec node schemas/dist/check-cli.js "$@" ;;
  node) exec node "$@" ;;
  built) exit 0 ;;
  *) echo "usage: orbit.sh stack|provision|schemas-check|node|built [args]" >&2; exit 2 ;;
esac
