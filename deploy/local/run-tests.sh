#!/usr/bin/env bash
# `npm test`: the whole suite on a fresh machine. Builds, brings the local stack
# up (installing what is missing), provisions it, then runs every vitest tier
# (unit, integration, e2e) with the stack's endpoints in the environment.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

started=$(date +%s)
# Image tools the end-to-end tests build real fixtures with, the zstd the
# validator decodes zstd layers with, and pass, the password store behind the
# credential helper the registry tests run (Debian packages).
missing=()
for tool in umoci skopeo docker-registry zstd pass; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
command -v gpg >/dev/null 2>&1 || missing+=(gnupg)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "orbit: npm test needs ${missing[*]} (Debian packages) and apt-get needs root: sudo apt-get install -y ${missing[*]}, then npm test again" >&2
    exit 1
  fi
  echo "orbit: installing ${missing[*]} (apt-get)" >&2
  # set -e ignores a failure left of && (apt-get update): the tests would fail much later, on a missing tool.
  if ! { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=300 "${missing[@]}" >&2; }; then
    echo "orbit: apt-get could not install ${missing[*]} (its output is above); install them, then npm test again" >&2
    exit 1
  fi
fi
bash deploy/local/orbit.sh built
# The tests stop and restart the stack's services and reset its data: not under a running npm start.
node deploy/local/dist/cli.js assert-no-pipeline
if [ "${ORBIT_TEST_INFRA:-local}" = "containers" ]; then
  # Docker hosts only (unverified here): test/global-setup.ts starts compose.yaml via testcontainers.
  eval "$(node deploy/local/dist/cli.js env)"
else
  node deploy/local/dist/cli.js up
  eval "$(node deploy/local/dist/cli.js env)"
fi
echo "orbit: stack ready after $(( $(date +%s) - started )) s; running tests" >&2

if [ "${CI:-}" = "true" ]; then
  # CI leaves nothing running behind it on the shared machine.
  trap 'node deploy/local/dist/cli.js down >&2 || true' EXIT
fi

npx --no-install eslint .
npx --no-install tsc -p tsconfig.tests.json
npx --no-install tsc -p bench/tsconfig.json

results="${ORBIT_STACK_DIR:-$root/.stack}/test-results.json"
status=0
tests_began_ms=$(( $(date +%s) * 1000 ))
npx --no-install vitest run --reporter=default --reporter=json --outputFile.json="$results" "$@" || status=$?
# One plain closing line that any CI can read.
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
' "$results" || echo "0 passed, 1 failed"
if [ "$status" -ne 0 ]; then
  # CI keeps no files: what the services logged is printed while it still exists.
  echo "orbit: the services as the failed run left them, and what they logged since it began:" >&2
  node deploy/local/dist/cli.js problems "$tests_began_ms" >&2 || true
fi
exit "$status"
