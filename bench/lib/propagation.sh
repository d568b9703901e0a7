# bench/lib/propagation.sh - ovxctl -> remote map propagation, p50/p99.
# A node "n2" in its own netns runs ovx-loader + ovx-controller on a file
# registry; ovx_propagation adds endpoints on node "n1" with ovxctl and
# times until n2's controller has them in its pinned endpoints map (then
# removes them, timed the same way).

# propagation_run OVXCTL CONTROLLER LOADER PROBE CHANGES OUTFILE
propagation_run() {
  local ovxctl=$1 controller=$2 loader=$3 probe=$4 changes=$5 out=$6
  local ns="${BENCH_TAG}-prop" fs="$BENCH_TMP/prop-bpffs"
  local reg="file:$BENCH_TMP/prop-registry.json" logf="$BENCH_TMP/prop.log"
  netns_add "$ns"
  ip -n "$ns" link add ul0 type veth peer name ul0p || die "propagation: veth"
  ip -n "$ns" link set ul0 up
  ip -n "$ns" link set ul0p up
  ip -n "$ns" addr add 192.168.77.2/24 dev ul0
  # A local endpoint of the network on n2: a node only holds the remote
  # endpoints of networks it has endpoints in.
  ip -n "$ns" link add ep0 type veth peer name ep0p || die "propagation: veth ep0"
  ip -n "$ns" link set ep0 up
  ip -n "$ns" link set ep0p up
  bpffs_mount "$fs"
  {
    "$ovxctl" --registry="$reg" network create bench --vni=100 --subnet=10.50.0.0/16 &&
      "$ovxctl" --registry="$reg" node add n1 --vtep=192.168.77.1 &&
      "$ovxctl" --registry="$reg" node add n2 --vtep=192.168.77.2 &&
      "$ovxctl" --registry="$reg" endpoint add local0 --network=bench --node=n2 \
        --iface=ep0 --ip=10.50.255.1 --mac=02:0e:ff:00:00:01 &&
      nsx "$ns" "$loader" attach --iface=ul0 --vtep=192.168.77.2 --bpffs="$fs"
  } >"$logf" 2>&1 || die "propagation setup: $(tail -3 "$logf")"
  bg_start "$ns" "$BENCH_TMP/prop-controller.log" "$controller" --node=n2 \
    --registry="$reg" --bpffs="$fs" >/dev/null
  local i
  for ((i = 0; i < 100; i++)); do
    grep -q 'reconciled' "$BENCH_TMP/prop-controller.log" 2>/dev/null && break
    sleep 0.1
  done
  ((i < 100)) || die "propagation: ovx-controller never reconciled: $(tail -3 "$BENCH_TMP/prop-controller.log")"
  nsx "$ns" "$probe" --bpffs="$fs" --ovxctl="$ovxctl" --registry="$reg" \
    --network=bench --vni=100 --node=n1 --changes="$changes" >"$out" 2>"$out.err" ||
    die "propagation: $(cat "$out.err") (controller: $(tail -3 "$BENCH_TMP/prop-controller.log"))"
}
