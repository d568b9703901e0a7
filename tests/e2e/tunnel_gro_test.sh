#!/usr/bin/env bash
# tunnel_gro_test: the loader's tunnel GRO device under TC ingress, on an
# underlay that looks like a NIC without segmentation offloads (MTU 1500,
# tso/gso off, GRO on). Shows that attach opens ovx-gro-4789 (a vxlan
# device in metadata mode, no address) with tc_tunnel_fence on it; that
# with it GRO merges the tunnelled TCP before tc_underlay decapsulates
# (fewer decapsulations than VXLAN frames on the wire) and without it
# (--notunnel-gro) every frame is decapsulated alone; that VXLAN the kernel
# decapsulates around ovx (to another address of the host) is dropped by
# the fence with its exact counter and never reaches a container; that a
# datagram's inner checksum, completed in software on the underlay, is
# right on the wire; and that detach removes the device.
#
#   h1 (192.168.50.1)                      h2 (192.168.50.2, also .12)
#     a1 10.10.0.1  vni 100                  a2 10.10.0.2  vni 100
#   h1 eth0 <------------ veth ------------> h2 eth0
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_require_root
command -v python3 >/dev/null || die "missing tool 'python3'"
e2e_build_dir ovx-loader ovx-test-mapfill
e2e_init

GRO_DEV=ovx-gro-4789
H2_OTHER=192.168.50.12

heading "topology: a NIC-like underlay (tso/gso off, GRO on)"
host_add h1 192.168.50.1
host_add h2 192.168.50.2
underlay_pair h1 h2
for h in h1 h2; do
  hexec "$h" ethtool -K eth0 tso off gso off gro on >/dev/null ||
    die "ethtool -K eth0 on $h"
done
ip -n "${HOST_NS[h2]}" addr add "$H2_OTHER/$UNDERLAY_PREFIX" dev eth0
container_add h1 a1 10.10.0.1/24
container_add h2 a2 10.10.0.2/24
CT_VNI=([a1]=100 [a2]=100)
underlay_check

heading "attach: TC ingress opens the fenced tunnel GRO device"
ovx_attach_all --ingress=tc

# gro_row HOST: the device's row in `ovx-loader status --json`, or nothing.
gro_row() {
  ovx_status_json "$1" | jq -c --arg d "$GRO_DEV" '.interfaces[] | select(.iface == $d)'
}
for h in h1 h2; do
  check "$h: attach logged 'tunnel-gro: $GRO_DEV (...)'" \
    grep -q "^tunnel-gro: $GRO_DEV (" "$RUN_DIR/logs/loader-$h.log"
  # These hosts forward nothing themselves (lib.sh's host_add).
  check "$h: attach noted that forwarding is off on eth0" \
    grep -q "^note: net.ipv4.conf.eth0.forwarding is 0, so bpf_fib_lookup() refuses" \
    "$RUN_DIR/logs/loader-$h.log"
  row=$(gro_row "$h")
  check "$h: status lists $GRO_DEV with tc_tunnel_fence on tcx ingress ($row)" \
    test "$(jq -r '"\(.hook) \(.program) \(.prog_id > 0)"' <<<"$row")" = \
    "tcx-ingress tc_tunnel_fence true"
  details=$(ip -n "${HOST_NS[$h]}" -d -j link show "$GRO_DEV")
  check "$h: $GRO_DEV is a vxlan device in metadata mode on port 4789, up" \
    test "$(jq -r '.[0] | "\(.linkinfo.info_kind) \(.linkinfo.info_data.external) \(.linkinfo.info_data.port) \(.operstate != "DOWN")"' <<<"$details")" = \
    "vxlan true 4789 true"
  check "$h: $GRO_DEV has no IPv4 or IPv6 address" \
    test "$(ip -n "${HOST_NS[$h]}" -j addr show dev "$GRO_DEV" | jq '[.[0].addr_info[]] | length')" -eq 0
done

# transfer_frames MB: a1 -> a2 over TCP (sha256 compared); sets FRAMES (what
# h2's eth0 received, before GRO) and DECAPS (what tc_underlay delivered).
# (/sys would show this process's namespace: ask ip.)
rx_packets() {
  ip -n "${HOST_NS[$1]}" -s -j link show eth0 | jq '.[0].stats64.rx.packets'
}
transfer_frames() {
  local rx0 rx1 d0 d1
  rx0=$(rx_packets h2)
  d0=$(counter h2 ingress forward-decap-peer)
  expect_tcp_ok a1 a2 "$1"
  rx1=$(rx_packets h2)
  d1=$(counter h2 ingress forward-decap-peer)
  FRAMES=$((rx1 - rx0))
  DECAPS=$((d1 - d0))
}

heading "with the device, GRO merges VXLAN before tc_underlay"
transfer_frames 20
check "h2 decapsulated $DECAPS packets for $FRAMES frames: at least 2 frames each" \
  test "$DECAPS" -gt 0 -a "$((2 * DECAPS))" -le "$FRAMES"

heading "--notunnel-gro: no device, every frame decapsulated alone"
ovx_attach_host h2 --ingress=tc --notunnel-gro
check "h2: attach logged 'tunnel-gro: off (--notunnel-gro)'" \
  grep -q "^tunnel-gro: off (--notunnel-gro)" "$RUN_DIR/logs/loader-h2.log"
check "h2: $GRO_DEV is gone" bash -c "! ip -n '${HOST_NS[h2]}' link show $GRO_DEV 2>/dev/null"
transfer_frames 5
# Only the odd ARP is not VXLAN: nearly one decapsulation per frame.
check "h2 decapsulated $DECAPS packets for $FRAMES frames: one each" \
  test "$((100 * DECAPS))" -ge "$((95 * FRAMES))"
