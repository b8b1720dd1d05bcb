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

# Ops commands reach the local stack by default, as the services npm start
# runs do: when the caller named none of the stack's endpoints, each variable
# `stack env` prints that the caller did not set is taken from it. Without
# this, `npm run provision` in a fresh shell met MinIO's and DynamoDB Local's
# endpoints (the defaults) without their credentials and died with the SDK's
# stack trace. A caller who names an endpoint configures everything itself.
# The `unset` lines (the caller's AWS session, which would spoil the stack's
# keys) apply when the stack's keys were taken, not when the caller set their own.
local_stack_defaults() {
  local variable line name took_keys=''
  for variable in KAFKA_BROKERS SCHEMA_REGISTRY_URL AWS_ENDPOINT_URL_S3 AWS_ENDPOINT_URL_DYNAMODB MYSQL_URL; do
    if [ -n "${!variable:-}" ]; then return 0; fi
  done
  while IFS= read -r line; do
    if [[ "$line" == "unset "* ]]; then
      if [ -n "$took_keys" ]; then unset "${line#unset }"; fi
      continue
    fi
    [[ "$line" == "export "* ]] || continue
    name="${line#export }"; name="${name%%=*}"
    if [ -z "${!name+x}" ]; then
      eval "$line"
      if [ "$name" = AWS_ACCESS_KEY_ID ]; then took_keys=1; fi
    fi
  done < <(node deploy/local/dist/cli.js env)
}

export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true  # Node 20 is the machine's; the SDK's upgrade notice is noise here
ensure_built
cmd="${1:-}"; shift || true
case "$cmd" in
  stack) exec node deploy/local/dist/cli.js "$@" ;;
  provision) local_stack_defaults; exec node deploy/local/dist/provision-cli.js "$@" ;;
  schemas-check) exec node schemas/dist/check-cli.js "$@" ;;
  node) local_stack_defaults; exec node "$@" ;;
  built) exit 0 ;;
  *) echo "usage: orbit.sh stack|provision|schemas-check|node|built [args]" >&2; exit 2 ;;
esac
