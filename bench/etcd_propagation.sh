#!/usr/bin/env bash
# bench/etcd_propagation.sh [--changes=N] [--ovxctl-changes=M]
#                           [--registries=etcd,file] [--build-dir=DIR]
# Registry write -> remote map entry latency, on a real etcd and on the file
# registry. Per registry: a node in its own netns (ovx attached, its
# ovx-controller running on that registry); then
#  - library: N endpoints of another node added one by one through the
#    registry library (backend Update, what ovxctl calls), each timed until
#    the node's pinned endpoints map holds it, then N removed (2N changes);
#    after_write = Update returned -> entry in the map;
#  - ovxctl: M adds + M removes with the ovxctl command (its process start
#    and exit included), timed by bench/propagation_main.cc.
# Prints one JSON document; fails only when something is broken (a change
# never arrives, a setup step fails), never on a number.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib/common.sh"
source "$here/lib/etcd_node.sh"
changes=500
ovxctl_changes=250
registries=etcd,file
build_dir=${OVX_BUILD_DIR:-$here/../build}
for arg in "$@"; do
  case $arg in
    --changes=*) changes=${arg#*=} ;;
    --ovxctl-changes=*) ovxctl_changes=${arg#*=} ;;
    --registries=*) registries=${arg#*=} ;;
    --build-dir=*) build_dir=${arg#*=} ;;
    -h | --help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "etcd_propagation.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done
[[ $(id -u) -eq 0 ]] || die "run as root"
bin() {
  local f
  f=$(find "$build_dir" -type f -name "$1" -perm -u+x 2>/dev/null | head -1)
  [[ -n $f ]] || die "$1 not found under $build_dir"
  echo "$f"
}
# shellcheck disable=SC2034  # used by lib/etcd_node.sh
OVX_LOADER=$(bin ovx-loader) || exit 1
OVX_CONTROLLER=$(bin ovx-controller) || exit 1
OVXCTL=$(bin ovxctl) || exit 1
REGBENCH=$(bin ovx_registry_bench) || exit 1
PROPAGATION=$(bin ovx_propagation) || exit 1
BENCH_TMP=$(mktemp -d /tmp/ovxb-etcdprop.XXXXXX)
BENCH_TMPDIRS+=("$BENCH_TMP")
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

results=()
IFS=, read -r -a REGS <<<"$registries"
for reg in "${REGS[@]}"; do
  name=prop-$reg
  node_up "$name"
  case $reg in
    etcd) node_etcd "$name" ;;
    file) NODE_REGISTRY="file:$BENCH_TMP/$name-registry.json" ;;
    *) die "unknown registry $reg (etcd, file)" ;;
  esac
  # The node "scale" with its local endpoint local0 on ep0, one other node r0.
  nsx "$NODE_NS" "$REGBENCH" fill --registry="$NODE_REGISTRY" --endpoints=0 \
    --remote_nodes=1 2>"$BENCH_TMP/$name-fill.log" ||
    die "$reg: fill: $(tail -3 "$BENCH_TMP/$name-fill.log")"
  ctrl_log=$BENCH_TMP/$name-controller.log
  bg_start "$NODE_NS" "$ctrl_log" "$OVX_CONTROLLER" --node=scale \
    --registry="$NODE_REGISTRY" --bpffs="$NODE_BPFFS" >/dev/null
  wait_reconciled "$ctrl_log"
  log "$reg: $changes adds + $changes removes through the library"
  nsx "$NODE_NS" "$REGBENCH" propagate --registry="$NODE_REGISTRY" \
    --bpffs="$NODE_BPFFS" --node=r0 --changes="$changes" \
    >"$BENCH_TMP/$name-lib.json" 2>"$BENCH_TMP/$name-lib.err" ||
    die "$reg: propagate: $(cat "$BENCH_TMP/$name-lib.err") (controller: $(tail -3 "$ctrl_log"))"
  ovxctl_json=null
  if ((ovxctl_changes > 0)); then
    log "$reg: $ovxctl_changes adds + $ovxctl_changes removes with ovxctl"
    nsx "$NODE_NS" "$PROPAGATION" --bpffs="$NODE_BPFFS" --ovxctl="$OVXCTL" \
      --registry="$NODE_REGISTRY" --network=scale --vni=100 --node=r0 \
      --subnet_base=10.112.0.0 --changes="$ovxctl_changes" \
      >"$BENCH_TMP/$name-ovxctl.json" 2>"$BENCH_TMP/$name-ovxctl.err" ||
      die "$reg: ovxctl propagation: $(cat "$BENCH_TMP/$name-ovxctl.err")"
    ovxctl_json=$(cat "$BENCH_TMP/$name-ovxctl.json")
  fi
  results+=("$(jq -n --arg reg "$reg" --argjson lib "$(cat "$BENCH_TMP/$name-lib.json")" \
    --argjson ovxctl "$ovxctl_json" '{registry: $reg, library: $lib, ovxctl: $ovxctl}')")
  log "$reg: library after_write p50 $(jq .after_write.p50_ms "$BENCH_TMP/$name-lib.json") ms," \
    "p99 $(jq .after_write.p99_ms "$BENCH_TMP/$name-lib.json") ms"
  bench_teardown
done
printf '%s\n' "${results[@]}" | jq -s --arg kernel "$(uname -r)" --argjson nproc "$(nproc)" \
  --arg cpu "$(lscpu | sed -n 's/^Model name: *//p' | head -1)" \
  --arg etcd "$(etcd --version 2>/dev/null | head -1)" \
  '{machine: {kernel: $kernel, nproc: $nproc, cpu: $cpu, etcd: $etcd}, results: .}'
