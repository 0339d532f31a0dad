#!/usr/bin/env bash
# test.sh: THE one test command (README, CI). Installs the real peers the
# integration tests drive (scripts/install-deps.sh), then runs the whole
# suite in debug: unit tests, SIPp scenarios over UDP and TCP, baresip.
# A missing peer is a failure, never a skip. Exit status: cargo's.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! bash scripts/install-deps.sh; then
  echo "test.sh: installing test peers failed" >&2
  exit 1
fi

log=$(mktemp "${TMPDIR:-/tmp}/softacd-test.XXXXXX")
trap 'rm -f "$log"' EXIT

# The integration tests start one softacd per test; keep the parallelism
# modest so SIPp/baresip timeouts are not hit on a loaded 2-core machine.
: "${RUST_TEST_THREADS:=2}"
export RUST_TEST_THREADS

cargo test --all-targets --no-fail-fast "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

echo
echo "==== test summary ===="
grep -E '^(test result:|error(\[E[0-9]+\])?:|     Running |    `)' "$log" || true
if [ "$status" -eq 0 ]; then
  echo "test.sh: PASS"
else
  echo "test.sh: FAIL (cargo test exit status $status)"
fi
exit "$status"
