# bench/lib/topo.sh - the two-host topology, carried three ways.
#
#   c1 [eth0] ==veth== [vc1] h1 [ul0] ==veth underlay== [ul0] h2 [vc2] ==veth== [eth0] c2
#
# Every path gets its own four namespaces (<tag>-<path>-{h1,h2,c1,c2}) so all
# paths exist at once and the rounds can interleave them. Interfaces are
# created directly inside their namespace, so names never clash.
#   plain   routed veth, no overlay: each host routes the other's container
#           subnet via the underlay (what a flat L3 / Calico-style net does).
#   plain-1450 the same with its containers at the overlays' MTU: what plain
#           loses to the MTU alone, told apart from what the tunnel costs.
#   kvxlan  Linux vxlan device + bridge per host, static fdb and neighbours
#           (what Docker's overlay driver and Flannel's vxlan backend do),
#           with the kernel's default outer UDP checksum.
#   kvxlan-nocsum  the same with noudpcsum: checksum 0, as ovx sends.
#   ovx     ovx-loader on the underlay and on vc*, maps filled by
#           ovx-test-mapfill; no vxlan device, no bridge. Loader defaults:
#           --ingress=auto, which is TC ingress on this veth underlay (no
#           XDP: GSO packets cross the veth whole and are decapsulated once),
#           with the tunnel GRO device ovx-gro-4789 (GRO merges VXLAN before
#           tc_underlay where the underlay does GRO: the nic profile).
#   ovx-xdpin ovx with --ingress=xdp (XDP checks and decapsulates, tc
#           redirects): what auto picks on a physical NIC.
#   ovx-xdp ovx with --ingress=xdp --decap-delivery=xdp (XDP_REDIRECT into
#           the veth; needs GRO on the container's eth0 for NAPI).
#   ovx-gro ovx with --ingress=xdp (tc delivery) and GRO on the underlay and
#           the container's eth0.
# Underlay 192.168.77.1/.2; overlay containers get MTU underlay-50.

UL1=192.168.77.1
UL2=192.168.77.2
MAC_C1=02:0b:00:00:00:01
MAC_C2=02:0b:00:00:00:02
VNI=100

declare -A TOPO_DST    # path -> c2's address (the server)
declare -A TOPO_BPFFS  # path -> "h1dir h2dir" for ovx paths

ns_of() { echo "${BENCH_TAG}-$1-$2"; }  # ns_of PATH h1|h2|c1|c2

# topo_base PATH PROFILE CMTU: namespaces, underlay, container veths.
# PROFILE: veth, nic or nic-nocsum (run.sh's PROFILE_NOTES).
topo_base() {
  local p=$1 profile=$2 cmtu=$3
  local h1 h2 c1 c2
  h1=$(ns_of "$p" h1); h2=$(ns_of "$p" h2); c1=$(ns_of "$p" c1); c2=$(ns_of "$p" c2)
  for n in "$h1" "$h2" "$c1" "$c2"; do netns_add "$n"; done
  ip link add ul0 netns "$h1" type veth peer name ul0 netns "$h2" || die "$p: underlay veth"
  ip -n "$h1" addr add $UL1/24 dev ul0
  ip -n "$h2" addr add $UL2/24 dev ul0
  ip link add vc1 netns "$h1" type veth peer name eth0 netns "$c1" || die "$p: veth c1"
  ip link add vc2 netns "$h2" type veth peer name eth0 netns "$c2" || die "$p: veth c2"
  ip -n "$c1" link set eth0 address $MAC_C1 mtu "$cmtu"
  ip -n "$c2" link set eth0 address $MAC_C2 mtu "$cmtu"
  if [[ -n ${BENCH_TCP_CC:-} ]]; then
    for n in "$c1" "$c2"; do
      nsx "$n" sysctl -qw net.ipv4.tcp_congestion_control="$BENCH_TCP_CC" ||
        die "$p: tcp_congestion_control=$BENCH_TCP_CC in $n"
    done
  fi
  local h
  for h in "$h1" "$h2"; do
    ip -n "$h" link set ul0 mtu 1500
    if [[ $profile == nic* ]]; then
      # Closer to a real NIC: no segmentation offloads on the underlay, and
      # GRO on, as a NIC driver has it by default.
      nsx "$h" ethtool -K ul0 tso off gso off gro on >/dev/null 2>&1 ||
        die "$p: ethtool -K ul0 on $h"
    fi
    if [[ $profile == nic-nocsum ]]; then
      # Nor checksum offload: every checksum is summed in software, the
      # outer UDP one included.
      nsx "$h" ethtool -K ul0 tx off >/dev/null 2>&1 || die "$p: tx off on ul0 on $h"
    fi
    ip -n "$h" link set ul0 up
    nsx "$h" sysctl -qw net.ipv4.ip_forward=1
  done
  ip -n "$h1" link set vc1 up
  ip -n "$h2" link set vc2 up
  ip -n "$c1" link set eth0 up
  ip -n "$c2" link set eth0 up
}

