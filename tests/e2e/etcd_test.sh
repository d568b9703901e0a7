#!/usr/bin/env bash
# etcd_test: issue 5's end-to-end proof on a real etcd. Three hosts, each
# with ovx-controller --registry=etcd://..., everything made with ovxctl on
# etcd. Shows, asserting on the pinned maps and not only on pings:
#  1. the connectivity/isolation matrix of control_plane_test holds: every
#     same-network pair reaches each other (ICMP, TCP), no cross pair does;
#  2. etcd SIGKILLed under a running ping (-i 0.05) and restarted on its
#     data dir before the ping ends: no packet lost; every controller logs
#     that the registry is unreachable, keeps running, keeps its maps;
#  3. right after the restart, `endpoint add a4` and `endpoint rm b1`: every
#     host's maps converge within 5 s of ovxctl, a4 answers;
#  4. a three-member cluster, controllers given all three URLs: the member
#     they talk to is SIGKILLed, `endpoint add a5` still reaches every host
#     within 5 s and a5 answers.
#
# etcd runs in the switch namespace (unique to this run, so its ports are
# free by construction) on addresses of br0, so hosts' controllers reach it
# over their underlay eth0 through ovx's underlay programs, as on real
# machines. Its data dirs live in the run dir; lib.sh's cleanup kills it
# (process group) and removes them, also on failure.
#
#   switch br0: etcd 192.168.50.254 (phase 1-3), .251-.253 (phase 4)
#    |-- h1 192.168.50.1: a1 10.10.0.1 (blue, 100)  b1 10.20.0.1 (red, 200)
#    |-- h2 192.168.50.2: a2 10.10.0.2 (blue)       b2 10.20.0.2 (red)
#    `-- h3 192.168.50.3: a3 10.10.0.3 (blue)       b3 10.20.0.3 (red)
#                         a4 10.10.0.4, a5 10.10.0.5 (added later, on h3/h2)
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_require_root
e2e_build_dir ovx-loader ovxctl ovx-controller ovx-test-mapfill
ETCD_BIN=${OVX_ETCD:-$(command -v etcd || true)}
[[ -n $ETCD_BIN && -x $ETCD_BIN ]] ||
  die "no etcd binary (scripts/install-deps.sh installs etcd-server, or set OVX_ETCD)"
command -v etcdctl >/dev/null || die "no etcdctl (scripts/install-deps.sh: etcd-client)"
e2e_init

CONVERGE_S=5

# ---- etcd members in the switch namespace --------------------------------

declare -A ETCD_PID=() ETCD_MEMBER_IP=()
ETCD_CLUSTER="" ETCD_TOKEN=""

# etcd_member NAME IP: starts (or restarts, same data dir) one member whose
# cluster is $ETCD_CLUSTER; IP is added to br0 the first time.
etcd_member() {
  local name=$1 ip=$2
  if [[ -z ${ETCD_MEMBER_IP[$name]:-} ]]; then
    ip -n "$SWITCH_NS" addr add "$ip/$UNDERLAY_PREFIX" dev br0
    ETCD_MEMBER_IP[$name]=$ip
  fi
  bg "etcd-$name" ns "$SWITCH_NS" "$ETCD_BIN" --name "$name" \
    --data-dir "$RUN_DIR/etcd-$name" \
    --listen-client-urls "http://$ip:2379" --advertise-client-urls "http://$ip:2379" \
    --listen-peer-urls "http://$ip:2380" --initial-advertise-peer-urls "http://$ip:2380" \
    --initial-cluster "$ETCD_CLUSTER" --initial-cluster-state new \
    --initial-cluster-token "$ETCD_TOKEN"
  ETCD_PID[$name]=$BG_PID
}

etcd_healthy() {
  in_ns "$SWITCH_NS" etcdctl --endpoints="http://${ETCD_MEMBER_IP[$1]}:2379" \
    --command-timeout=1s endpoint health
}

# etcd_kill NAME: SIGKILL, as a crash (data dir kept).
etcd_kill() {
  bg_stop "${ETCD_PID[$1]}" KILL 2>/dev/null # no "Killed" job notice
  ETCD_PID[$1]=""
}

# ---- map assertions ------------------------------------------------------

# has_endpoint HOST VNI IP: the host's endpoints map holds (VNI, IP).
has_endpoint() {
  mapfill "$1" dump endpoints | grep -q "^vni=$2 ip=$3 "
}

# converged WANT VNI IP: (VNI, IP) present (WANT=1) or absent (0) on all hosts.
converged() {
  local want=$1 vni=$2 ip=$3 h
  for h in "${HOSTS[@]}"; do
    if has_endpoint "$h" "$vni" "$ip"; then
      [[ $want == 1 ]] || return 1
    else
      [[ $want == 0 ]] || return 1
    fi
  done
}

