#!/usr/bin/env bash
# control_plane_test: everything goes through ovxctl and ovx-controller (one
# per host, file registry in the run dir), nothing touches the maps by hand.
# Shows: every same-network pair reaches each other and no cross-network
# pair does; `endpoint rm` stops traffic and removes the entry on every
# host; `endpoint add` makes an endpoint reachable within 1 s; restarting
# every controller with nothing changed writes nothing (+0 ~0 -0) and loses
# no packet of a ping running across the restart. Runs on the file registry,
# or on a real etcd with OVX_E2E_REGISTRY=etcd.
#
#   switch (bridge br0)
#    |-- h1 192.168.50.1: a1 10.10.0.1 (blue, 100)  b1 10.20.0.1 (red, 200)
#    |-- h2 192.168.50.2: a2 10.10.0.2 (blue)       b2 10.20.0.2 (red)
#    `-- h3 192.168.50.3: a3 10.10.0.3 (blue)       b3 10.20.0.3 (red)
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_require_root
e2e_build_dir ovx-loader ovxctl ovx-controller ovx-test-mapfill
e2e_init

heading "registry, hosts, containers (ovxctl only)"
underlay_switch
# OVX_E2E_REGISTRY=etcd: the same test on a real etcd server (started here)
# instead of the file registry.
case ${OVX_E2E_REGISTRY:-file} in
  file) log "registry $REGISTRY" ;;
  etcd) etcd_start ;;
  *) die "OVX_E2E_REGISTRY must be file or etcd" ;;
esac
three_host_cluster
BLUE=(a1 a2 a3)
RED=(b1 b2 b3)

heading "controllers"
controllers_start_all
for h in "${HOSTS[@]}"; do
  log "$h: $(grep 'reconciled revision=' "${CTRL_LOG[$h]}" | tail -n 1)"
done
# Convergence: each host holds all 6 endpoints.
for h in "${HOSTS[@]}"; do
  check "$h holds 6 endpoints" wait_for 5 \
    bash -c "[[ \$('$OVX_TEST_MAPFILL_BIN' --bpffs='${HOST_BPFFS[$h]}' dump endpoints | wc -l) -eq 6 ]]"
done
# The programs read endpoints and their sender's interface from slot arrays
# first: on every host each must say what its map says.
slots_agree() {  # host map slots entries
  local a b
  a=$(mapfill "$1" dump "$2" | sort)
  b=$(mapfill "$1" dump "$3" | sort)
  [[ $(wc -l <<<"$a") -eq $4 && "$a" == "$b" ]]
}
for h in "${HOSTS[@]}"; do
  check "$h endpoint_slots2 = its endpoints map (6 entries)" \
    slots_agree "$h" endpoints endpoint_slots2 6
  check "$h interface_slots = its interfaces map (2 entries)" \
    slots_agree "$h" interfaces interface_slots 2
done

heading "same network: every pair, ICMP and TCP"
for net in BLUE RED; do
  declare -n members=$net
  for c in "${members[@]}"; do
    for d in "${members[@]}"; do
      [[ $c == "$d" ]] && continue
      expect_ping_ok "$c" "$d"
      expect_tcp_ok "$c" "$d" 2
    done
  done
  unset -n members
done

heading "different networks: no pair gets through"
for c in "${BLUE[@]}"; do
  for d in "${RED[@]}"; do
    expect_ping_fail "$c" "$d"
    expect_ping_fail "$d" "$c"
  done
  expect_tcp_fail "$c" "b${c#a}"
done
expect_tcp_fail b1 a2

heading "endpoint rm a3: traffic stops, the entry leaves every host"
endpoint_rm a3
a3_gone() {
  local h
  for h in "${HOSTS[@]}"; do
    mapfill "$h" dump endpoints | grep ' ip=10.10.0.3 ' >/dev/null && return 1
  done
  return 0
}
check "(100, 10.10.0.3) removed from the endpoints map of h1, h2, h3" wait_for 2 a3_gone
map_lacks() {  # host map regex: the dump works and no line of it matches
  local dump
  dump=$(mapfill "$1" dump "$2") || return 1
  ! grep -q "$3" <<<"$dump"
}
for h in "${HOSTS[@]}"; do
  check "$h endpoint_slots2 no longer hold (100, 10.10.0.3)" \
    map_lacks "$h" endpoint_slots2 '^vni=100 ip=10.10.0.3 '
done
check "h3 interfaces map no longer maps a3's veth" \
  map_lacks h3 interfaces ' ip=10.10.0.3 '
check "h3 interface_slots no longer hold a3's veth" \
  map_lacks h3 interface_slots ' ip=10.10.0.3 '
expect_ping_fail a1 a3
expect_ping_fail a3 a2
expect_tcp_fail a2 a3

heading "endpoint add a3: reachable again within 1 s"
t0=$(now_ms)
endpoint_add a3
reachable_ms=""
while (($(now_ms) - t0 < 5000)); do
  if cexec a1 ping -n -c 1 -W 0.1 "${CT_IP[a3]}" >/dev/null 2>&1; then
    reachable_ms=$(($(now_ms) - t0))
    break
  fi
done
if [[ -z $reachable_ms ]]; then
  fail "a3 not reachable from a1 5 s after endpoint add"
elif ((reachable_ms < 1000)); then
  pass "a3 reachable from a1 ${reachable_ms} ms after endpoint add"
else
  fail "a3 reachable only ${reachable_ms} ms after endpoint add (limit 1000 ms)"
fi
for h in "${HOSTS[@]}"; do
  check "$h holds a3 again" bash -c "'$OVX_TEST_MAPFILL_BIN' --bpffs='${HOST_BPFFS[$h]}' dump endpoints | grep -q ' ip=10.10.0.3 '"
done
expect_tcp_ok a3 a1 2

heading "restart every controller with nothing changed"
bg ping-restart ct a1 ping -n -i 0.05 -c 100 -W 2 "${CT_IP[a2]}"
ping_pid=$BG_PID
bg ping-restart-red ct b2 ping -n -i 0.05 -c 100 -W 2 "${CT_IP[b3]}"
ping2_pid=$BG_PID
sleep 0.5
for h in "${HOSTS[@]}"; do
  controller_stop "$h"
done
sleep 0.5 # the dataplane runs on alone for a while
for h in "${HOSTS[@]}"; do
  controller_start "$h" "controller-$h-restart"
done
for h in "${HOSTS[@]}"; do
  if wait_for 10 controller_synced "$h"; then
    summary=$(grep 'reconciled revision=' "${CTRL_LOG[$h]}" | head -n 1)
    check "$h restart wrote nothing: '$summary'" grep -q '+0 ~0 -0' <<<"$summary"
    check "$h restart log has no map change line" \
      bash -c "! grep -E '(endpoints|interfaces|vteps|vtep_vnis|networks): (add|update|remove) ' '${CTRL_LOG[$h]}'"
  else
    fail "$h controller never reconciled after restart"
  fi
done
wait "$ping_pid" || true
wait "$ping2_pid" || true
for name in ping-restart ping-restart-red; do
  stats=$(grep 'packets transmitted' "$RUN_DIR/logs/$name.log" || true)
  check "$name across the restart lost nothing: $stats" \
    grep -q '100 packets transmitted, 100 received' <<<"$stats"
done

e2e_finish
