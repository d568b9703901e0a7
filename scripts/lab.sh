#!/usr/bin/env bash
# scripts/lab.sh - an ovx cluster on one machine, built from network
# namespaces, and a demonstration of what it does. See docs/lab.md.
#
#   scripts/lab.sh [--hosts=N] [--containers=M] [--keep]
#   scripts/lab.sh --down
#
# N hosts (default 2) on one underlay switch, M containers per host (default
# 2) alternating between networks blue (VNI 100, 10.10.0.0/24) and red (VNI
# 200, 10.20.0.0/24); ovx attached on every host, one ovx-controller per host
# on a shared file registry that ovxctl fills. Then it shows cross-host
# traffic within a network, traffic between networks blocked, one host's
# endpoints map and the loader's counters. Exits non-zero when an
# expectation fails. Tears everything down at the end (and on Ctrl-C)
# unless --keep. Needs root and a build dir (OVX_BUILD_DIR, default ./build).
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
E2E_NAME=lab
# shellcheck source=tests/e2e/lib.sh
source "$root/tests/e2e/lib.sh"

LAB_DIR=${OVX_LAB_DIR:-/tmp/ovx-lab}
hosts=2
containers=2
down=0

usage() {
  sed -n '4,5p' "${BASH_SOURCE[0]}" | sed 's/^# *//'
  exit 2
}

for arg in "$@"; do
  case $arg in
    --hosts=*) hosts=${arg#*=} ;;
    --containers=*) containers=${arg#*=} ;;
    --keep) E2E_KEEP=1 ;;
    --down) down=1 ;;
    -h | --help) usage ;;
    *) echo "lab: unknown argument '$arg'" >&2; usage ;;
  esac
done
[[ $hosts =~ ^[0-9]+$ && $hosts -ge 1 && $hosts -le 50 ]] || die "--hosts must be 1..50"
[[ $containers =~ ^[0-9]+$ && $containers -ge 1 && $containers -le 20 ]] ||
  die "--containers must be 1..20"

e2e_require_root

if ((down)); then
  if [[ ! -d $LAB_DIR/state ]]; then
    echo "lab: no lab running (nothing in $LAB_DIR)"
    exit 0
  fi
  echo "lab: tearing down the lab in $LAB_DIR"
  e2e_cleanup_dir "$LAB_DIR"
  echo "lab: done"
  exit 0
fi

if [[ -d $LAB_DIR/state ]]; then
  die "a lab is already up in $LAB_DIR; run 'scripts/lab.sh --down' first"
fi

OVX_BUILD_DIR=${OVX_BUILD_DIR:-$root/build}
e2e_build_dir ovx-loader ovxctl ovx-controller
E2E_PREFIX=ovxlab
e2e_init "$LAB_DIR"

# ---- build ------------------------------------------------------------------

heading "Building $hosts hosts x $containers containers"
underlay_switch
cluster_network blue 100 10.10.0.0/24
cluster_network red 200 10.20.0.0/24
declare -A next_ip=([blue]=1 [red]=1)
for ((i = 1; i <= hosts; i++)); do
  cluster_host "host$i" "192.168.50.$i"
done
for ((i = 1; i <= hosts; i++)); do
  for ((j = 1; j <= containers; j++)); do
    net=blue
    ((j % 2 == 0)) && net=red
    n=${next_ip[$net]}
    next_ip[$net]=$((n + 1))
    prefix=10.10.0
    [[ $net == red ]] && prefix=10.20.0
    cluster_container "host$i" "$net-$i-$j" "$net" "$prefix.$n"
  done
