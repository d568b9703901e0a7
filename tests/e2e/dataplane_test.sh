#!/usr/bin/env bash
# dataplane_test: two hosts on a direct underlay veth pair, containers in two
# networks, the real programs attached by ovx-loader and the maps filled
# directly (no controller). Shows that same-network traffic flows (across
# hosts, and on one host) with intact 100 MB TCP transfers, that every
# cross-network pair is blocked by the dataplane, that the underlay carries
# only VXLAN with the right VNI, and that the counters moved.
#
#   h1 (192.168.50.1)                      h2 (192.168.50.2)
#     a1 10.10.0.1  vni 100                  a2 10.10.0.2  vni 100
#     a3 10.10.0.3  vni 100                  b2 10.20.0.2  vni 200
#     b1 10.20.0.1  vni 200
#   h1 eth0 <------------ veth ------------> h2 eth0
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_require_root
e2e_build_dir ovx-loader ovx-test-mapfill
e2e_init

heading "topology"
host_add h1 192.168.50.1
host_add h2 192.168.50.2
underlay_pair h1 h2
container_add h1 a1 10.10.0.1/24
container_add h1 a3 10.10.0.3/24
container_add h1 b1 10.20.0.1/24
container_add h2 a2 10.10.0.2/24
container_add h2 b2 10.20.0.2/24
CT_VNI=([a1]=100 [a3]=100 [a2]=100 [b1]=200 [b2]=200)
BLUE=(a1 a3 a2)
RED=(b1 b2)
underlay_check

heading "attach ovx and fill the maps"
ovx_attach_all
for h in h1 h2; do
  expect_ingress "$h"
done
# Cross-network destinations get a static neighbour, so packets really reach
# the dataplane instead of dying on an unanswered ARP.
for c in "${BLUE[@]}"; do
  for d in "${RED[@]}"; do
    static_neigh "$c" "${CT_IP[$d]}" "${CT_MAC[$d]}"
    static_neigh "$d" "${CT_IP[$c]}" "${CT_MAC[$c]}"
  done
done
mapfill h1 dump endpoints | sed 's/^/  h1 endpoints: /'

heading "same network: ping, across hosts and on one host (underlay captured)"
wire_capture_start wire
encap_before=$(counter h1 egress forward-encap)
decap_before=$(($(counter h2 ingress forward-decap) + $(counter h2 ingress forward-decap-peer)))
expect_ping_ok a1 a2
expect_ping_ok a2 a1
expect_ping_ok a3 a2
expect_ping_ok b1 b2
expect_ping_ok b2 b1
expect_ping_ok a1 a3
expect_ping_ok a3 a1
expect_tcp_ok a1 a2 2
expect_tcp_ok b2 b1 2

heading "different networks: ping and TCP must fail, both ways"
# The sender's dataplane drops these: only the sender's network is searched
# for the destination, so it is counted as no-endpoint (egress).
noep() { echo $(($(counter h1 egress no-endpoint) + $(counter h2 egress no-endpoint))); }
cross_before=$(noep)
cross_sent=0
for c in "${BLUE[@]}"; do
  for d in "${RED[@]}"; do
    expect_ping_fail "$c" "$d"
    expect_ping_fail "$d" "$c"
    expect_tcp_fail "$c" "$d"
    cross_sent=$((cross_sent + 2 + 2 + 1)) # 2 echo requests each way, >= 1 SYN
  done
done
wire_capture_stop
cross_after=$(noep)
check "egress no-endpoint drops grew by >= the $cross_sent packets sent ($cross_before -> $cross_after)" \
  test $((cross_after - cross_before)) -ge "$cross_sent"

heading "on the wire (what h1 and h2 sent): VXLAN only, right VNI, nothing in the clear"
pcap_vxlan "${WIRE_PCAPS[@]}" >"$RUN_DIR/vxlan.txt"
n_vxlan=$(wc -l <"$RUN_DIR/vxlan.txt")
log "$n_vxlan VXLAN frames captured; first ones:"
head -n 4 "$RUN_DIR/vxlan.txt" | sed 's/^/    /'
check "VXLAN frames on UDP/4789 seen ($n_vxlan)" test "$n_vxlan" -gt 20
check "every VXLAN header has the I flag (0x08)" \
  bash -c "! grep -v '^flags=08 ' '$RUN_DIR/vxlan.txt'"
check "inner 10.10/16 traffic carries VNI 100, both ways" \
  bash -c "grep -q 'vni=100 outer=192.168.50.1>192.168.50.2 inner=10.10.0.1>10.10.0.2' '$RUN_DIR/vxlan.txt' &&
           grep -q 'vni=100 outer=192.168.50.2>192.168.50.1 inner=10.10.0.2>10.10.0.1' '$RUN_DIR/vxlan.txt' &&
           ! grep 'inner=10.10.' '$RUN_DIR/vxlan.txt' | grep -v ' vni=100 '"
check "inner 10.20/16 traffic carries VNI 200" \
  bash -c "grep -q 'vni=200 outer=192.168.50.2>192.168.50.1 inner=10.20.0.2>10.20.0.1' '$RUN_DIR/vxlan.txt' &&
           ! grep 'inner=10.20.' '$RUN_DIR/vxlan.txt' | grep -v ' vni=200 '"
check "no cross-network packet was encapsulated" \
  bash -c "! grep -E 'inner=10\.10\.[0-9.]+>10\.20\.|inner=10\.20\.[0-9.]+>10\.10\.' '$RUN_DIR/vxlan.txt'"
check "same-host traffic (a1<->a3) never touched the underlay" \
  bash -c "! grep -E 'inner=10\.10\.0\.(1>10\.10\.0\.3|3>10\.10\.0\.1) ' '$RUN_DIR/vxlan.txt'"
n_clear=$(pcap_count 'ip and (icmp or tcp) and net 10.0.0.0/8' "${WIRE_PCAPS[@]}")
check "no overlay ICMP/TCP in the clear on the underlay ($n_clear)" test "$n_clear" -eq 0
n_arp=$(pcap_count 'arp and net 10.0.0.0/8' "${WIRE_PCAPS[@]}")
check "no overlay ARP on the underlay ($n_arp)" test "$n_arp" -eq 0

heading "100 MB TCP transfers, sha256 compared"
expect_tcp_ok a1 a2 100
expect_tcp_ok a2 a1 100
expect_tcp_ok a1 a3 100

heading "counters"
status_json=$RUN_DIR/status-h1.json
if ovx_status_json h1 >"$status_json" 2>"$RUN_DIR/logs/status-h1.log"; then
  check "ovx-loader status --json is valid JSON" jq -e . "$status_json"
else
  fail "ovx-loader status --json on h1 failed: $(tail -n 3 "$RUN_DIR/logs/status-h1.log")"
fi
encap_after=$(counter h1 egress forward-encap)
decap_after=$(($(counter h2 ingress forward-decap) + $(counter h2 ingress forward-decap-peer)))
local_after=$(counter h1 egress forward-local)
arp_after=$(counter h1 egress arp-reply)
check "h1 forward-encap moved ($encap_before -> $encap_after)" test "$encap_after" -gt "$encap_before"
check "h2 decap counters moved ($decap_before -> $decap_after)" test "$decap_after" -gt "$decap_before"
check "h1 forward-local counted same-host traffic ($local_after)" test "$local_after" -gt 0
check "h1 answered ARP in BPF ($arp_after)" test "$arp_after" -gt 0
ovx_loader h1 status --bpffs="${HOST_BPFFS[h1]}" | sed -n '/^counters:/,$p'

e2e_finish