# topo_plain PROFILE [PATHNAME CMTU]
topo_plain() {
  local profile=$1 p=${2:-plain} cmtu=${3:-1500}
  topo_base $p "$profile" "$cmtu"
  local h1 h2 c1 c2
  h1=$(ns_of $p h1); h2=$(ns_of $p h2); c1=$(ns_of $p c1); c2=$(ns_of $p c2)
  ip -n "$h1" addr add 10.20.1.1/24 dev vc1
  ip -n "$h2" addr add 10.20.2.1/24 dev vc2
  ip -n "$c1" addr add 10.20.1.2/24 dev eth0
  ip -n "$c2" addr add 10.20.2.2/24 dev eth0
  ip -n "$c1" route add default via 10.20.1.1
  ip -n "$c2" route add default via 10.20.2.1
  ip -n "$h1" route add 10.20.2.0/24 via $UL2
  ip -n "$h2" route add 10.20.1.0/24 via $UL1
  TOPO_DST[$p]=10.20.2.2
}

# topo_kvxlan PROFILE [PATHNAME udpcsum|noudpcsum]: the kernel's vxlan device
# behind a bridge. kvxlan keeps the kernel's default, an outer UDP checksum
# (udpcsum): Docker's overlay and Flannel do not set it, so they get that.
# kvxlan-nocsum sends 0 there, as ovx does.
topo_kvxlan() {
  local profile=$1 p=${2:-kvxlan} csum=${3:-udpcsum}
  topo_base $p "$profile" 1450
  local h c i local_ul peer_ul vc peer_mac
  for i in 1 2; do
    h=$(ns_of $p h$i); c=$(ns_of $p c$i); vc=vc$i
    if ((i == 1)); then local_ul=$UL1 peer_ul=$UL2 peer_mac=$MAC_C2
    else local_ul=$UL2 peer_ul=$UL1 peer_mac=$MAC_C1; fi
    ip -n "$h" link add vx0 type vxlan id $VNI local "$local_ul" dev ul0 \
      dstport 4789 nolearning $csum || die "$p: vxlan device"
    ip -n "$h" link add br0 type bridge || die "$p: bridge"
    ip -n "$h" link set vx0 master br0
    ip -n "$h" link set "$vc" master br0
    ip -n "$h" link set vx0 up
    ip -n "$h" link set br0 up
    # Static fdb, as Docker's overlay programs it: peer container's MAC ->
    # peer VTEP (plus the all-zero entry for broadcast).
    nsx "$h" bridge fdb append 00:00:00:00:00:00 dev vx0 dst "$peer_ul"
    nsx "$h" bridge fdb add "$peer_mac" dev vx0 dst "$peer_ul" self permanent
    ip -n "$c" addr add 10.30.0.$i/24 dev eth0
  done
  ip -n "$(ns_of $p c1)" neigh add 10.30.0.2 lladdr $MAC_C2 dev eth0 nud permanent
  ip -n "$(ns_of $p c2)" neigh add 10.30.0.1 lladdr $MAC_C1 dev eth0 nud permanent
  TOPO_DST[$p]=10.30.0.2
}

topo_teardown() { bench_teardown; }

