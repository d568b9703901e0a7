#!/usr/bin/env bash
# controller_e2e_test: one attached host, a file registry written with
# ovxctl, the real ovx-controller. Checks that --once writes exactly the
# maps this node must hold (read back through the typed map wrappers, with
# ovx-test-mapfill), attaches tc_endpoint to the local endpoint veth, writes
# nothing the second time, follows registry edits and interfaces that
# appear later, and leaves the maps alone when stopped.
#
#   h1 192.168.50.1 (attached, the node under test): web1 10.10.0.5 (blue)
#   h2 192.168.50.2: db1 10.10.0.6, db2 10.10.0.7 (blue)   remote, no iface
#   h3 192.168.50.3: r3 10.20.0.3 (red)        red is not present on h1
source "$(dirname "${BASH_SOURCE[0]}")/../../tests/e2e/lib.sh"

e2e_require_root
e2e_build_dir ovx-loader ovxctl ovx-controller ovx-test-mapfill
e2e_init

# fnv1a NAME: the node_id the controller stores in vteps.
fnv1a() {
  local s=$1 h=2166136261 i c
  for ((i = 0; i < ${#s}; i++)); do
    printf -v c '%d' "'${s:i:1}"
    h=$(((h ^ c) * 16777619 & 0xffffffff))
  done
  echo "$h"
}

# once [flags...]: ovx-controller --once on h1; output in $RUN_DIR/logs/once-N.log
ONCE_N=0
once() {
  ONCE_N=$((ONCE_N + 1))
  ONCE_LOG=$RUN_DIR/logs/once-$ONCE_N.log
  hexec h1 "$OVX_CONTROLLER_BIN" --once --node=h1 --registry="$REGISTRY" \
    --bpffs="${HOST_BPFFS[h1]}" "$@" >"$ONCE_LOG" 2>&1
}

# expect_map MAP EXPECTED: the sorted dump of MAP on h1 equals EXPECTED.
expect_map() {
  local map=$1 want=$2 got
  got=$(mapfill h1 dump "$map" | sort)
  want=$(sort <<<"$want")
  if [[ $got == "$want" ]]; then
    pass "$map holds exactly what h1 needs"
  else
    fail "$map differs"
    diff <(echo "$want") <(echo "$got") | sed 's/^/         | /'
  fi
}

summary() { grep -o 'reconciled revision=[0-9]*: .*' "$ONCE_LOG" | tail -n 1; }

heading "setup: h1 attached, registry with ovxctl"
host_add h1 192.168.50.1
host_add h2 192.168.50.2
underlay_pair h1 h2
ovx_attach_host h1
container_add h1 web1 10.10.0.5/24
ovxctl network create blue --vni=100 --subnet=10.10.0.0/24 >/dev/null
ovxctl network create red --vni=200 --subnet=10.20.0.0/24 >/dev/null
ovxctl node add h1 --vtep=192.168.50.1 >/dev/null
ovxctl node add h2 --vtep=192.168.50.2 >/dev/null
ovxctl node add h3 --vtep=192.168.50.3 >/dev/null
ovxctl endpoint add web1 --network=blue --node=h1 --iface="${CT_IFACE[web1]}" \
  --ip=10.10.0.5 --mac="${CT_MAC[web1]}" >/dev/null
ovxctl endpoint add db1 --network=blue --node=h2 --ip=10.10.0.6 \
  --mac=02:00:0a:0a:00:06 >/dev/null
ovxctl endpoint add db2 --network=blue --node=h2 --ip=10.10.0.7 \
  --mac=02:00:0a:0a:00:07 >/dev/null
ovxctl endpoint add r3 --network=red --node=h3 --ip=10.20.0.3 \
  --mac=02:00:0a:14:00:03 >/dev/null
# Registered before its interface exists.
ovxctl endpoint add late --network=blue --node=h1 --iface=v-late \
  --ip=10.10.0.9 --mac=02:00:0a:0a:00:09 >/dev/null
WEB1_IFINDEX=$(ifindex h1 "${CT_IFACE[web1]}")

heading "refusals"
empty=$RUN_DIR/empty-bpffs
mkdir -p "$empty"
if hexec h1 "$OVX_CONTROLLER_BIN" --once --node=h1 --registry="$REGISTRY" \
  --bpffs="$empty" >"$RUN_DIR/logs/unattached.log" 2>&1; then
  fail "--once on an unattached bpffs succeeded"
else
  check "unattached node: clear error" grep -q "no ovx maps under $empty: run 'ovx-loader attach" "$RUN_DIR/logs/unattached.log"
fi
if hexec h1 "$OVX_CONTROLLER_BIN" --once --node=nosuch --registry="$REGISTRY" \
  --bpffs="${HOST_BPFFS[h1]}" >"$RUN_DIR/logs/nosuch.log" 2>&1; then
  fail "--once for a node not in the registry succeeded"
else
  check "unknown node: clear error" grep -q "node 'nosuch' is not in the registry" "$RUN_DIR/logs/nosuch.log"
fi
check "refusals wrote nothing" bash -c "[[ -z \$('$OVX_TEST_MAPFILL_BIN' --bpffs='${HOST_BPFFS[h1]}' dump endpoints) ]]"

heading "first --once fills the maps"
if once; then pass "--once exit 0"; else fail "--once failed: $(tail -n 3 "$ONCE_LOG")"; fi
log "$(summary)"
check "summary +7 ~0 -0" grep -q 'reconciled revision=[0-9]*: +7 ~0 -0$' "$ONCE_LOG"
check "late endpoint reported as waiting" grep -q 'waiting for interface: late (v-late)' "$ONCE_LOG"
expect_map networks "vni=100 mtu=1450 flags=0"
expect_map vteps "vtep=192.168.50.2 node_id=$(fnv1a h2)"
expect_map vtep_vnis "vtep=192.168.50.2 vni=100 endpoints=2"
# Same network, same (no) labels: one identity, the first allocated.
expect_map interfaces "ifindex=$WEB1_IFINDEX vni=100 ip=10.10.0.5 mac=${CT_MAC[web1]} identity=256"
expect_map endpoints "vni=100 ip=10.10.0.5 local ifindex=$WEB1_IFINDEX mac=${CT_MAC[web1]} identity=256
vni=100 ip=10.10.0.6 remote vtep=192.168.50.2 mac=02:00:0a:0a:00:06 identity=256
vni=100 ip=10.10.0.7 remote vtep=192.168.50.2 mac=02:00:0a:0a:00:07 identity=256"
check "tc_endpoint link pinned for ${CT_IFACE[web1]}" test -e "${HOST_BPFFS[h1]}/links/endpoint-${CT_IFACE[web1]}"
# bpftool 7.1 does not list tcx links; the loader reads them back (link info,
# so a live link on this very ifindex, not just a pin).
tcx_on() {
  ovx_status_json h1 | jq -e --arg i "$1" --argjson x "$2" \
    '.interfaces[] | select(.iface == $i and .ifindex == $x and .hook == "tcx-ingress" and .program == "tc_endpoint")'
}
check "tcx ingress link on ${CT_IFACE[web1]} runs tc_endpoint" tcx_on "${CT_IFACE[web1]}" "$WEB1_IFINDEX"

heading "second --once writes nothing"
once || fail "second --once failed"
log "$(summary)"
check "summary +0 ~0 -0" grep -q 'reconciled revision=[0-9]*: +0 ~0 -0$' "$ONCE_LOG"
check "no change line" bash -c "! grep -Eq '^\S+ (networks|vteps|vtep_vnis|interfaces|endpoints): ' '$ONCE_LOG'"

heading "registry edit: only the difference"
ovxctl endpoint rm db2 >/dev/null
once || fail "--once after endpoint rm failed"
log "$(summary)"
check "summary +0 ~1 -1" grep -q 'reconciled revision=[0-9]*: +0 ~1 -1$' "$ONCE_LOG"
expect_map vtep_vnis "vtep=192.168.50.2 vni=100 endpoints=1"

heading "running controller: interfaces appearing, registry events, SIGTERM"
bg controller host h1 "$OVX_CONTROLLER_BIN" --node=h1 --registry="$REGISTRY" \
  --bpffs="${HOST_BPFFS[h1]}"
CTRL=$BG_PID
CTRL_LOG_FILE=$RUN_DIR/logs/controller.log
check "started with +0 ~0 -0" wait_for 5 grep -q 'reconciled revision=[0-9]*: +0 ~0 -0' "$CTRL_LOG_FILE"
has_late() { mapfill h1 dump endpoints | grep -q ' ip=10.10.0.9 local '; }
t0=$(now_ms)
container_add h1 late 10.10.0.9/24 02:00:0a:0a:00:09
if wait_for 2 has_late; then
  ms=$(($(now_ms) - t0))
  if ((ms < 1000)); then pass "interface v-late picked up in ${ms} ms"; else fail "v-late took ${ms} ms (limit 1000)"; fi
else
  fail "v-late never reached the endpoints map"
fi
check "tc_endpoint attached to v-late" wait_for 2 tcx_on v-late "$(ifindex h1 v-late)"
has_db3() { mapfill h1 dump endpoints | grep -q ' ip=10.10.0.8 remote '; }
t0=$(now_ms)
ovxctl endpoint add db3 --network=blue --node=h2 --ip=10.10.0.8 \
  --mac=02:00:0a:0a:00:08 >/dev/null
if wait_for 2 has_db3; then
  ms=$(($(now_ms) - t0))
  if ((ms < 1000)); then pass "registry add applied in ${ms} ms"; else fail "registry add took ${ms} ms (limit 1000)"; fi
else
  fail "db3 never reached the endpoints map"
fi
ip -n "${HOST_NS[h1]}" link del v-late
check "v-late gone: its entries go" wait_for 2 bash -c "! '$OVX_TEST_MAPFILL_BIN' --bpffs='${HOST_BPFFS[h1]}' dump endpoints | grep -q ' ip=10.10.0.9 '"
before=$(for m in networks vteps vtep_vnis interfaces endpoints; do mapfill h1 dump "$m" | sort; done)
kill -TERM "$CTRL"
if wait "$CTRL"; then pass "SIGTERM: exit 0"; else fail "SIGTERM: exit $?"; fi
after=$(for m in networks vteps vtep_vnis interfaces endpoints; do mapfill h1 dump "$m" | sort; done)
check "SIGTERM left the maps as they were" test "$before" == "$after"
check "stop logged" grep -q 'stopping: maps left as they are' "$CTRL_LOG_FILE"

e2e_finish