done
underlay_check
cross_network_neighbours
controllers_start_all
total=${#CONTAINERS[@]}
for h in "${HOSTS[@]}"; do
  wait_for 5 bash -c "[[ \$(bpftool map dump pinned '${HOST_BPFFS[$h]}/endpoints' -j | jq length) -eq $total ]]" ||
    log "warning: $h does not hold all $total endpoints yet"
done

heading "Topology"
echo "underlay: bridge br0 in netns $SWITCH_NS, 192.168.50.0/24, MTU 1500"
printf '%-10s %-16s %-22s %s\n' HOST VTEP NETNS BPFFS
for h in "${HOSTS[@]}"; do
  printf '%-10s %-16s %-22s %s\n' "$h" "${HOST_VTEP[$h]}" "${HOST_NS[$h]}" "${HOST_BPFFS[$h]}"
done
echo
printf '%-12s %-8s %-6s %-12s %-19s %-14s %s\n' CONTAINER HOST NET IP MAC HOST-IFACE NETNS
for c in "${CONTAINERS[@]}"; do
  printf '%-12s %-8s %-6s %-12s %-19s %-14s %s\n' "$c" "${CT_HOST[$c]}" "${CT_NET[$c]}" \
    "${CT_IP[$c]}" "${CT_MAC[$c]}" "${CT_IFACE[$c]}" "${CT_NS[$c]}"
done
echo
echo "registry ($REGISTRY), as ovxctl shows it:"
ovxctl endpoint ls 2>&1 | sed 's/^/  /' || true

# ---- demonstrate ------------------------------------------------------------

# first_in NET: the first container of network NET.
first_in() {
  local c
  for c in "${CONTAINERS[@]}"; do
    [[ ${CT_NET[$c]} == "$1" ]] && { echo "$c"; return; }
  done
  return 0
}

# peer_of SRC [NET]: a container of NET (default SRC's network) other than
# SRC, on another host when there is one.
peer_of() {
  local src=$1 net=${2:-${CT_NET[$1]}} c same_host=""
  for c in "${CONTAINERS[@]}"; do
    [[ $c != "$src" && ${CT_NET[$c]} == "$net" ]] || continue
    if [[ ${CT_HOST[$c]} != "${CT_HOST[$src]}" ]]; then
      echo "$c"
      return
    fi
    [[ -n $same_host ]] || same_host=$c
  done
  echo "$same_host"
}

heading "Within a network, across hosts: ping and a TCP transfer"
wire_capture_start wire
for net in blue red; do
  src=$(first_in "$net")
  [[ -n $src ]] || { log "no $net container (use --containers>=2)"; continue; }
  dst=$(peer_of "$src")
  [[ -n $dst ]] || { log "only one $net container: nothing to talk to"; continue; }
  echo "$src (${CT_HOST[$src]}) -> $dst (${CT_HOST[$dst]}), VNI ${NET_VNI[$net]}:"
  cexec "$src" ping -n -c 3 -i 0.2 -W 1 "${CT_IP[$dst]}" 2>&1 | sed 's/^/    /' || true
  expect_ping_ok "$src" "$dst"
  expect_tcp_ok "$src" "$dst" 10
done

wire_capture_stop
echo
echo "On the underlay meanwhile (VXLAN headers decoded from the captured bytes; count, header):"
pcap_vxlan "${WIRE_PCAPS[@]}" | cut -d' ' -f1-4 | sort | uniq -c | sort -rn | head -n 8 | sed 's/^/  /'
n_clear=$(pcap_count 'ip and (icmp or tcp) and net 10.0.0.0/8' "${WIRE_PCAPS[@]}")
check "no overlay packet in the clear on the underlay ($n_clear)" test "$n_clear" -eq 0

heading "Between networks: blocked by the dataplane"
src=$(first_in blue)
dst=$(peer_of "$src" red)
if [[ -n $dst ]]; then
  echo "$src (blue) -> $dst (red); $src has a static ARP entry for $dst, so"
  echo "the packets do reach ovx on ${CT_HOST[$src]}, which looks the destination up in"
  echo "the sender's network only, finds nothing and drops (counter no-endpoint):"
  drops_before=$(counter "${CT_HOST[$src]}" egress no-endpoint)
  cexec "$src" ping -n -c 2 -i 0.2 -W 1 "${CT_IP[$dst]}" 2>&1 | sed 's/^/    /' || true
  expect_ping_fail "$src" "$dst"
  expect_ping_fail "$dst" "$src"
  expect_tcp_fail "$src" "$dst"
  drops_after=$(counter "${CT_HOST[$src]}" egress no-endpoint)
  check "${CT_HOST[$src]} egress no-endpoint drops: $drops_before -> $drops_after (>= 5 more)" \
    test $((drops_after - drops_before)) -ge 5
else
  log "no red container (use --containers>=2): nothing to block"
fi

heading "The endpoints map of host1: bpftool map dump pinned ${HOST_BPFFS[host1]}/endpoints"
# The map is BTF-typed, so bpftool prints named fields; the first entry as
# is, then every entry on one line (addresses decoded from network order).
ep_pin=${HOST_BPFFS[host1]}/endpoints
bpftool map dump pinned "$ep_pin" 2>&1 | awk '{ print } /^ *},{/ { exit }' | sed 's/^/  /'
echo "  ..."
echo "all $(bpftool -j map dump pinned "$ep_pin" | jq length) entries, decoded:"
bpftool -j map dump pinned "$ep_pin" |
  jq -r '.[].formatted | [.key.vni, .key.addr[0], .value.flags, .value.ifindex,
                          .value.vtep[0]] + .value.mac | map(tostring) | join(" ")' |
  awk 'function ip(n) { return sprintf("%d.%d.%d.%d", n % 256, int(n / 256) % 256,
                                       int(n / 65536) % 256, int(n / 16777216) % 256) }
       { where = ($3 % 2 == 1) ? "local ifindex=" $4 : "remote vtep=" ip($5)
         printf "  vni=%s ip=%-10s %-24s mac=%02x:%02x:%02x:%02x:%02x:%02x\n",
           $1, ip($2), where, $6, $7, $8, $9, $10, $11 }' | sort

heading "ovx-loader status on host1 (programs, maps, counters)"
ovx_loader host1 status --bpffs="${HOST_BPFFS[host1]}" 2>&1 || fail "ovx-loader status failed"
if json=$(ovx_status_json host1 2>/dev/null) && jq -e . >/dev/null <<<"$json"; then
  pass "ovx-loader status --json is valid JSON"
else
  fail "ovx-loader status --json"
fi

heading "Controller logs (last lines)"
for h in "${HOSTS[@]}"; do
  echo "-- $h (${CTRL_LOG[$h]})"
  tail -n 3 "${CTRL_LOG[$h]}" | sed 's/^/    /'
done

if [[ $E2E_KEEP == 1 ]]; then
  first_c=${CONTAINERS[0]}
  heading "The lab stays up (--keep)"
  cat <<EOF
Enter a container (all its tools see only its network):
  nsenter --net=/run/netns/${CT_NS[$first_c]} bash        # or: ip netns exec ${CT_NS[$first_c]} bash
Enter a host (use nsenter, not 'ip netns exec', so the bpffs stays visible):
  nsenter --net=/run/netns/${HOST_NS[host1]} bash
  $OVX_LOADER_BIN status --bpffs=${HOST_BPFFS[host1]}
  bpftool map dump pinned ${HOST_BPFFS[host1]}/endpoints
Registry (add/remove endpoints, the controllers follow):
  $OVXCTL_BIN --registry=$REGISTRY endpoint ls
Controller logs: $RUN_DIR/logs/controller-*.log
Tear down:
  scripts/lab.sh --down
EOF
fi

e2e_finish