# topo_ovx PROFILE PATHNAME tc|xdp [gro] [INGRESS]: INGRESS is ovx-loader's
# --ingress (default: the loader's); "gro" turns GRO on in the
# containers' eth0 (always on for xdp delivery, which needs it) and on the
# underlay (where the veth profile has veth's default, GRO off).
topo_ovx() {
  local profile=$1 p=$2 delivery=$3 gro=${4:-} ingress=${5:-}
  topo_base "$p" "$profile" 1450
  local i h c fs local_ul peer_ul
  for i in 1 2; do
    h=$(ns_of "$p" h$i); c=$(ns_of "$p" c$i); fs=$BENCH_TMP/$p-h$i-bpffs
    if ((i == 1)); then local_ul=$UL1 peer_ul=$UL2; else local_ul=$UL2 peer_ul=$UL1; fi
    bpffs_mount "$fs"
    nsx "$h" "$OVX_LOADER" attach --iface=ul0 --vtep="$local_ul" --bpffs="$fs" \
      --decap-delivery="$delivery" ${ingress:+--ingress="$ingress"} \
      ${BENCH_BIG_TCP:+--big-tcp="$BENCH_BIG_TCP"} >"$BENCH_TMP/$p-h$i-loader.log" 2>&1 ||
      die "$p: ovx-loader attach ul0 on h$i: $(tail -3 "$BENCH_TMP/$p-h$i-loader.log")"
    [[ -z ${BENCH_BIG_TCP:-} ]] ||
      grep -q "^big-tcp: ul0 gso_ipv4_max_size $BENCH_BIG_TCP, gro_ipv4_max_size $BENCH_BIG_TCP;" \
        "$BENCH_TMP/$p-h$i-loader.log" ||
      die "$p: no BIG TCP on h$i's ul0: $(grep big-tcp "$BENCH_TMP/$p-h$i-loader.log")"
    # The hook measured is the one the path names (auto is tc on a veth).
    grep -q "^ingress: ${ingress:-tc} (" "$BENCH_TMP/$p-h$i-loader.log" ||
      die "$p: ingress on h$i is not ${ingress:-tc}: $(head -1 "$BENCH_TMP/$p-h$i-loader.log")"
    if [[ ${ingress:-tc} == tc ]]; then
      grep -q "^tunnel-gro: ovx-gro-4789 (" "$BENCH_TMP/$p-h$i-loader.log" ||
        die "$p: no tunnel GRO device on h$i: $(grep tunnel-gro "$BENCH_TMP/$p-h$i-loader.log")"
    fi
    nsx "$h" "$OVX_LOADER" attach --iface=vc$i --endpoint --bpffs="$fs" \
      >>"$BENCH_TMP/$p-h$i-loader.log" 2>&1 ||
      die "$p: ovx-loader attach vc$i on h$i: $(tail -3 "$BENCH_TMP/$p-h$i-loader.log")"
    ip -n "$c" addr add 10.40.0.$i/24 dev eth0
    if [[ $delivery == xdp ]]; then
      # A veth carries CHECKSUM_PARTIAL skbs with the inner TCP checksum not
      # yet filled in; XDP_REDIRECT turns them into xdp frames and the state
      # is lost, so c2 drops every TCP segment (TcpInCsumErrors). A real NIC
      # fills checksums on the wire: ask the underlay veth to do the same.
      nsx "$h" ethtool -K ul0 tx off >/dev/null 2>&1 || die "$p: tx off on ul0"
    fi
    if [[ $delivery == xdp || $gro == gro ]]; then
      # XDP_REDIRECT into a veth needs NAPI on the receiving end: GRO on.
      nsx "$c" ethtool -K eth0 gro on >/dev/null 2>&1 || die "$p: gro on c$i eth0"
    fi
    if [[ $gro == gro ]]; then
      # With tc delivery the inner packets leave XDP already decapsulated;
      # GRO on the underlay can merge them before the tc half runs.
      nsx "$h" ethtool -K ul0 gro on >/dev/null 2>&1 || die "$p: gro on ul0"
    fi
  done
  ovx_fill "$p"
  TOPO_DST[$p]=10.40.0.2
}

# topo_big_tcp PATH SIZE: IPv4 BIG TCP (gso_ipv4_max_size capped at each
# device's tso_max_size, gro_ipv4_max_size) on every device of the path's
# four namespaces, as an operator turning it on would; ovx's underlays
# already have it from `attach --big-tcp` (topo_ovx). $root: the repo.
topo_big_tcp() {
  local p=$1 size=$2 n dev
  for n in h1 h2 c1 c2; do
    n=$(ns_of "$p" $n)
    for dev in $(ip -n "$n" -j link show | jq -r '.[].ifname | select(. != "lo")'); do
      [[ $p != ovx* || $dev != ul0 ]] || continue
      nsx "$n" python3 "$root/scripts/set-big-tcp.py" "$dev" "$size" ||
        die "$p: BIG TCP on $dev in $n"
    done
  done
}

# ovx_fill PATH: both hosts' maps, as the controller would compute them
# (through ovx-test-mapfill, which writes via the typed map wrappers).
ovx_fill() {
  local p=$1 i h fs idx ip mac peer_ip peer_mac peer_ul
  for i in 1 2; do
    h=$(ns_of "$p" h$i); fs=$BENCH_TMP/$p-h$i-bpffs
    ip=10.40.0.$i peer_ip=10.40.0.$((3 - i))
    if ((i == 1)); then mac=$MAC_C1 peer_mac=$MAC_C2 peer_ul=$UL2
    else mac=$MAC_C2 peer_mac=$MAC_C1 peer_ul=$UL1; fi
    idx=$(nsx "$h" cat /sys/class/net/vc$i/ifindex) || die "$p: ifindex of vc$i"
    local -a cmds=(
      "network --vni=$VNI --mtu=1450"
      "endpoint-local --vni=$VNI --ip=$ip --mac=$mac --ifindex=$idx --identity=$i"
      "interface --vni=$VNI --ip=$ip --mac=$mac --ifindex=$idx --identity=$i"
      "endpoint-remote --vni=$VNI --ip=$peer_ip --mac=$peer_mac --vtep=$peer_ul --identity=$((3 - i))"
      "vtep --ip=$peer_ul --node_id=$((3 - i))"
      "vtep-vni --ip=$peer_ul --vni=$VNI --count=1"
    )
    local c
    for c in "${cmds[@]}"; do
      # shellcheck disable=SC2086  # c is a word list on purpose
      nsx "$h" "$OVX_MAPFILL" --bpffs="$fs" $c >>"$BENCH_TMP/$p-h$i-loader.log" 2>&1 ||
        die "$p: ovx-test-mapfill $c on h$i: $(tail -3 "$BENCH_TMP/$p-h$i-loader.log")"
    done
  done
}
