#!/usr/bin/env bash
# interop_test: ovx talks plain RFC 7348 VXLAN with the Linux kernel's vxlan
# driver. One host runs a Linux vxlan device + bridge with static FDB and
# neighbour entries (no learning, no flooding); the other runs ovx with its
# maps filled directly: the Linux host is a registered VTEP and its container
# a remote endpoint of VNI 100.
#
#   lx (192.168.50.1, plain Linux)             ov (192.168.50.2, ovx)
#     l1 10.10.0.1 -- br100 -- vxlan100          o1 10.10.0.2  vni 100
#   lx eth0 <---------------- veth ----------------> ov eth0
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_require_root
e2e_build_dir ovx-loader ovx-test-mapfill
e2e_init

heading "topology"
host_add lx 192.168.50.1
host_add ov 192.168.50.2
HOST_FOREIGN[lx]=1
underlay_pair lx ov
container_add lx l1 10.10.0.1/24
container_add ov o1 10.10.0.2/24
CT_VNI=([l1]=100 [o1]=100)
underlay_check

heading "Linux side: vxlan100 + br100, static FDB, no learning"
lxns=${HOST_NS[lx]}
ip -n "$lxns" link add vxlan100 type vxlan id 100 dstport 4789 \
  local "${HOST_VTEP[lx]}" dev eth0 nolearning
ip -n "$lxns" link add br100 type bridge
ip -n "$lxns" link set vxlan100 master br100 mtu 1450
ip -n "$lxns" link set "${CT_IFACE[l1]}" master br100
ip -n "$lxns" link set vxlan100 up
ip -n "$lxns" link set br100 up
# The ovx container's MAC lives behind the ovx VTEP: one FDB entry in the
# vxlan device (where to send) and one in the bridge (which port).
bridge -n "$lxns" fdb append "${CT_MAC[o1]}" dev vxlan100 dst "${HOST_VTEP[ov]}"
bridge -n "$lxns" fdb add "${CT_MAC[o1]}" dev vxlan100 master static
static_neigh l1 "${CT_IP[o1]}" "${CT_MAC[o1]}"
bridge -n "$lxns" fdb show dev vxlan100 | sed 's/^/  lx fdb: /'

heading "ovx side: attach, maps (lx is a VTEP, l1 a remote endpoint)"
ovx_attach_host ov
expect_ingress ov
ovx_attach_endpoint o1
mapfill_topology
mapfill ov dump endpoints | sed 's/^/  ov endpoints: /'
mapfill ov dump vtep_vnis | sed 's/^/  ov vtep_vnis: /'

heading "traffic both ways"
wire_capture_start wire
decap_before=$(($(counter ov ingress forward-decap) + $(counter ov ingress forward-decap-peer)))
expect_ping_ok o1 l1
expect_ping_ok l1 o1
expect_tcp_ok o1 l1 20
expect_tcp_ok l1 o1 20
wire_capture_stop

heading "on the wire (what lx and ov sent)"
pcap_vxlan "${WIRE_PCAPS[@]}" >"$RUN_DIR/vxlan.txt"
head -n 2 "$RUN_DIR/vxlan.txt" | sed 's/^/    /'
check "ovx -> Linux frames are VXLAN VNI 100" \
  grep -q 'flags=08 vni=100 outer=192.168.50.2>192.168.50.1 inner=10.10.0.2>10.10.0.1' "$RUN_DIR/vxlan.txt"
check "Linux -> ovx frames are VXLAN VNI 100" \
  grep -q 'flags=08 vni=100 outer=192.168.50.1>192.168.50.2 inner=10.10.0.1>10.10.0.2' "$RUN_DIR/vxlan.txt"
n_clear=$(pcap_count 'ip and (icmp or tcp) and net 10.0.0.0/8' "${WIRE_PCAPS[@]}")
check "nothing in the clear on the underlay ($n_clear)" test "$n_clear" -eq 0
n_arp=$(pcap_count 'arp and net 10.0.0.0/8' "${WIRE_PCAPS[@]}")
check "no overlay ARP crossed the underlay ($n_arp)" test "$n_arp" -eq 0

decap_after=$(($(counter ov ingress forward-decap) + $(counter ov ingress forward-decap-peer)))
check "ovx decapsulated the Linux VTEP's packets ($decap_before -> $decap_after)" \
  test "$decap_after" -gt "$decap_before"
drops=$(($(counter ov ingress unknown-vtep) + $(counter ov ingress vtep-not-in-vni) +
  $(counter ov ingress inner-src-invalid)))
check "no Linux packet refused as foreign ($drops)" test "$drops" -eq 0

e2e_finish