# expect_converged WANT VNI IP T0_MS: waits up to CONVERGE_S, reports the time.
expect_converged() {
  local want=$1 vni=$2 ip=$3 t0=$4 what
  what=$([[ $want == 1 ]] && echo "present on" || echo "gone from")
  if wait_for "$CONVERGE_S" converged "$want" "$vni" "$ip"; then
    pass "($vni, $ip) $what every host's endpoints map $(($(now_ms) - t0)) ms after ovxctl"
  else
    fail "($vni, $ip) not $what every host's endpoints map within ${CONVERGE_S} s"
    for h in "${HOSTS[@]}"; do mapfill "$h" dump endpoints | sed "s/^/         | $h: /"; done
  fi
}

# endpoints_exactly HOST IP...: the host's endpoints map holds exactly these.
endpoints_exactly() {
  local h=$1
  shift
  local got want
  got=$(mapfill "$h" dump endpoints | sed -n 's/^vni=[0-9]* ip=\([0-9.]*\) .*/\1/p' | sort)
  want=$(printf '%s\n' "$@" | sort)
  [[ $got == "$want" ]] || { echo "want: $(echo $want) got: $(echo $got)"; return 1; }
}

# ---- traffic -------------------------------------------------------------

# expect_isolated: no cross-network pair answers a ping, all tried at once
# (each waits 1 s for a reply that must not come).
expect_isolated() {
  local c d pids=() pairs=() i
  for c in "${CONTAINERS[@]}"; do
    for d in "${CONTAINERS[@]}"; do
      [[ ${CT_VNI[$c]} != "${CT_VNI[$d]}" ]] || continue
      cexec "$c" ping -n -c 2 -i 0.2 -W 1 "${CT_IP[$d]}" >/dev/null 2>&1 &
      pids+=($!)
      pairs+=("$c -> $d")
    done
  done
  for i in "${!pids[@]}"; do
    if wait "${pids[$i]}"; then
      fail "ping ${pairs[$i]} must fail but got replies"
    else
      pass "ping ${pairs[$i]} fails"
    fi
  done
}

# same_network_matrix: ICMP and TCP for every ordered same-network pair.
same_network_matrix() {
  local c d
  for c in "${CONTAINERS[@]}"; do
    for d in "${CONTAINERS[@]}"; do
      [[ $c != "$d" && ${CT_VNI[$c]} == "${CT_VNI[$d]}" ]] || continue
      expect_ping_ok "$c" "$d"
      expect_tcp_ok "$c" "$d" 1
    done
  done
}

# reachable_within SRC DST MS: one-packet pings until DST answers.
reachable_within() {
  local src=$1 dst=$2 limit=$3 t0
  t0=$(now_ms)
  while (($(now_ms) - t0 < limit)); do
    if cexec "$src" ping -n -c 1 -W 0.2 "${CT_IP[$dst]}" >/dev/null 2>&1; then
      pass "$dst reachable from $src"
      return 0
    fi
  done
  fail "$dst not reachable from $src within $limit ms"
}

controllers_alive() {
  local h
  for h in "${HOSTS[@]}"; do
    check "controller on $h still running" kill -0 "${CTRL_PID[$h]}"
  done
}

# ==========================================================================
heading "phase 1: one etcd member, hosts and endpoints through ovxctl"
underlay_switch
ETCD_TOKEN=$E2E_PREFIX-single
ETCD_CLUSTER="e0=http://192.168.50.254:2380"
etcd_member e0 192.168.50.254
wait_for 15 etcd_healthy e0 || die "etcd did not become healthy (see $RUN_DIR/logs/etcd-e0.log)"
REGISTRY=etcd://192.168.50.254:2379
log "registry $REGISTRY"
three_host_cluster
controllers_start_all
ALL6=(10.10.0.1 10.10.0.2 10.10.0.3 10.20.0.1 10.20.0.2 10.20.0.3)
for h in "${HOSTS[@]}"; do
  wait_for "$CONVERGE_S" endpoints_exactly "$h" "${ALL6[@]}" || true
  check "$h endpoints map holds exactly the 6 endpoints" endpoints_exactly "$h" "${ALL6[@]}"
done

heading "phase 1: same network every pair (ICMP, TCP); no cross-network pair"
same_network_matrix
expect_isolated
expect_tcp_fail a1 b2
expect_tcp_fail b3 a1

# ==========================================================================
heading "phase 2: etcd SIGKILLed and restarted under a running ping"
# The pings (5 s) span the kill and the restart. The outage is kept short
# (~2 s) on purpose: the controllers' registry retry backs off (250 ms
# doubling, 30 s cap), and phase 3 bounds convergence from the moment of
# the change, not from the end of that backoff.
bg ping-kill ct a1 ping -n -i 0.05 -c 100 -W 2 "${CT_IP[a2]}"
ping_pid=$BG_PID
bg ping-kill-red ct b2 ping -n -i 0.05 -c 100 -W 2 "${CT_IP[b3]}"
ping2_pid=$BG_PID
sleep 1
etcd_kill e0
t_kill=$(now_ms)
log "etcd killed"
unreachable() { grep -q "registry etcd://.*no member of .* reachable.*dataplane kept as is" "${CTRL_LOG[$1]}"; }
for h in "${HOSTS[@]}"; do
  if wait_for 5 unreachable "$h"; then
    pass "$h controller logs: $(grep -o 'registry etcd://.*reachable' "${CTRL_LOG[$h]}" | tail -n 1 | cut -c1-100)..."
  else
    fail "$h controller did not log the registry as unreachable"
  fi
