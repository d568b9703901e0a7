#!/usr/bin/env bash
# policy_test: a --policy=deny network end to end (ovxctl + ovx-controller
# on a file registry). Only `web-db` (app=web -> app=db, tcp/5432) allows:
# that connection carries data both ways, locally and across hosts; db->web
# and web->db:22 fail. `policy rm` stops new connections within 1 s while an
# established one goes on; `policy add` of another rule opens within 1 s;
# neither reloads a program (ids from `ovx-loader status --json`). Underlay
# and container attacks are each dropped with their exact counter, and the
# containers of another network never receive a single packet.
#
#   switch (bridge br0)
#    |-- h1 192.168.50.1: web1 10.30.0.1 (shop, app=web)  db2 10.30.0.12 (app=db)
#    |                    o1 10.40.0.1 (other)
#    |-- h2 192.168.50.2: db1 10.30.0.2 (shop, app=db)   web2 10.30.0.11 (app=web)
#    |                    o2 10.40.0.2 (other)          s2 10.50.0.2 (solo)
#    `-- evil 192.168.50.9: on the wire, not registered, no ovx
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_require_root
command -v python3 >/dev/null || die "missing tool 'python3'"
e2e_build_dir ovx-loader ovxctl ovx-controller ovx-test-mapfill
e2e_init

# ---- tools: TCP echo server/clients and crafted frames (python3) ----------
TOOLS=$RUN_DIR/policy_tools.py
cat >"$TOOLS" <<'EOF'
import os, socket, struct, sys, threading, time

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def mac(t):
    return bytes(int(x, 16) for x in t.split(":"))

def ipv4_udp(src, dst, sport, dport, payload):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64,
                      17, 0, socket.inet_aton(src), socket.inet_aton(dst))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + udp

def frame(smac, src, dmac, dst, sport, dport):
    return (mac(dmac) + mac(smac) + b"\x08\x00" +
            ipv4_udp(src, dst, sport, dport, b"ovx policy e2e"))

def serve(port):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(64)
    def echo(c):
        with c:
            while True:
                d = c.recv(65536)
                if not d:
                    return
                c.sendall(d)
    while True:
        c, _ = srv.accept()
        threading.Thread(target=echo, args=(c,), daemon=True).start()

def talk(ip, port, size):
    """Sends size random bytes, expects them echoed: data both ways."""
    data = os.urandom(size)
    s = socket.create_connection((ip, port), timeout=3)
    got = bytearray()
    def reader():
        while True:
            d = s.recv(65536)
            if not d:
                return
            got.extend(d)
    t = threading.Thread(target=reader)
    t.start()
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    t.join(10)
    ok = bytes(got) == data
    print("sent %d, echoed %d, equal %s" % (len(data), len(got), ok))
    return ok

def connect(ip, port, timeout):
    try:
        socket.create_connection((ip, port), timeout=timeout).close()
        return True
    except OSError:
        return False

def stream(ip, port, seconds):
    """One connection, a line every 0.1 s, each echoed back."""
    s = socket.create_connection((ip, port), timeout=2)
    n = 0
    end = time.time() + seconds
    while time.time() < end:
        line = b"line %d\n" % n
        s.sendall(line)
        got = b""
        while len(got) < len(line):
            d = s.recv(len(line) - len(got))
            if not d:
                print("closed after %d lines" % n)
                return False
            got += d
        if got != line:
            print("line %d echoed as %r" % (n, got))
            return False
        n += 1
        time.sleep(0.1)
    print("%d lines echoed" % n)
    return True

def vxlan(dst, vni, ismac, isrc, idmac, idst, count):
    """VXLAN to dst:4789 from this namespace's own address."""
    inner = frame(ismac, isrc, idmac, idst, 40000, 5432)
    pkt = struct.pack("!II", 0x08000000, vni << 8) + inner
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(count):
        s.sendto(pkt, (dst, 4789))
    return True

