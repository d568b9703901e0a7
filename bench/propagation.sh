#!/usr/bin/env bash
# bench/propagation.sh [--changes=N] [--build-dir=DIR]: ovxctl -> remote map
# propagation latency (p50/p99/max over N adds and N removes), as JSON on
# stdout. run.sh runs the same thing as part of the suite.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib/common.sh"
source "$here/lib/propagation.sh"
changes=200
build_dir=${OVX_BUILD_DIR:-$here/../build}
for arg in "$@"; do
  case $arg in
    --changes=*) changes=${arg#*=} ;;
    --build-dir=*) build_dir=${arg#*=} ;;
    *) echo "propagation.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done
[[ $(id -u) -eq 0 ]] || die "run as root"
bin() { find "$build_dir" -type f -name "$1" -perm -u+x | head -1; }
for b in ovxctl ovx-controller ovx-loader ovx_propagation; do
  [[ -n $(bin $b) ]] || die "$b not found under $build_dir"
done
BENCH_TMP=$(mktemp -d /tmp/ovxb.XXXXXX)
BENCH_TMPDIRS+=("$BENCH_TMP")
trap bench_cleanup EXIT
trap 'exit 130' INT TERM
propagation_run "$(bin ovxctl)" "$(bin ovx-controller)" "$(bin ovx-loader)" \
  "$(bin ovx_propagation)" "$changes" "$BENCH_TMP/propagation.json"
cat "$BENCH_TMP/propagation.json"
