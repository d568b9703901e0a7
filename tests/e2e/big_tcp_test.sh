#!/usr/bin/env bash
# big_tcp_test: IPv4 BIG TCP through the tunnel. `ovx-loader attach
# --big-tcp` raises gso/gro_ipv4_max_size on the underlays; with the same on
# the sender's eth0 (the runtime's part), TCP hands tc_endpoint GSO skbs
# longer than 64 KB. Shows that attach set the sizes, that the skbs
# cross the underlay whole, that their outer IPv4 and UDP lengths are 0 (the
# 16-bit fields cannot hold them; the kernel writes 0 for BIG TCP) with a
# right header checksum and the rest of the headers exact, and that the
# bytes arrive intact. On a veth underlay with TC ingress nothing segments
# them: what ovx writes is what the far host decapsulates.
#
#   h1 (192.168.50.1)                      h2 (192.168.50.2)
#     a1 10.10.0.1  vni 100                  a2 10.10.0.2  vni 100
#   h1 eth0 <------------ veth ------------> h2 eth0
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_require_root
command -v python3 >/dev/null || die "missing tool 'python3'"
e2e_build_dir ovx-loader ovx-test-mapfill
e2e_init

BIG=196608
SET_BIG_TCP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/set-big-tcp.py

# big_tcp NAMESPACE IFACE [SIZE]: without SIZE prints IFACE's sizes, with it
# sets them (Debian 12's iproute2 6.1 can do neither).
big_tcp() { in_ns "$1" python3 "$SET_BIG_TCP" "$2" ${3:+"$3"}; }

heading "topology"
host_add h1 192.168.50.1
host_add h2 192.168.50.2
underlay_pair h1 h2
container_add h1 a1 10.10.0.1/24
container_add h2 a2 10.10.0.2/24
CT_VNI=([a1]=100 [a2]=100)
underlay_check

heading "attach ovx (TC ingress, --big-tcp=$BIG), fill the maps"
ovx_attach_all --ingress=tc --big-tcp="$BIG"
# Read back apart from ovx's own code, and as status reports it.
for h in h1 h2; do
  sizes=$(big_tcp "${HOST_NS[$h]}" eth0)
  check "$h's underlay has BIG TCP: $sizes" \
    test "${sizes% tso_max_size *}" = "gso_ipv4_max_size $BIG gro_ipv4_max_size $BIG"
  check "$h's attach said so" \
    grep -q "^big-tcp: eth0 gso_ipv4_max_size $BIG, gro_ipv4_max_size $BIG;" "$RUN_DIR/logs/loader-$h.log"
  check "$h's status reports it" \
    test "$(ovx_status_json "$h" | jq -c '[.config.gso_ipv4_max_size, .config.gro_ipv4_max_size]')" = "[$BIG,$BIG]"
done
# The sender's eth0 sizes TCP's skbs (the runtime's part); the underlay,
# set above, takes them whole, where at 64 KB the kernel would segment them.
big_tcp "${CT_NS[a1]}" eth0 "$BIG" || die "BIG TCP on a1's eth0"
expect_ping_ok a1 a2

heading "a 64 MB transfer a1 -> a2, the underlay captured"
capture_start h1 eth0 big -Q out -c 20 'udp dst port 4789 and greater 65600'
expect_tcp_ok a1 a2 64
capture_stop "$CAP_PID"

# One line per frame: its length on the wire, then its bytes in hex.
tcpdump -r "$CAP_PCAP" -nn -e -xx 2>/dev/null | awk '
  /^[^ \t]/ { if (hex != "") print len, hex; hex = ""
              for (i = 1; i <= NF; i++) if ($i == "length") { len = $(i+1); sub(/[,:]/, "", len); break } }
  /^\t0x/ { for (i = 2; i <= NF; i++) hex = hex $i }
  END { if (hex != "") print len, hex }' >"$RUN_DIR/big.txt"
n_big=$(wc -l <"$RUN_DIR/big.txt")
check "VXLAN frames over 64 KB left h1 ($n_big; wire lengths $(cut -d' ' -f1 "$RUN_DIR/big.txt" | sort -un | head -3 | tr '\n' ' '))" \
  test "$n_big" -gt 0

# The expected first 84 bytes (outer Ethernet, IPv4, UDP, VXLAN, inner
# Ethernet and IPv4). Taken from the frame: only what varies per frame (the
# outer source port, the inner IPv4 id and checksum). The outer IPv4
# checksum is computed over the expected header.
read -r len hex < <(head -n 1 "$RUN_DIR/big.txt")
want=$(python3 - "$hex" "${HOST_MAC[h2]}" "${HOST_MAC[h1]}" "${CT_MAC[a2]}" "${CT_MAC[a1]}" <<'EOF'
import sys
got = bytes.fromhex(sys.argv[1])
h = bytes.fromhex
mac = lambda m: h(m.replace(":", ""))
def csum(b):
    s = sum(int.from_bytes(b[i:i + 2], "big") for i in range(0, len(b), 2))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s & 0xffff).to_bytes(2, "big")
# Outer IPv4: length 0, id 0, DF, TTL 64, UDP, 192.168.50.1 -> .2.
ip = h("4500 0000 0000 4000 4011 0000 c0a83201 c0a83202")
ip = ip[:10] + csum(ip) + ip[12:]
frame = (mac(sys.argv[2]) + mac(sys.argv[3]) + h("0800") + ip
         + got[34:36] + h("12b5 0000 0000")     # UDP: to 4789, length 0, no checksum
         + h("08000000 00006400")               # VXLAN: I flag, VNI 100
         + mac(sys.argv[4]) + mac(sys.argv[5]) + h("0800")
         # Inner IPv4 as a1 sent it: length 0 (BIG TCP), DF, TTL 64, TCP.
         + h("4500 0000") + got[68:70] + h("4000 4006") + got[74:76]
         + h("0a0a0001 0a0a0002"))
print(frame.hex())
EOF
)
log "first frame, wire length $len:"
log "  got  ${hex:0:168}"
log "  want $want"
check "headers exact: outer IPv4 and UDP length 0 with a right checksum, VXLAN VNI 100, inner length 0" \
  test "${hex:0:168}" = "$want"
check "the frame is longer than a 16-bit length can say ($len bytes)" test "$len" -gt 65600

heading "counters"
check "h1 dropped nothing as encap-failed" test "$(counter h1 egress encap-failed)" -eq 0
decaps=$(counter h2 ingress forward-decap-peer)
check "h2 decapsulated and delivered ($decaps forward-decap-peer)" test "$decaps" -gt 0

e2e_finish
