#!/usr/bin/env bash
# bench/args_test.sh [BENCH_BUILD_DIR] - bench/run.sh and bench/prog_ab.sh
# refuse bad arguments with a clear error before they touch the machine,
# --help prints run.sh's whole header, and each bench tool's --help (in
# BENCH_BUILD_DIR) shows its own flags only.
# Needs no root: every case here exits before the root check.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
run=$here/run.sh
failures=0

# refused_by SCRIPT MESSAGE ARGS...: SCRIPT ARGS exits non-zero saying MESSAGE.
refused_by() {
  local script=$1 msg=$2 out rc
  shift 2
  out=$(bash "$script" "$@" 2>&1)
  rc=$?
  if ((rc == 0)) || ! grep -qF -- "$msg" <<<"$out"; then
    echo "FAIL: $(basename "$script") $*: exit $rc, wanted non-zero and \"$msg\"; got: $out"
    failures=$((failures + 1))
  fi
}
# expect_refused ARG MESSAGE: run.sh ARG exits non-zero saying MESSAGE.
expect_refused() { refused_by "$run" "$2" "$1"; }

expect_refused --rounds=0 "--rounds must be a positive integer"
expect_refused --duration=3s "--duration must be a positive integer"
expect_refused --tcp-write=12X "--tcp-write must be a byte count"
expect_refused --tcp-write=0 "--tcp-write must be a byte count"
expect_refused --big-tcp=65536 "--big-tcp must be a size in bytes above 65536"
expect_refused --big-tcp=1M "--big-tcp must be a size in bytes above 65536"
expect_refused --frobnicate "unknown argument --frobnicate"
expect_refused --paths=plain,vxlan "unknown path vxlan"
expect_refused --profiles=veth,nic-csum "unknown profile nic-csum"

ab=$here/prog_ab.sh
refused_by "$ab" "give at least two builds" a="$here"
refused_by "$ab" "--rounds must be a positive integer" --rounds=0 a=x b=y
refused_by "$ab" "--endpoints must be a positive integer" --endpoints=1k a=x b=y
refused_by "$ab" "is not NAME=BUILD_DIR" a=x build
refused_by "$ab" "build name a given twice" a=x a=y
refused_by "$ab" "build name 'a b'" "a b=x" c=y
refused_by "$ab" "no /nonexistent/bench/ovx_prog_cost" a=/nonexistent b=/nonexistent
refused_by "$ab" "unknown argument --frobnicate" --frobnicate
ab_help=$(bash "$ab" --help 2>&1)
if (($? != 0)) || ! grep -qF "NAME=BUILD_DIR NAME=BUILD_DIR..." <<<"$ab_help"; then
  echo "FAIL: prog_ab.sh --help: no usage line: $ab_help"
  failures=$((failures + 1))
fi

help=$(bash "$run" --help 2>&1)
rc=$?
if ((rc != 0)) || ! grep -q -- "--tcp-write:" <<<"$help" ||
  [[ $(tail -1 <<<"$help") != number. ]]; then
  echo "FAIL: run.sh --help: exit $rc, or the header is cut short: $(tail -2 <<<"$help")"
  failures=$((failures + 1))
fi

# Each tool's --help (when given the bench build directory): its usage and
# its own flags, none of gflags' (which gflags.cc defines).
tools=${1:-}
if [[ -n $tools ]]; then
  for tool_flag in ovx_prog_cost:-bpffs ovx_propagation:-ovxctl \
    ovx_registry_bench:-endpoints ovx_rr:-slice_ms ovx_udp_rate:-bind; do
    tool=${tool_flag%%:*} flag=${tool_flag#*:}
    help=$("$tools/$tool" --help 2>&1)
    rc=$?
    if ((rc != 0)) || ! grep -q "^$tool: " <<<"$help" ||
      ! grep -q -- "^ *$flag (" <<<"$help" || grep -q -- "-flagfile\|gflags" <<<"$help"; then
      echo "FAIL: $tool --help: exit $rc, wanted its usage and $flag and no gflags flag: $help"
      failures=$((failures + 1))
    fi
  done
fi

((failures == 0)) && echo "bench args: all cases passed"
exit $((failures > 0))
