#!/usr/bin/env bash
# bench/prog_ab_test.sh BUILD_DIR - prog_ab.sh times two builds side by side:
# one round of the same build under two names must print a row per case with
# a figure for each name, and leave no netns or bpffs mount behind.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:?usage: prog_ab_test.sh BUILD_DIR}
tag=ovxabt$$
fail() { echo "FAIL: $*"; exit 1; }

out=$(BENCH_TAG=$tag bash "$here/prog_ab.sh" --rounds=1 --iterations=2000 \
  --cases=encap,decap-xdp,local-delivery first="$build" second="$build")
rc=$?
((rc == 0)) || fail "prog_ab.sh exited $rc: $out"
grep -qx '| case | first | second |' <<<"$out" || fail "no header row: $out"
fig='[0-9]+-[0-9]+ \([0-9]+\)'
for c in encap decap-xdp local-delivery; do
  grep -Eqx "\| $c \| $fig \| $fig \|" <<<"$out" ||
    fail "no row with two figures for $c: $out"
done
(($(grep -c '^| ' <<<"$out") == 4)) || fail "want a header and 3 case rows: $out"
ip netns list | grep -q "^$tag" && fail "netns ${tag}* left behind"
grep -q "/tmp/ovxab" /proc/mounts && fail "a bpffs mount left behind"
echo "prog_ab: passed"
