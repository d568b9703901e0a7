#!/usr/bin/env bash
# Runs the whole ovx test suite: installs dependencies, builds once, then runs
# the tiers in order (unit, bpf, e2e, bench smoke), stopping at the first
# failing tier. Needs root (the bpf and e2e tiers load programs and create
# namespaces). Environment: OVX_BUILD_DIR (default ./build), OVX_TIERS to run a
# subset ("unit bpf").
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${OVX_BUILD_DIR:-$root/build}
tiers=${OVX_TIERS:-unit bpf e2e bench}

if [[ $(id -u) -ne 0 ]]; then
  echo "test.sh: the bpf and e2e tiers need root; run as root" >&2
  exit 1
fi

OVX_BUILD_DIR=$build bash "$root/scripts/build.sh"

# Snapshot what exists before the tests, to prove afterwards they left nothing.
netns_before=$(ip netns list 2>/dev/null | awk '{print $1}' | sort)

passed=0
failed=0
for tier in $tiers; do
  echo
  echo "=== tier: $tier"
  log=$(mktemp)
  set +e
  ctest --test-dir "$build" -L "^${tier}\$" --output-on-failure \
    --no-tests=error 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  set -e
  summary=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | tail -1)
  total=$(sed -nE 's/.* out of ([0-9]+).*/\1/p' <<<"$summary")
  bad=$(sed -nE 's/.* ([0-9]+) tests failed.*/\1/p' <<<"$summary")
  rm -f "$log"
  passed=$((passed + ${total:-0} - ${bad:-0}))
  failed=$((failed + ${bad:-0}))
  if [[ $rc -ne 0 ]]; then
    echo "tier $tier failed (ctest exit $rc); later tiers not run" >&2
    echo "suite: $passed passed, $((failed > 0 ? failed : 1)) failed"
    exit 1
  fi
done

netns_after=$(ip netns list 2>/dev/null | awk '{print $1}' | sort)
leftover=$(comm -13 <(echo "$netns_before") <(echo "$netns_after") | grep -v '^$' || true)
if [[ -n "$leftover" ]]; then
  echo "tests left network namespaces behind:" $leftover >&2
  echo "suite: $passed passed, 1 failed"
  exit 1
fi
echo "suite: $passed passed, $failed failed"