ovx_attach_host h2 --ingress=tc
check "h2: re-attach opened $GRO_DEV again" test -n "$(gro_row h2)"

heading "another --vxlan-port moves the device"
ovx_attach_host h2 --ingress=tc --vxlan-port=8472
check "h2: ovx-gro-8472 replaces $GRO_DEV" \
  bash -c "ip -n '${HOST_NS[h2]}' link show ovx-gro-8472 >/dev/null &&
           ! ip -n '${HOST_NS[h2]}' link show $GRO_DEV 2>/dev/null"
ovx_attach_host h2 --ingress=tc
check "h2: back on 4789, ovx-gro-8472 is gone" \
  bash -c "ip -n '${HOST_NS[h2]}' link show $GRO_DEV >/dev/null &&
           ! ip -n '${HOST_NS[h2]}' link show ovx-gro-8472 2>/dev/null"

heading "datagrams through an underlay that checksums in software"
# A datagram is encapsulated with bpf_skb_change_head(), which leaves no
# tunnel marks on the skb (TCP's adjust_room path sets them). With tx
# checksumming off on h1's eth0 the kernel completes the container's
# partial UDP checksum there, and it must land in the inner header.
hexec h1 ethtool -K eth0 tx off >/dev/null || die "ethtool -K eth0 tx off on h1"
capture_start h2 eth0 swcsum-wire -Q in udp port 4789
wire_pid=$CAP_PID wire_pcap=$CAP_PCAP
capture_start_ct a2 eth0 swcsum-a2 udp port 5433
a2_pid=$CAP_PID a2_pcap=$CAP_PCAP
cexec a1 python3 - "${CT_IP[a2]}" <<'EOF_PY'
import socket, sys
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for size in (16, 64, 150) * 10:
    sock.sendto(bytes(range(256))[:size], (sys.argv[1], 5433))
EOF_PY
capture_stop "$wire_pid"
capture_stop "$a2_pid"
hexec h1 ethtool -K eth0 tx on >/dev/null || die "ethtool -K eth0 tx on on h1"
# tcpdump decodes VXLAN on 4789 and verifies the inner UDP checksum.
inner=$(tcpdump -r "$wire_pcap" -nn -vv 2>/dev/null | grep -c "\.5433: \[udp sum ok\]" || true)
bad=$(tcpdump -r "$wire_pcap" -nn -vv 2>/dev/null | grep -c "\.5433: \[bad udp cksum" || true)
check "h2's wire: 30 inner datagrams with a valid checksum ($inner), none bad ($bad)" \
  test "$inner" -eq 30 -a "$bad" -eq 0
n=$(pcap_count 'udp port 5433' "$a2_pcap")
check "a2 received all 30 ($n)" test "$n" -eq 30

heading "the fence: VXLAN the kernel decapsulates around ovx is dropped"
# To h2's other address: not the VTEP, so tc_underlay passes it to the
# stack, the kernel's socket decapsulates it onto $GRO_DEV, and the fence
# drops it. The inner frame would be a valid a1 -> a2 packet.
capture_start_ct a2 eth0 fence-a2 udp port 5432
before=$(counter h2 ingress kernel-decapsulated)
pass_before=$(counter h2 ingress pass-not-overlay)
hexec h1 python3 - "$H2_OTHER" "${CT_MAC[a1]}" "${CT_IP[a1]}" "${CT_MAC[a2]}" "${CT_IP[a2]}" <<'EOF'
import socket, struct, sys
dst, smac, src, dmac, idst = sys.argv[1:6]
mac = lambda t: bytes(int(x, 16) for x in t.split(":"))
payload = b"around ovx"
udp = struct.pack("!HHHH", 40000, 5432, 8 + len(payload), 0) + payload
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17,
                 0, socket.inet_aton(src), socket.inet_aton(idst))
s = sum(struct.unpack("!10H", ip))
s = (s & 0xffff) + (s >> 16)
ip = ip[:10] + struct.pack("!H", ~(s + (s >> 16)) & 0xffff) + ip[12:]
inner = mac(dmac) + mac(smac) + b"\x08\x00" + ip + udp
vx = struct.pack("!II", 0x08000000, 100 << 8) + inner
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(3):
    sock.sendto(vx, (dst, 4789))
EOF
sleep 0.3
capture_stop "$CAP_PID"
now=$(counter h2 ingress kernel-decapsulated)
if ((now - before == 3)); then
  pass "h2 ingress kernel-decapsulated moved by exactly 3"
else
  fail "h2 ingress kernel-decapsulated moved by $((now - before)), want 3"
fi
pass_now=$(counter h2 ingress pass-not-overlay)
check "tc_underlay passed them (not its VTEP): pass-not-overlay +$((pass_now - pass_before))" \
  test "$((pass_now - pass_before))" -ge 3
n=$(pcap_count 'udp port 5432' "$CAP_PCAP")
check "a2 saw none of them ($n)" test "$n" -eq 0

heading "detach removes the device"
ovx_loader h2 detach --iface=eth0 --bpffs="${HOST_BPFFS[h2]}" >>"$RUN_DIR/logs/loader-h2.log" 2>&1 ||
  fail "ovx-loader detach --iface=eth0 on h2 failed"
check "h2: $GRO_DEV is gone after detach --iface=eth0" \
  bash -c "! ip -n '${HOST_NS[h2]}' link show $GRO_DEV 2>/dev/null"
ovx_loader h1 detach --all --bpffs="${HOST_BPFFS[h1]}" >>"$RUN_DIR/logs/loader-h1.log" 2>&1 ||
  fail "ovx-loader detach --all on h1 failed"
check "h1: $GRO_DEV is gone after detach --all" \
  bash -c "! ip -n '${HOST_NS[h1]}' link show $GRO_DEV 2>/dev/null"

e2e_finish
