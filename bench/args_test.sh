#!/usr/bin/env bash
# bench/args_test.sh - bench/run.sh refuses bad arguments with a clear error
# before it touches the machine, and --help prints its whole header.
# Needs no root: every case here exits before the root check.
set -uo pipefail

run=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/run.sh
failures=0

# expect_refused ARG MESSAGE: run.sh ARG exits non-zero saying MESSAGE.
expect_refused() {
  local out rc
  out=$(bash "$run" "$1" 2>&1)
  rc=$?
  if ((rc == 0)) || ! grep -qF -- "$2" <<<"$out"; then
    echo "FAIL: run.sh $1: exit $rc, wanted non-zero and \"$2\"; got: $out"
    failures=$((failures + 1))
  fi
}

expect_refused --rounds=0 "--rounds must be a positive integer"
expect_refused --duration=3s "--duration must be a positive integer"
expect_refused --tcp-write=12X "--tcp-write must be a byte count"
expect_refused --tcp-write=0 "--tcp-write must be a byte count"
expect_refused --big-tcp=65536 "--big-tcp must be a size in bytes above 65536"
expect_refused --big-tcp=1M "--big-tcp must be a size in bytes above 65536"
expect_refused --frobnicate "unknown argument --frobnicate"
expect_refused --paths=plain,vxlan "unknown path vxlan"
expect_refused --profiles=veth,nic-csum "unknown profile nic-csum"

help=$(bash "$run" --help 2>&1)
rc=$?
if ((rc != 0)) || ! grep -q -- "--tcp-write:" <<<"$help" ||
  [[ $(tail -1 <<<"$help") != number. ]]; then
  echo "FAIL: run.sh --help: exit $rc, or the header is cut short: $(tail -2 <<<"$help")"
  failures=$((failures + 1))
fi

((failures == 0)) && echo "bench args: all cases passed"
exit $((failures > 0))