def raw(iface, smac, src, dmac, dst, dport, count):
    """An Ethernet frame as is, e.g. with a neighbour's MAC and IP."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    for _ in range(count):
        s.send(frame(smac, src, dmac, dst, 40000, dport))
    return True

cmd, args = sys.argv[1], sys.argv[2:]
if cmd == "serve":
    serve(int(args[0]))
elif cmd == "talk":
    sys.exit(0 if talk(args[0], int(args[1]), int(args[2])) else 1)
elif cmd == "connect":
    sys.exit(0 if connect(args[0], int(args[1]), float(args[2])) else 1)
elif cmd == "stream":
    sys.exit(0 if stream(args[0], int(args[1]), float(args[2])) else 1)
elif cmd == "vxlan":
    vxlan(args[0], int(args[1]), args[2], args[3], args[4], args[5], int(args[6]))
elif cmd == "raw":
    raw(args[0], args[1], args[2], args[3], args[4], int(args[5]), int(args[6]))
else:
    sys.exit("unknown command " + cmd)
EOF

# serve CONTAINER PORT: an echo server, up before this returns.
serve() {
  bg "serve-$1-$2" ct "$1" python3 "$TOOLS" serve "$2"
  wait_for 5 _listening "$1" "$2" || die "echo server on $1:$2 did not start"
}

# tcp_fails SRC DST PORT: no handshake within 1 s.
tcp_fails() {
  if cexec "$1" python3 "$TOOLS" connect "${CT_IP[$2]}" "$3" 1; then
    fail "tcp $1 -> $2:$3 must fail but connected"
  else
    pass "tcp $1 -> $2:$3 fails"
  fi
}

# tcp_talks SRC DST PORT: 1 MB there and echoed back.
tcp_talks() {
  check "tcp $1 -> $2:$3 carries data both ways" \
    cexec "$1" python3 "$TOOLS" talk "${CT_IP[$2]}" "$3" 1048576
}

# shop_container HOST NAME NETWORK IP LABELS
shop_container() {
  local h=$1 c=$2 net=$3 ip=$4 labels=$5
  container_add "$h" "$c" "$ip/${NET_SUBNET[$net]#*/}"
  CT_NET[$c]=$net
  CT_VNI[$c]=${NET_VNI[$net]}
  local -a extra=()
  [[ -z $labels ]] || extra=(--labels="$labels")
  ovxctl endpoint add "$c" --network="$net" --node="$h" \
    --iface="${CT_IFACE[$c]}" --ip="$ip" --mac="${CT_MAC[$c]}" "${extra[@]}" \
    >>"$RUN_DIR/logs/ovxctl.log" 2>&1 ||
    die "ovxctl endpoint add $c failed: $(tail -n 3 "$RUN_DIR/logs/ovxctl.log")"
}

# prog_ids HOST: "iface:prog_id" of every attached program, sorted.
prog_ids() {
  ovx_status_json "$1" | jq -r '.interfaces[] | "\(.iface):\(.prog_id)"' | sort
}

# expect_counter HOST DIR REASON BEFORE DELTA
expect_counter() {
  local now
  now=$(counter "$1" "$2" "$3")
  if ((now - $4 == $5)); then
    pass "$1 $2 $3 counter moved by exactly $5"
  else
    fail "$1 $2 $3 counter moved by $((now - $4)), want $5"
  fi
}

# within_ms LIMIT_MS WHAT cmd...: polls cmd until it succeeds, reports the
# time since T0.
within_ms() {
  local limit=$1 what=$2
  shift 2
  local took=""
  while (($(now_ms) - T0 < 5000)); do
    if "$@" >/dev/null 2>&1; then
      took=$(($(now_ms) - T0))
      break
    fi
    sleep 0.05
  done
  if [[ -z $took ]]; then
    fail "$what: not after 5 s"
  elif ((took < limit)); then
    pass "$what after $took ms"
  else
    fail "$what only after $took ms (limit $limit ms)"
  fi
}

heading "registry, hosts, containers"
underlay_switch
# shop is the deny network (cluster_network creates allow networks).
NET_VNI[shop]=300
NET_SUBNET[shop]=10.30.0.0/24
ovxctl network create shop --vni=300 --subnet=10.30.0.0/24 --policy=deny \
  >>"$RUN_DIR/logs/ovxctl.log" 2>&1 ||
  die "ovxctl network create --policy=deny failed: $(tail -n 3 "$RUN_DIR/logs/ovxctl.log")"
cluster_network other 400 10.40.0.0/24
cluster_network solo 500 10.50.0.0/24
cluster_host h1 192.168.50.1
cluster_host h2 192.168.50.2
host_add evil 192.168.50.9
shop_container h1 web1 shop 10.30.0.1 app=web
shop_container h1 db2 shop 10.30.0.12 app=db
shop_container h1 o1 other 10.40.0.1 ""
shop_container h2 db1 shop 10.30.0.2 app=db
shop_container h2 web2 shop 10.30.0.11 app=web
shop_container h2 o2 other 10.40.0.2 ""
shop_container h2 s2 solo 10.50.0.2 ""
underlay_check
cross_network_neighbours

heading "controllers"
for h in h1 h2; do
  controller_start "$h"
done
for h in h1 h2; do
  wait_for 10 controller_synced "$h" || die "controller on $h never reconciled"
done
policy_add() {
  ovxctl policy add "$@" >>"$RUN_DIR/logs/ovxctl.log" 2>&1 ||
    die "ovxctl policy add $* failed: $(tail -n 3 "$RUN_DIR/logs/ovxctl.log")"
}
policy_add web-db --network=shop --from=app=web --to=app=db --proto=tcp --port=5432
for h in h1 h2; do
  check "$h holds policy entries" wait_for 5 \
    bash -c "[[ \$(bpftool map dump pinned '${HOST_BPFFS[$h]}/policy' -j | jq length) -gt 0 ]]"
done
# Two underlay programs: TC and the tunnel GRO device's fence (the loader's
# auto on a veth), or XDP + TC with OVX_INGRESS=xdp; and TC on each
# endpoint's veth (the controller's).
# shellcheck disable=SC2317 # called through wait_for
attached() { [[ $(prog_ids "$1" | wc -l) -eq $2 ]]; }
check "h1: 2 underlay + 3 endpoint programs attached" wait_for 10 attached h1 5
check "h2: 2 underlay + 4 endpoint programs attached" wait_for 10 attached h2 6
declare -A IDS_BEFORE=()
for h in h1 h2; do
  IDS_BEFORE[$h]=$(prog_ids "$h")
done

# Nothing may reach the other network's containers from here on.
declare -A CAP=()
for c in o1 o2; do
  bg "tcpdump-$c" ct "$c" tcpdump -i eth0 -nn -U -Q in -w "$RUN_DIR/$c.pcap" ip
  CAP[$c]=$BG_PID
  wait_for 5 grep -q "listening on" "$RUN_DIR/logs/tcpdump-$c.log" ||
    die "tcpdump in $c did not start"
done

heading "web-db allows app=web -> app=db tcp/5432, and nothing else"
for c in db1 db2 web1 web2; do
  serve "$c" 5432
  serve "$c" 22
done
tcp_talks web1 db1 5432 # across hosts: h1 egress, h2 ingress, replies back
tcp_talks web2 db1 5432 # same host
tcp_talks web1 db2 5432
tcp_fails web1 db1 22
tcp_fails web2 db1 22
tcp_fails db1 web1 5432
tcp_fails db1 web2 5432
tcp_fails db2 web2 22
tcp_fails web1 web2 5432
expect_ping_fail web1 db1
expect_ping_fail db1 web1
before=$(counter h1 egress policy-denied)
tcp_fails web1 db1 22
now=$(counter h1 egress policy-denied)
if ((now > before)); then
  pass "web1 -> db1:22 counted on h1 egress policy-denied (+$((now - before)))"
else
  fail "web1 -> db1:22 not counted on h1 egress policy-denied"
fi

heading "policy rm: new connections stop within 1 s, an established one goes on"
bg stream-web1-db1 ct web1 python3 "$TOOLS" stream "${CT_IP[db1]}" 5432 4
stream_pid=$BG_PID
sleep 0.5
T0=$(now_ms)
ovxctl policy rm web-db >>"$RUN_DIR/logs/ovxctl.log" 2>&1
within_ms 1000 "web1 -> db1:5432 refused after policy rm" \
  bash -c "! nsenter --net=/run/netns/${CT_NS[web1]} python3 '$TOOLS' connect ${CT_IP[db1]} 5432 0.1"
tcp_fails web2 db1 5432
wait "$stream_pid" && stream_ok=1 || stream_ok=0
if ((stream_ok)); then
  pass "the established web1 -> db1:5432 connection went on: $(tail -n 1 "$RUN_DIR/logs/stream-web1-db1.log")"
else
  fail "the established connection broke: $(tail -n 3 "$RUN_DIR/logs/stream-web1-db1.log")"
fi

heading "policy add of another rule: in effect within 1 s"
T0=$(now_ms)
policy_add web-ssh --network=shop --from=app=web --to=app=db --proto=tcp --port=22
within_ms 1000 "web1 -> db1:22 connects after policy add web-ssh" \
  nsenter --net="/run/netns/${CT_NS[web1]}" python3 "$TOOLS" connect "${CT_IP[db1]}" 22 0.1
tcp_talks web1 db1 22
tcp_fails web1 db1 5432
for h in h1 h2; do
  ids=$(prog_ids "$h")
  if [[ $ids == "${IDS_BEFORE[$h]}" && -n $ids ]]; then
    pass "$h programs not reloaded ($(tr '\n' ' ' <<<"$ids"))"
  else
    fail "$h program ids changed: before '${IDS_BEFORE[$h]}', now '$ids'"
  fi
done

heading "underlay attacks on h2, each dropped with its counter"
# From an address that is not a registered VTEP.
b=$(counter h2 ingress unknown-vtep)
in_ns "${HOST_NS[evil]}" python3 "$TOOLS" vxlan 192.168.50.2 300 \
  "${CT_MAC[web1]}" "${CT_IP[web1]}" "${CT_MAC[db1]}" "${CT_IP[db1]}" 3
sleep 0.2
expect_counter h2 ingress unknown-vtep "$b" 3
# A registered VTEP (h1) with a VNI it hosts no endpoint of (solo: only h2).
b=$(counter h2 ingress vtep-not-in-vni)
in_ns "${HOST_NS[h1]}" python3 "$TOOLS" vxlan 192.168.50.2 500 \
  "${CT_MAC[web1]}" 10.50.0.1 "${CT_MAC[s2]}" "${CT_IP[s2]}" 3
sleep 0.2
expect_counter h2 ingress vtep-not-in-vni "$b" 3
# A registered VTEP with an inner source that is not one of its endpoints
# (db1 lives on h2 itself).
b=$(counter h2 ingress inner-src-invalid)
in_ns "${HOST_NS[h1]}" python3 "$TOOLS" vxlan 192.168.50.2 300 \
  "${CT_MAC[db1]}" "${CT_IP[db1]}" "${CT_MAC[web2]}" "${CT_IP[web2]}" 3
sleep 0.2
expect_counter h2 ingress inner-src-invalid "$b" 3

heading "container attacks on h1, each dropped with its counter"
# VXLAN from a container: to a neighbour and to h2's VTEP itself.
static_neigh web1 192.168.50.2 "${HOST_MAC[h2]}"
b=$(counter h1 egress vxlan-from-container)
cexec web1 python3 "$TOOLS" raw eth0 "${CT_MAC[web1]}" "${CT_IP[web1]}" \
  "${CT_MAC[db1]}" "${CT_IP[db1]}" 4789 2
cexec web1 python3 "$TOOLS" raw eth0 "${CT_MAC[web1]}" "${CT_IP[web1]}" \
  "${HOST_MAC[h2]}" 192.168.50.2 4789 2
sleep 0.2
expect_counter h1 egress vxlan-from-container "$b" 4
# Spoofing the neighbour db2: its MAC and IP, then its IP only.
b=$(counter h1 egress spoofed-mac)
cexec web1 python3 "$TOOLS" raw eth0 "${CT_MAC[db2]}" "${CT_IP[db2]}" \
  "${CT_MAC[db1]}" "${CT_IP[db1]}" 5432 3
sleep 0.2
expect_counter h1 egress spoofed-mac "$b" 3
b=$(counter h1 egress spoofed-ip)
cexec web1 python3 "$TOOLS" raw eth0 "${CT_MAC[web1]}" "${CT_IP[db2]}" \
  "${CT_MAC[db1]}" "${CT_IP[db1]}" 5432 3
sleep 0.2
expect_counter h1 egress spoofed-ip "$b" 3

heading "the other network's containers saw nothing"
sleep 0.3
for c in o1 o2; do
  bg_stop "${CAP[$c]}" INT
  n=$(tcpdump -r "$RUN_DIR/$c.pcap" -nn 2>/dev/null | wc -l)
  if ((n == 0)); then
    pass "$c received 0 IPv4 packets during the test"
  else
    fail "$c received $n IPv4 packets"
    tcpdump -r "$RUN_DIR/$c.pcap" -nn 2>/dev/null | head -n 5 | sed 's/^/         | /'
  fi
done
expect_ping_ok o1 o2

e2e_finish
