# bench/lib/prog_cost.sh - runs the ovx_prog_cost harness in a throwaway
# netns that has what the programs look up: an underlay with our VTEP,
# forwarding on and a neighbour for the remote one (FIB lookup on encap),
# and two host-side veths for local endpoints. Maps are pinned in a private
# bpffs.

# prog_cost_run BIN ITERATIONS ENDPOINTS OUTFILE [ovx_prog_cost flags...]
prog_cost_run() {
  local bin=$1 iters=$2 eps=$3 out=$4
  shift 4
  local ns="${BENCH_TAG}-progcost" fs="$BENCH_TMP/progcost-bpffs"
  netns_add "$ns"
  ip -n "$ns" link add ul0 address 02:0c:00:00:00:01 type veth peer name ul0p \
    address 02:0c:00:00:00:02 || die "progcost: underlay veth"
  ip -n "$ns" link add vc1 type veth peer name vc1p || die "progcost: veth vc1"
  ip -n "$ns" link add vc3 type veth peer name vc3p || die "progcost: veth vc3"
  local i
  for i in ul0 ul0p vc1 vc1p vc3 vc3p; do ip -n "$ns" link set "$i" up; done
  ip -n "$ns" addr add 192.168.77.1/24 dev ul0
  ip -n "$ns" neigh replace 192.168.77.2 lladdr 02:0c:00:00:00:02 dev ul0 nud permanent
  # As on the network paths' hosts. With forwarding off, bpf_fib_lookup()
  # returns FWD_DISABLED before any lookup and encap falls back to
  # bpf_redirect_neigh(), whose route and neighbour lookups run after the
  # program, outside the timed part: encap read ~45 ns too cheap.
  nsx "$ns" sysctl -qw net.ipv4.ip_forward=1 || die "progcost: ip_forward"
  bpffs_mount "$fs"
  nsx "$ns" "$bin" --bpffs="$fs" --underlay=ul0 --endpoint=vc1 --peer=vc3 \
    --iterations="$iters" --endpoints="$eps" "$@" >"$out" 2>"$out.err"
  local rc=$?
  ip netns del "$ns" 2>/dev/null
  umount "$fs" 2>/dev/null
  if ((rc != 0)); then
    cat "$out.err" >&2
    die "prog_cost: a program path is broken (see above)"
  fi
}