done
controllers_alive
for h in "${HOSTS[@]}"; do
  check "$h maps untouched while etcd is down" endpoints_exactly "$h" "${ALL6[@]}"
done
etcd_member e0 192.168.50.254
wait_for 15 etcd_healthy e0 || die "etcd did not come back (see $RUN_DIR/logs/etcd-e0.log)"
log "etcd back on its data dir after $(($(now_ms) - t_kill)) ms"
wait "$ping_pid" || true
wait "$ping2_pid" || true
for name in ping-kill ping-kill-red; do
  stats=$(grep 'packets transmitted' "$RUN_DIR/logs/$name.log" || true)
  check "$name across etcd's death and restart lost nothing: $stats" \
    grep -q '100 packets transmitted, 100 received' <<<"$stats"
done

# ==========================================================================
heading "phase 3: registry changed right after the restart: add a4, rm b1"
check "registry survived on the data dir (6 endpoints)" \
  bash -c "[[ \$(nsenter --net=/run/netns/$SWITCH_NS '$OVXCTL_BIN' --registry=$REGISTRY endpoint ls --json | jq length) -eq 6 ]]"
container_add h3 a4 10.10.0.4/24
CT_NET[a4]=blue CT_VNI[a4]=100
t0=$(now_ms)
endpoint_add a4
t_add=$(now_ms)
endpoint_rm b1
t_rm=$(now_ms)
log "ovxctl add took $((t_add - t0)) ms"
expect_converged 1 100 10.10.0.4 "$t_add"
expect_converged 0 200 10.20.0.1 "$t_rm"
# h1 had no other red endpoint: red's remote entries leave it too.
check "h1 holds blue only after rm b1" wait_for "$CONVERGE_S" endpoints_exactly h1 \
  10.10.0.1 10.10.0.2 10.10.0.3 10.10.0.4
reachable_within a1 a4 3000
expect_tcp_ok a4 a2 1
expect_ping_fail b2 b1
controllers_alive

# ==========================================================================
heading "phase 4: three-member cluster, one member killed"
for h in "${HOSTS[@]}"; do
  controller_stop "$h"
done
etcd_kill e0
ETCD_TOKEN=$E2E_PREFIX-cluster
ETCD_CLUSTER="m1=http://192.168.50.251:2380,m2=http://192.168.50.252:2380,m3=http://192.168.50.253:2380"
for i in 1 2 3; do
  etcd_member "m$i" "192.168.50.25$i"
done
for i in 1 2 3; do
  wait_for 20 etcd_healthy "m$i" || die "cluster member m$i not healthy (see $RUN_DIR/logs/etcd-m$i.log)"
done
REGISTRY=etcd://192.168.50.251:2379,192.168.50.252:2379,192.168.50.253:2379
log "registry $REGISTRY"
cluster_network blue 100 10.10.0.0/24
cluster_network red 200 10.20.0.0/24
for h in "${HOSTS[@]}"; do
  ovxctl node add "$h" --vtep="${HOST_VTEP[$h]}" >>"$RUN_DIR/logs/ovxctl.log" 2>&1 ||
    die "ovxctl node add $h on the cluster failed"
done
for c in a1 a2 a3 a4 b2 b3; do
  endpoint_add "$c"
done
for h in "${HOSTS[@]}"; do
  controller_start "$h" "controller-$h-cluster"
done
for h in "${HOSTS[@]}"; do
  if wait_for 10 controller_synced "$h"; then
    summary=$(grep 'reconciled revision=' "${CTRL_LOG[$h]}" | head -n 1)
    check "$h on the cluster: same registry, nothing written: '$summary'" grep -q '+0 ~0 -0' <<<"$summary"
  else
    fail "$h controller never reconciled on the cluster"
  fi
done
leader=$(in_ns "$SWITCH_NS" etcdctl --endpoints="${REGISTRY#etcd://}" endpoint status -w json |
  jq -r '.[] | select(.Status.leader == .Status.header.member_id) | .Endpoint' || true)
log "raft leader: $leader; killing m1 (first URL: every client talks to it)"
etcd_kill m1
container_add h2 a5 10.10.0.5/24
CT_NET[a5]=blue CT_VNI[a5]=100
t0=$(now_ms)
endpoint_add a5
t_add=$(now_ms)
log "ovxctl add with m1 dead took $((t_add - t0)) ms"
expect_converged 1 100 10.10.0.5 "$t_add"
reachable_within a1 a5 3000
reachable_within a4 a5 3000
# h1 lost its only red endpoint (b1): it holds blue only.
BLUE5=(10.10.0.1 10.10.0.2 10.10.0.3 10.10.0.4 10.10.0.5)
check "h1 endpoints map holds exactly blue's 5" endpoints_exactly h1 "${BLUE5[@]}"
for h in h2 h3; do
  check "$h endpoints map holds exactly blue's 5 and red's 2" \
    endpoints_exactly "$h" "${BLUE5[@]}" 10.20.0.2 10.20.0.3
done
controllers_alive

e2e_finish
