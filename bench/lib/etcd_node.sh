# shellcheck shell=bash disable=SC2034  # OVX_LOADER, NODE_* are set for the caller
# bench/lib/etcd_node.sh - a node under test for the registry benchmarks
# (etcd_propagation.sh, controller_scale.sh): a netns with an underlay veth
# (ul0, VTEP 192.168.90.1), a local endpoint veth (ep0), a bpffs of its own
# with ovx attached, and optionally a single-member etcd on the namespace's
# loopback (the namespace is unique to the run, so its ports are free).
# Everything is registered with lib/common.sh's cleanup.

# node_up NAME: sets NODE_NS and NODE_BPFFS; ovx-loader attached.
node_up() {
  local name=$1
  NODE_NS="${BENCH_TAG}-$name"
  NODE_BPFFS="$BENCH_TMP/$name-bpffs"
  netns_add "$NODE_NS"
  ip -n "$NODE_NS" link add ul0 type veth peer name ul0p || die "$name: veth ul0"
  ip -n "$NODE_NS" link add ep0 type veth peer name ep0p || die "$name: veth ep0"
  local l
  for l in ul0 ul0p ep0 ep0p; do ip -n "$NODE_NS" link set "$l" up; done
  ip -n "$NODE_NS" addr add 192.168.90.1/24 dev ul0
  bpffs_mount "$NODE_BPFFS"
  nsx "$NODE_NS" "$OVX_LOADER" attach --iface=ul0 --vtep=192.168.90.1 \
    --bpffs="$NODE_BPFFS" >"$BENCH_TMP/$name-loader.log" 2>&1 ||
    die "$name: ovx-loader attach: $(tail -3 "$BENCH_TMP/$name-loader.log")"
}

# node_etcd NAME [extra etcd flags]: etcd on 127.0.0.1:2379 in NODE_NS, data
# in the temp dir; sets NODE_REGISTRY.
node_etcd() {
  local name=$1
  shift
  local etcd_bin=${OVX_ETCD:-$(command -v etcd || true)}
  [[ -n $etcd_bin ]] || die "no etcd binary (scripts/install-deps.sh, or OVX_ETCD)"
  bg_start "$NODE_NS" "$BENCH_TMP/$name-etcd.log" "$etcd_bin" --name "$name" \
    --data-dir "$BENCH_TMP/$name-etcd" \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster "$name=http://127.0.0.1:2380" --initial-cluster-state new \
    --initial-cluster-token "$BENCH_TAG-$name" "$@" >/dev/null
  local i
  for ((i = 0; i < 150; i++)); do
    nsx "$NODE_NS" etcdctl --endpoints=http://127.0.0.1:2379 --command-timeout=1s \
      endpoint health >/dev/null 2>&1 && break
    sleep 0.1
  done
  ((i < 150)) || die "$name: etcd not healthy: $(tail -3 "$BENCH_TMP/$name-etcd.log")"
  NODE_REGISTRY=etcd://127.0.0.1:2379
}

# wait_reconciled LOG: a controller's first reconcile summary.
wait_reconciled() {
  local i
  for ((i = 0; i < 300; i++)); do
    grep -q 'reconciled revision=' "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  die "ovx-controller never reconciled: $(tail -3 "$1")"
}
