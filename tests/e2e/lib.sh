# shellcheck shell=bash
# tests/e2e/lib.sh - the namespace framework shared by the e2e tests and
# scripts/lab.sh. Source it; it does not run anything by itself.
#
# Model: a "host" is a network namespace with an underlay interface eth0
# (its VTEP address, MTU 1500) and a bpffs of its own mounted in the ROOT
# mount namespace at $RUN_DIR/<host>/bpffs, handed to ovx via --bpffs. A
# "container" is a namespace whose eth0 (MTU 1450) is a veth whose peer (the
# endpoint's host-side interface) lives in its host's namespace. Hosts reach
# each other over a direct veth pair (underlay_pair) or a bridge in a
# "switch" namespace (underlay_switch).
#
# Programs run with `nsenter --net=`, never `ip netns exec`: that one also
# enters a new mount namespace with a fresh /sys, where a bpffs mounted
# under /sys/fs/bpf is not visible.
#
# Everything created is recorded in $RUN_DIR/state/* and removed by
# e2e_cleanup, which runs on EXIT (also after an error, Ctrl-C or TERM), so
# a failing test leaves nothing behind. A kept lab is torn down later from
# the same files (e2e_cleanup_dir).

set -Eeuo pipefail

# ---- globals --------------------------------------------------------------

E2E_NAME=${E2E_NAME:-$(basename "${0:-e2e}" .sh)}
E2E_FAILURES=0
E2E_CHECKS=0
E2E_KEEP=${E2E_KEEP:-0}
E2E_QUIET=${E2E_QUIET:-0}
E2E_CLEANED=0

# shellcheck disable=SC2034 # some are only read by the tests and the lab
declare -A HOST_NS=() HOST_VTEP=() HOST_BPFFS=() HOST_MAC=()
declare -A CT_NS=() CT_HOST=() CT_IP=() CT_PREFIX=() CT_MAC=() CT_IFACE=()
HOSTS=()
CONTAINERS=()
SWITCH_NS=""
UNDERLAY_PREFIX=24

# ---- output ---------------------------------------------------------------

if [[ -t 1 ]]; then
  _C_RED=$'\e[31m' _C_GREEN=$'\e[32m' _C_BOLD=$'\e[1m' _C_OFF=$'\e[0m'
else
  _C_RED="" _C_GREEN="" _C_BOLD="" _C_OFF=""
fi

log() { [[ $E2E_QUIET == 1 ]] || echo "[$E2E_NAME] $*"; }
heading() { echo; echo "${_C_BOLD}==== $* ====${_C_OFF}"; }
die() { echo "${_C_RED}[$E2E_NAME] FATAL: $*${_C_OFF}" >&2; exit 1; }

# pass/fail record one expectation; a test ends with e2e_finish.
pass() {
  E2E_CHECKS=$((E2E_CHECKS + 1))
  echo "${_C_GREEN}  ok${_C_OFF}   $*"
}
fail() {
  E2E_CHECKS=$((E2E_CHECKS + 1))
  E2E_FAILURES=$((E2E_FAILURES + 1))
  echo "${_C_RED}  FAIL${_C_OFF} $*"
}
# check "description" cmd...: pass if cmd succeeds, else fail with its output.
check() {
  local what=$1 out
  shift
  if out=$("$@" 2>&1); then
    pass "$what"
  else
    fail "$what"
    [[ -n $out ]] && sed 's/^/         | /' <<<"$out" | tail -n 15
  fi
  return 0
}

e2e_finish() {
  echo
  if ((E2E_FAILURES > 0)); then
    echo "${_C_RED}[$E2E_NAME] FAILED: $E2E_FAILURES of $E2E_CHECKS checks${_C_OFF}"
    exit 1
  fi
  echo "${_C_GREEN}[$E2E_NAME] PASSED: $E2E_CHECKS checks${_C_OFF}"
  exit 0
}

# ---- setup and teardown ---------------------------------------------------

# e2e_require_root: not root is a skip (exit 77) locally and a FAILURE in CI.
e2e_require_root() {
  if [[ $(id -u) -ne 0 ]]; then
    if [[ ${CI:-} == true ]]; then
      die "needs root (network namespaces, bpffs, BPF programs); CI=true so this is a failure"
    fi
    echo "[$E2E_NAME] SKIP: needs root" >&2
    exit 77
  fi
  local tool
  for tool in ip bridge nsenter tcpdump nc ping ethtool jq sha256sum; do
    command -v "$tool" >/dev/null || die "missing tool '$tool' (scripts/install-deps.sh)"
  done
}

# e2e_build_dir BIN...: resolves $OVX_BUILD_DIR (default ./build) and each
# named binary into OVX_LOADER_BIN, OVXCTL_BIN, OVX_CONTROLLER_BIN,
# OVX_TEST_MAPFILL_BIN (CTest passes them; by hand they are looked up in
# the build dir).
e2e_build_dir() {
  local dir=${OVX_BUILD_DIR:-build}
  [[ -d $dir ]] || die "build dir '$dir' does not exist (set OVX_BUILD_DIR)"
  OVX_BUILD_DIR=$(cd "$dir" && pwd)
  export OVX_BUILD_DIR
  local bin var path
  for bin in "$@"; do
    var=${bin^^}
    var=${var//-/_}_BIN
    path=${!var:-}
    if [[ -z $path || ! -x $path ]]; then
      path=$OVX_BUILD_DIR/$bin
      [[ -x $path ]] ||
        path=$(find "$OVX_BUILD_DIR" -maxdepth 3 -type f -name "$bin" -perm -u+x 2>/dev/null | head -n 1)
    fi
    [[ -n $path && -x $path ]] ||
      die "$bin not built in $OVX_BUILD_DIR (make -C $OVX_BUILD_DIR $bin)"
    printf -v "$var" '%s' "$path"
    export "${var?}"
  done
}

# e2e_init [RUN_DIR]: unique prefix, run dir, traps. Tests call it with no
# argument; the lab passes a fixed dir so --down can find it.
e2e_init() {
  local rand
  rand=$(od -An -N2 -tx2 /dev/urandom | tr -d ' ')
  E2E_PREFIX=${E2E_PREFIX:-ovxe2e-$$$rand}
  if [[ -n ${1:-} ]]; then
    RUN_DIR=$1
    mkdir -p "$RUN_DIR"
  else
    RUN_DIR=$(mktemp -d "/tmp/ovx-e2e-$E2E_NAME.XXXXXX")
  fi
  mkdir -p "$RUN_DIR/state" "$RUN_DIR/logs"
  echo "$E2E_PREFIX" >"$RUN_DIR/state/prefix"
  REGISTRY="file:$RUN_DIR/registry.json"
  export RUN_DIR E2E_PREFIX REGISTRY
  trap 'e2e_on_err $LINENO "$BASH_COMMAND"' ERR
  trap 'e2e_on_exit' EXIT
  trap 'echo; log "interrupted"; exit 130' INT TERM
  log "run dir $RUN_DIR, prefix $E2E_PREFIX"
}

e2e_on_err() {
  echo "${_C_RED}[$E2E_NAME] error: '$2' failed (line $1)${_C_OFF}" >&2
}

e2e_on_exit() {
  local rc=$?
  trap - ERR EXIT INT TERM
  set +e
  if ((rc != 0)) && [[ -d ${RUN_DIR:-/nonexistent}/logs ]]; then
    local f
    for f in "$RUN_DIR"/logs/*.log; do
      [[ -s $f ]] || continue
      echo "---- tail of $(basename "$f") ----" >&2
      tail -n 20 "$f" >&2
    done
  fi
  # A kept lab stays up even when a check failed (to look at it); an
  # interrupt always tears down.
  if [[ $E2E_KEEP == 1 && $rc -ne 130 ]]; then
    exit "$rc"
  fi
  e2e_cleanup
  exit "$rc"
}

# e2e_cleanup: kills recorded processes, deletes namespaces (and with them
# every link and attached program), unmounts the bpffs, removes the run dir.
e2e_cleanup() {
  [[ $E2E_CLEANED == 1 || -z ${RUN_DIR:-} ]] && return 0
  E2E_CLEANED=1
  e2e_cleanup_dir "$RUN_DIR"
}

e2e_cleanup_dir() {
  local dir=$1 pid ns mnt
  local state=$dir/state
  [[ -d $state ]] || return 0
  if [[ -f $state/pids ]]; then
    while read -r pid; do
      _signal_group "$dir" "$pid" TERM
    done <"$state/pids"
    local i left
    for ((i = 0; i < 30; i++)); do
      left=""
      while read -r pid; do
        left+=$(_our_group_pids "$dir" "$pid")
      done <"$state/pids"
      [[ -n $left ]] || break
      sleep 0.1
    done
    while read -r pid; do
      _signal_group "$dir" "$pid" KILL
    done <"$state/pids"
  fi
  if [[ -f $state/netns ]]; then
    # Containers first, then hosts, then the switch (reverse creation order).
    tac "$state/netns" | while read -r ns; do
      ip netns del "$ns" 2>/dev/null || true
    done
  fi
  if [[ -f $state/mounts ]]; then
    tac "$state/mounts" | while read -r mnt; do
      umount -l "$mnt" 2>/dev/null || true
    done
  fi
  rm -rf "$dir"
}

_record() { echo "$2" >>"$RUN_DIR/state/$1"; }

# ---- running things in namespaces -----------------------------------------

ns_path() { echo "/run/netns/$1"; }

# in_ns NS cmd...: runs cmd in the network namespace only (same mounts).
in_ns() {
  local ns=$1
  shift
  nsenter --net="/run/netns/$ns" -- "$@"
}

# hexec HOST cmd...: runs on a host; LIBXDP_BPFFS points libxdp at the
# host's own bpffs so dispatcher pins of different hosts (same ifindexes in
# different namespaces) never collide.
hexec() {
  local h=$1
  shift
  [[ -n ${HOST_NS[$h]:-} ]] || die "unknown host '$h'"
  LIBXDP_BPFFS=${HOST_BPFFS[$h]} nsenter --net="/run/netns/${HOST_NS[$h]}" -- "$@"
}

# cexec CONTAINER cmd...
cexec() {
  local c=$1
  shift
  [[ -n ${CT_NS[$c]:-} ]] || die "unknown container '$c'"
  nsenter --net="/run/netns/${CT_NS[$c]}" -- "$@"
}

# bg NAME KIND WHERE cmd...: starts cmd in the background in a host (KIND
# "host"), a container ("ct"), a namespace by name ("ns") or the root
# namespace ("root", WHERE ignored),
# stdout+stderr to $RUN_DIR/logs/NAME.log, stdin from /dev/null. It gets a
# process group of its own (setsid; so pipelines and children are stopped
# together and Ctrl-C reaches only this script, whose cleanup stops them) and
# OVX_E2E_RUN=$RUN_DIR in its environment, so cleanup never signals a
# recycled pid that is not ours. Sets BG_PID (= its process group).
bg() {
  local name=$1 kind=$2 where=$3
  shift 3
  local logf=$RUN_DIR/logs/$name.log
  local -a pre=()
  case $kind in
    host)
      [[ -n ${HOST_NS[$where]:-} ]] || die "unknown host '$where'"
      pre=(env "LIBXDP_BPFFS=${HOST_BPFFS[$where]}" nsenter "--net=/run/netns/${HOST_NS[$where]}" --)
      ;;
    ct)
      [[ -n ${CT_NS[$where]:-} ]] || die "unknown container '$where'"
      pre=(nsenter "--net=/run/netns/${CT_NS[$where]}" --)
      ;;
    ns) pre=(nsenter "--net=/run/netns/$where" --) ;;
    root) ;;
    *) die "bg: unknown kind '$kind'" ;;
  esac
  setsid env "OVX_E2E_RUN=$RUN_DIR" "${pre[@]}" "$@" >"$logf" 2>&1 </dev/null &
  BG_PID=$!
  _record pids "$BG_PID"
}

# _our_group_pids DIR PGID: live processes of that group started by the run
# whose dir is DIR.
_our_group_pids() {
  local dir=$1 pgid=$2 pid
  for pid in $(ps -o pid= --sid "$pgid" 2>/dev/null || true); do
    tr '\0' '\n' 2>/dev/null <"/proc/$pid/environ" | grep -x "OVX_E2E_RUN=$dir" >/dev/null &&
      echo "$pid"
  done
  return 0
}

# _signal_group DIR PGID SIG: signals the run's processes of that group.
_signal_group() {
  local pid
  for pid in $(_our_group_pids "$1" "$2"); do
    kill "-$3" "$pid" 2>/dev/null || true
  done
}

# bg_stop PID [SIGNAL]: stops a background process group and waits for it.
bg_stop() {
  local pid=$1 sig=${2:-TERM} i
  _signal_group "$RUN_DIR" "$pid" "$sig"
  for ((i = 0; i < 50; i++)); do
    [[ -n $(_our_group_pids "$RUN_DIR" "$pid") ]] || break
    sleep 0.1
  done
  _signal_group "$RUN_DIR" "$pid" KILL
  wait "$pid" 2>/dev/null || true
}

# wait_for TIMEOUT_S cmd...: polls cmd every 50 ms until it succeeds.
wait_for() {
  local timeout=$1
  shift
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.05
  done
}

# ---- topology ---------------------------------------------------------------

_netns_add() {
  local ns=$1
  ip netns add "$ns"
  _record netns "$ns"
  ip -n "$ns" link set lo up
}

# underlay_switch: a bridge "br0" in its own namespace; hosts added after
# this call plug their eth0 into it.
underlay_switch() {
  SWITCH_NS=$E2E_PREFIX-sw
  _netns_add "$SWITCH_NS"
  ip -n "$SWITCH_NS" link add br0 type bridge
  ip -n "$SWITCH_NS" link set br0 up
}

# host_add NAME VTEP_IP: a host namespace, its bpffs and, when a switch
# exists, its underlay eth0 plugged into the switch.
host_add() {
  local h=$1 vtep=$2
  [[ -z ${HOST_NS[$h]:-} ]] || die "host '$h' exists"
  local ns=$E2E_PREFIX-$h
  _netns_add "$ns"
  HOST_NS[$h]=$ns
  HOST_VTEP[$h]=$vtep
  HOSTS+=("$h")
  local bpffs=$RUN_DIR/$h/bpffs
  mkdir -p "$bpffs"
  mount -t bpf bpf "$bpffs"
  _record mounts "$bpffs"
  HOST_BPFFS[$h]=$bpffs
  # The host forwards nothing itself: ovx's programs do.
  in_ns "$ns" sysctl -qw net.ipv4.ip_forward=0
  if [[ -n $SWITCH_NS ]]; then
    local port=p-$h
    ((${#port} <= 15)) || die "host name '$h' too long for a switch port"
    ip -n "$ns" link add eth0 type veth peer name "$port" netns "$SWITCH_NS"
    ip -n "$SWITCH_NS" link set "$port" master br0 up
    _underlay_up "$h"
  fi
  echo "$h $ns $vtep $bpffs" >>"$RUN_DIR/state/hosts"
}

# underlay_pair A B: joins two hosts' eth0 with a direct veth pair.
underlay_pair() {
  local a=$1 b=$2
  ip -n "${HOST_NS[$a]}" link add eth0 type veth peer name eth0 netns "${HOST_NS[$b]}"
  _underlay_up "$a"
  _underlay_up "$b"
}

_underlay_up() {
  local h=$1 ns=${HOST_NS[$1]}
  ip -n "$ns" link set eth0 mtu 1500
  ip -n "$ns" addr add "${HOST_VTEP[$h]}/$UNDERLAY_PREFIX" dev eth0
  ip -n "$ns" link set eth0 up
  HOST_MAC[$h]=$(ip -n "$ns" -j link show eth0 | jq -r '.[0].address')
}

# underlay_check: every host pings every other host's VTEP, so a broken
# underlay is reported as such and not as an ovx failure; then the
# neighbour tables are flushed again, so ovx's first encapsulated packet
# has to get the VTEP's MAC resolved by itself, as on a fresh host.
underlay_check() {
  local a b
  for a in "${HOSTS[@]}"; do
    for b in "${HOSTS[@]}"; do
      [[ $a == "$b" ]] && continue
      hexec "$a" ping -c 1 -W 2 "${HOST_VTEP[$b]}" >/dev/null ||
        die "underlay: $a cannot reach $b (${HOST_VTEP[$b]})"
    done
  done
  for a in "${HOSTS[@]}"; do
    ip -n "${HOST_NS[$a]}" neigh flush dev eth0
  done
}

# mac_for_ip IP: a stable locally administered MAC derived from the IP.
mac_for_ip() {
  local IFS=.
  # shellcheck disable=SC2086
  set -- $1
  printf '02:42:%02x:%02x:%02x:%02x\n' "$1" "$2" "$3" "$4"
}

# container_add HOST NAME IP/PREFIX [MAC]: a container namespace with eth0
# (MTU 1450, GRO on so XDP redirects into it get NAPI) and a default route
# on-link, so every destination (even another network's) is ARPed for on
# eth0 and the dataplane, not a missing route, decides. The host side of
# the veth is named v-NAME (CT_IFACE) in the host namespace, left without
# an address.
container_add() {
  local h=$1 c=$2 cidr=$3 mac=${4:-}
  [[ -n ${HOST_NS[$h]:-} ]] || die "unknown host '$h'"
  [[ -z ${CT_NS[$c]:-} ]] || die "container '$c' exists"
  local ip=${cidr%/*} prefix=${cidr#*/}
  [[ -n $mac ]] || mac=$(mac_for_ip "$ip")
  local ns=$E2E_PREFIX-$c iface=v-$c
  ((${#iface} <= 15)) || die "container name '$c' too long (max 13 chars)"
  _netns_add "$ns"
  ip -n "${HOST_NS[$h]}" link add "$iface" type veth peer name eth0 netns "$ns"
  ip -n "$ns" link set eth0 address "$mac" mtu 1450
  ip -n "$ns" addr add "$cidr" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route add default dev eth0
  in_ns "$ns" ethtool -K eth0 gro on >/dev/null 2>&1 || true
  ip -n "${HOST_NS[$h]}" link set "$iface" mtu 1450 up
  CT_NS[$c]=$ns
  CT_HOST[$c]=$h
  CT_IP[$c]=$ip
  CT_PREFIX[$c]=$prefix
  CT_MAC[$c]=$mac
  CT_IFACE[$c]=$iface
  CONTAINERS+=("$c")
  echo "$c $ns $h $ip $mac $iface" >>"$RUN_DIR/state/containers"
}

# ifindex HOST IFACE
ifindex() {
  ip -n "${HOST_NS[$1]}" -j link show "$2" | jq -r '.[0].ifindex'
}

# ---- traffic assertions ------------------------------------------------------

# ping_ok SRC DST_IP [COUNT]: quiet predicate.
ping_ok() {
  cexec "$1" ping -n -c "${3:-3}" -i 0.2 -W 1 "$2"
}

expect_ping_ok() {
  local src=$1 dst=$2 ip=${CT_IP[$2]:-$2}
  check "ping $src -> $dst ($ip) succeeds" ping_ok "$src" "$ip"
}

expect_ping_fail() {
  local src=$1 dst=$2 ip=${CT_IP[$2]:-$2} out
  if out=$(cexec "$src" ping -n -c 2 -i 0.2 -W 1 "$ip" 2>&1); then
    fail "ping $src -> $dst ($ip) must fail but got replies"
    sed 's/^/         | /' <<<"$out" | tail -n 5
  else
    pass "ping $src -> $dst ($ip) fails"
  fi
}

# payload MB: a random file of MB megabytes, made once per run.
payload() {
  local f=$RUN_DIR/payload-$1M
  [[ -f $f ]] || head -c "$(($1 * 1024 * 1024))" /dev/urandom >"$f"
  echo "$f"
}

_E2E_PORT=5000
_listening() { cexec "$1" ss -Hltn "sport = :$2" | grep LISTEN >/dev/null; }

# tcp_transfer SRC DST MB PORT: sends MB random megabytes over TCP from SRC
# to DST:PORT with nc; succeeds when the received sha256 equals the sent
# one. Prints what went wrong otherwise.
tcp_transfer() {
  local src=$1 dst=$2 mb=$3 port=$4 ip=${CT_IP[$2]:-$2}
  local file sum_out
  file=$(payload "$mb")
  sum_out=$RUN_DIR/rx-$dst-$port.sha
  bg "nc-rx-$dst-$port" ct "$dst" bash -c "nc -l -n -w 20 $port | sha256sum >$sum_out"
  local rx=$BG_PID
  if ! wait_for 5 _listening "$dst" "$port"; then
    bg_stop "$rx"
    echo "listener on $dst:$port never came up"
    return 1
  fi
  local start=$SECONDS out
  if ! out=$(cexec "$src" timeout 60 nc -n -N -w 10 "$ip" "$port" <"$file" 2>&1); then
    bg_stop "$rx"
    echo "sender $src -> $ip:$port failed: $out"
    return 1
  fi
  local i
  for ((i = 0; i < 100; i++)); do
    kill -0 "$rx" 2>/dev/null || break
    sleep 0.1
  done
  bg_stop "$rx"
  local want got
  want=$(sha256sum <"$file" | cut -d' ' -f1)
  got=$(cut -d' ' -f1 "$sum_out" 2>/dev/null || true)
  if [[ $want != "$got" ]]; then
    echo "sha256 mismatch: sent $want, received ${got:-nothing}"
    return 1
  fi
  echo "$mb MB in $((SECONDS - start)) s, sha256 $want"
}

expect_tcp_ok() {
  local src=$1 dst=$2 mb=${3:-1} out port=$((_E2E_PORT++))
  payload "$mb" >/dev/null # made here, not in the subshell, to be reused
  if out=$(tcp_transfer "$src" "$dst" "$mb" "$port" 2>&1); then
    pass "tcp $src -> $dst: $out"
  else
    fail "tcp $src -> $dst ($mb MB)"
    sed 's/^/         | /' <<<"$out" | tail -n 10
  fi
}

# expect_tcp_fail SRC DST: a listener on DST must be unreachable from SRC.
expect_tcp_fail() {
  local src=$1 dst=$2 ip=${CT_IP[$2]:-$2}
  local port=$((_E2E_PORT++))
  bg "nc-rx-$dst-$port" ct "$dst" nc -l -n "$port"
  local rx=$BG_PID
  wait_for 5 _listening "$dst" "$port" || true
  if cexec "$src" nc -n -z -w 2 "$ip" "$port" >/dev/null 2>&1; then
    fail "tcp $src -> $dst ($ip:$port) must fail but connected"
  else
    pass "tcp $src -> $dst ($ip:$port) fails"
  fi
  bg_stop "$rx"
}

# ---- capture -------------------------------------------------------------------

# capture_start HOST IFACE NAME [TCPDUMP ARGS/FILTER...]: tcpdump into
# $RUN_DIR/NAME.pcap; returns once tcpdump listens. Sets CAP_PID, CAP_PCAP.
# Immediate mode: without it the kernel hands packets over once a second,
# and a capture stopped sooner loses them.
capture_start() {
  _capture_start host "$@"
}

# capture_start_ct CONTAINER IFACE NAME [...]: the same inside a container.
# Traffic that TC ingress delivers with bpf_redirect_peer never crosses the
# host-side veth, so only a capture in the container sees what arrives.
capture_start_ct() {
  _capture_start ct "$@"
}

_capture_start() {
  local kind=$1 where=$2 iface=$3 name=$4
  shift 4
  CAP_PCAP=$RUN_DIR/$name.pcap
  bg "tcpdump-$name" "$kind" "$where" tcpdump -i "$iface" -nn -U \
    --immediate-mode -s 256 -w "$CAP_PCAP" "$@"
  CAP_PID=$BG_PID
  wait_for 5 grep -q "listening on" "$RUN_DIR/logs/tcpdump-$name.log" ||
    die "tcpdump on $where/$iface did not start"
}

capture_stop() {
  sleep 0.3 # let the last packets reach the file
  bg_stop "$1" INT
}

# wire_capture_start NAME: captures what every host sends on its underlay
# eth0 (tcpdump -Q out). Together that is everything the wire carries, seen
# before the receiver's programs: with XDP ingress a capture of the
# receiving side would show packets ovx has already decapsulated. Sets
# WIRE_PCAPS.
WIRE_PIDS=()
WIRE_PCAPS=()
wire_capture_start() {
  local h
  WIRE_PIDS=()
  WIRE_PCAPS=()
  for h in "${HOSTS[@]}"; do
    capture_start "$h" eth0 "$1-$h" -Q out
    WIRE_PIDS+=("$CAP_PID")
    WIRE_PCAPS+=("$CAP_PCAP")
  done
}

wire_capture_stop() {
  local pid
  sleep 0.3
  for pid in "${WIRE_PIDS[@]}"; do
    bg_stop "$pid" INT
  done
}

# pcap_vxlan PCAP...: one line per UDP/4789 frame, decoded from the raw bytes
# (Ethernet + IPv4 without options + UDP + VXLAN + inner Ethernet + IPv4):
#   flags=08 vni=100 outer=SRC>DST inner=SRC>DST proto=N
pcap_vxlan() {
  local f
  for f in "$@"; do
    tcpdump -r "$f" -nn -xx 'udp port 4789' 2>/dev/null
  done | awk '
    function strtonum(h,   i, v) { # mawk has no strtonum; h is "0x..."
      v = 0
      for (i = 3; i <= length(h); i++)
        v = v * 16 + index("0123456789abcdef", tolower(substr(h, i, 1))) - 1
      return v
    }
    function flush() {
      if (n == 0) return
      if (b[14] != "45" || b[23] != "11") { n = 0; return }
      vni = strtonum("0x" b[46] b[47] b[48])
      printf "flags=%s vni=%d outer=%s>%s inner=%s>%s proto=%d\n", b[42], vni,
        ip(26), ip(30), ip(76), ip(80), strtonum("0x" b[73])
      n = 0
    }
    function ip(o) {
      return strtonum("0x" b[o]) "." strtonum("0x" b[o+1]) "." \
             strtonum("0x" b[o+2]) "." strtonum("0x" b[o+3])
    }
    /^[^ \t]/ { flush(); next }
    /^\t0x/ {
      for (i = 2; i <= NF; i++) {
        w = $i
        if (length(w) == 4) { b[n++] = substr(w, 1, 2); b[n++] = substr(w, 3, 2) }
        else if (length(w) == 2) { b[n++] = w }
      }
    }
    END { flush() }'
}

# pcap_count FILTER PCAP...: packets matching a tcpdump filter.
pcap_count() {
  local filter=$1 f
  shift
  for f in "$@"; do
    tcpdump -r "$f" -nn "$filter" 2>/dev/null
  done | wc -l
}

# ---- ovx helpers ---------------------------------------------------------------

ovx_loader() {
  local h=$1
  shift
  hexec "$h" "$OVX_LOADER_BIN" "$@"
}

# ovx_attach_host HOST [extra loader flags]: XDP/TC on the underlay. The
# variant under test comes from OVX_XDP_MODE (native|skb, default native)
# OVX_DECAP_DELIVERY (tc|xdp, default the loader's) and OVX_INGRESS
# (auto|xdp|tc, default the loader's auto: tc on these veth underlays).
ovx_attach_host() {
  local h=$1
  shift
  local -a flags=(--xdp-mode="${OVX_XDP_MODE:-native}")
  [[ -z ${OVX_DECAP_DELIVERY:-} ]] || flags+=(--decap-delivery="$OVX_DECAP_DELIVERY")
  [[ -z ${OVX_INGRESS:-} ]] || flags+=(--ingress="$OVX_INGRESS")
  ovx_loader "$h" attach --iface=eth0 --vtep="${HOST_VTEP[$h]}" \
    --bpffs="${HOST_BPFFS[$h]}" "${flags[@]}" "$@" >>"$RUN_DIR/logs/loader-$h.log" 2>&1 ||
    die "ovx-loader attach on $h failed: $(tail -n 5 "$RUN_DIR/logs/loader-$h.log")"
}

# expected_ingress: the hook ovx_attach_host gets on these veth underlays:
# OVX_INGRESS when forced, else what the loader's auto picks (xdp when
# XDP-only options are set, tc for a veth).
expected_ingress() {
  case ${OVX_INGRESS:-auto} in
    xdp | tc) echo "$OVX_INGRESS" ;;
    *) if [[ ${OVX_XDP_MODE:-} == skb || ${OVX_DECAP_DELIVERY:-} == xdp ]]; then
         echo xdp
       else
         echo tc
       fi ;;
  esac
}

# expect_ingress HOST: the loader said which hook it chose, status shows
# it in use, and ovx's XDP program is on the underlay exactly with xdp.
expect_ingress() {
  local h=$1 want status xdp_rows
  want=$(expected_ingress)
  check "$h: attach logged 'ingress: $want (...)'"     grep -q "^ingress: $want (" "$RUN_DIR/logs/loader-$h.log"
  status=$(ovx_status_json "$h")
  check "$h: status shows ingress $want"     test "$(jq -r .config.ingress <<<"$status")" = "$want"
  xdp_rows=$(jq '[.interfaces[] | select(.hook == "xdp")] | length' <<<"$status")
  check "$h: $([[ $want == xdp ]] && echo one || echo no) XDP program on eth0"     test "$xdp_rows" -eq "$([[ $want == xdp ]] && echo 1 || echo 0)"
}

# ovx_attach_endpoint CONTAINER: TC on the container's host-side veth.
ovx_attach_endpoint() {
  local c=$1 h=${CT_HOST[$1]}
  ovx_loader "$h" attach --iface="${CT_IFACE[$c]}" --endpoint \
    --bpffs="${HOST_BPFFS[$h]}" >>"$RUN_DIR/logs/loader-$h.log" 2>&1 ||
    die "ovx-loader attach --endpoint ${CT_IFACE[$c]} on $h failed: $(tail -n 5 "$RUN_DIR/logs/loader-$h.log")"
}

# ovx_attach_all [ATTACH FLAGS...]: ovx on every host's underlay (with the
# flags), tc_endpoint on every container's veth, then the maps filled from
# CT_VNI (mapfill_topology).
ovx_attach_all() {
  local h c
  for h in "${HOSTS[@]}"; do
    ovx_attach_host "$h" "$@"
  done
  for c in "${CONTAINERS[@]}"; do
    ovx_attach_endpoint "$c"
  done
  mapfill_topology
}

# ovx_status_json HOST
ovx_status_json() {
  ovx_loader "$1" status --json --bpffs="${HOST_BPFFS[$1]}"
}

# ovxctl args...: against $REGISTRY. With an etcd registry it runs in the
# switch namespace, where etcd listens.
ovxctl() {
  if [[ $REGISTRY == etcd://* ]]; then
    in_ns "$SWITCH_NS" "$OVXCTL_BIN" --registry="$REGISTRY" "$@"
  else
    "$OVXCTL_BIN" --registry="$REGISTRY" "$@"
  fi
}

# etcd_start: a real single-member etcd for this run, listening on the
# underlay in the switch namespace (br0 gets 192.168.50.254), so hosts'
# controllers reach it over their eth0 (through ovx's underlay programs,
# which must pass it untouched) and nothing collides with another etcd on
# this machine.
# Sets REGISTRY=etcd://192.168.50.254:2379. Needs underlay_switch first.
ETCD_IP=192.168.50.254
etcd_start() {
  [[ -n $SWITCH_NS ]] || die "etcd_start needs underlay_switch first"
  local etcd_bin=${OVX_ETCD:-$(command -v etcd || true)}
  [[ -n $etcd_bin ]] || die "no etcd binary (scripts/install-deps.sh installs etcd-server, or set OVX_ETCD)"
  ip -n "$SWITCH_NS" addr add "$ETCD_IP/$UNDERLAY_PREFIX" dev br0
  local client=http://$ETCD_IP:2379 peer=http://127.0.0.1:2380
  bg etcd ns "$SWITCH_NS" "$etcd_bin" \
    --name e2e --data-dir "$RUN_DIR/etcd" \
    --listen-client-urls "$client" --advertise-client-urls "$client" \
    --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
    --initial-cluster "e2e=$peer" --initial-cluster-state new \
    --initial-cluster-token "$E2E_PREFIX"
  REGISTRY=etcd://$ETCD_IP:2379
  export REGISTRY
  wait_for 15 in_ns "$SWITCH_NS" etcdctl --endpoints="$client" endpoint health ||
    die "etcd did not become healthy (see $RUN_DIR/logs/etcd.log)"
  log "etcd up at $client"
}

# mapfill HOST args...: ovx-test-mapfill on HOST's bpffs.
mapfill() {
  local h=$1
  shift
  "$OVX_TEST_MAPFILL_BIN" --bpffs="${HOST_BPFFS[$h]}" "$@"
}

# mapfill_topology: fills every host's maps the way a controller would from
# CT_VNI[container] (containers without a VNI are ignored; hosts in
# HOST_FOREIGN get no maps but do count as remote VTEPs): its networks,
# its local endpoints and interfaces, every other host's endpoints as
# remote, and those hosts as VTEPs of their VNIs.
declare -A CT_VNI=() HOST_FOREIGN=()
mapfill_topology() {
  local h c vni idx
  for h in "${HOSTS[@]}"; do
    # A foreign host (plain Linux vxlan) has no ovx maps of its own.
    [[ -z ${HOST_FOREIGN[$h]:-} ]] || continue
    local -A vnis=() remote_vnis=()
    for c in "${CONTAINERS[@]}"; do
      vni=${CT_VNI[$c]:-}
      [[ -n $vni ]] || continue
      if [[ ${CT_HOST[$c]} == "$h" ]]; then
        vnis[$vni]=1
      fi
    done
    for vni in "${!vnis[@]}"; do
      mapfill "$h" network --vni="$vni" --mtu=1450
    done
    for c in "${CONTAINERS[@]}"; do
      vni=${CT_VNI[$c]:-}
      [[ -n $vni && -n ${vnis[$vni]:-} ]] || continue
      if [[ ${CT_HOST[$c]} == "$h" ]]; then
        idx=$(ifindex "$h" "${CT_IFACE[$c]}")
        mapfill "$h" endpoint-local --vni="$vni" --ip="${CT_IP[$c]}" \
          --mac="${CT_MAC[$c]}" --ifindex="$idx"
        mapfill "$h" interface --vni="$vni" --ip="${CT_IP[$c]}" \
          --mac="${CT_MAC[$c]}" --ifindex="$idx"
      else
        local vtep=${HOST_VTEP[${CT_HOST[$c]}]}
        mapfill "$h" endpoint-remote --vni="$vni" --ip="${CT_IP[$c]}" \
          --mac="${CT_MAC[$c]}" --vtep="$vtep"
        mapfill "$h" vtep --ip="$vtep"
        remote_vnis[$vtep/$vni]=$((${remote_vnis[$vtep/$vni]:-0} + 1))
      fi
    done
    local k
    for k in "${!remote_vnis[@]}"; do
      mapfill "$h" vtep-vni --ip="${k%/*}" --vni="${k#*/}" --count="${remote_vnis[$k]}"
    done
  done
}

# counter HOST DIR REASON: packets ovx counted for (egress|ingress, reason
# name), as `ovx-loader status --json` reports them.
counter() {
  ovx_status_json "$1" | jq --arg d "$2" --arg r "$3" \
    '[.counters[] | select(.direction == $d and .reason == $r) | .packets] | add // 0'
}

# static_neigh CONTAINER IP MAC: a permanent ARP entry, so the container
# sends IP packets to IP without asking (the dataplane must then decide).
static_neigh() {
  ip -n "${CT_NS[$1]}" neigh replace "$2" lladdr "$3" dev eth0 nud permanent
}

# ---- control plane: registry, controllers -----------------------------------

declare -A CTRL_PID=() CTRL_LOG=()
declare -A NET_VNI=() NET_SUBNET=()
declare -A CT_NET=()

# cluster_network NAME VNI SUBNET: ovxctl network create.
cluster_network() {
  NET_VNI[$1]=$2
  NET_SUBNET[$1]=$3
  ovxctl network create "$1" --vni="$2" --subnet="$3" >>"$RUN_DIR/logs/ovxctl.log" 2>&1 ||
    die "ovxctl network create $1 failed: $(tail -n 3 "$RUN_DIR/logs/ovxctl.log")"
}

# cluster_host NAME VTEP: a host (on the switch), registered as a node, with
# ovx attached to its underlay.
cluster_host() {
  host_add "$1" "$2"
  ovxctl node add "$1" --vtep="$2" >>"$RUN_DIR/logs/ovxctl.log" 2>&1 ||
    die "ovxctl node add $1 failed: $(tail -n 3 "$RUN_DIR/logs/ovxctl.log")"
  ovx_attach_host "$1"
}

# cluster_container HOST NAME NETWORK IP: a container, registered as an
# endpoint with its host-side veth, IP and MAC.
cluster_container() {
  local h=$1 c=$2 net=$3 ip=$4
  container_add "$h" "$c" "$ip/${NET_SUBNET[$net]#*/}"
  CT_NET[$c]=$net
  CT_VNI[$c]=${NET_VNI[$net]}
  endpoint_add "$c"
}

endpoint_add() {
  local c=$1
  ovxctl endpoint add "$c" --network="${CT_NET[$c]}" --node="${CT_HOST[$c]}" \
    --iface="${CT_IFACE[$c]}" --ip="${CT_IP[$c]}" --mac="${CT_MAC[$c]}" \
    >>"$RUN_DIR/logs/ovxctl.log" 2>&1 ||
    die "ovxctl endpoint add $c failed: $(tail -n 3 "$RUN_DIR/logs/ovxctl.log")"
}

endpoint_rm() {
  ovxctl endpoint rm "$1" >>"$RUN_DIR/logs/ovxctl.log" 2>&1 ||
    die "ovxctl endpoint rm $1 failed: $(tail -n 3 "$RUN_DIR/logs/ovxctl.log")"
}

# controller_start HOST [LOGNAME]: ovx-controller in the background in the
# host's namespace (so it resolves the host's interfaces).
controller_start() {
  local h=$1 name=${2:-controller-$1}
  bg "$name" host "$h" "$OVX_CONTROLLER_BIN" --node="$h" --registry="$REGISTRY" \
    --bpffs="${HOST_BPFFS[$h]}"
  CTRL_PID[$h]=$BG_PID
  CTRL_LOG[$h]=$RUN_DIR/logs/$name.log
}

controller_stop() {
  [[ -n ${CTRL_PID[$1]:-} ]] || return 0
  bg_stop "${CTRL_PID[$1]}"
  CTRL_PID[$1]=""
}

# controller_synced HOST: its log shows at least one reconcile summary.
controller_synced() {
  grep -q 'reconciled revision=' "${CTRL_LOG[$1]}"
}

# controllers_start_all: one ovx-controller per host, then wait until each
# has reconciled once.
controllers_start_all() {
  local h
  for h in "${HOSTS[@]}"; do
    controller_start "$h"
  done
  for h in "${HOSTS[@]}"; do
    wait_for 10 controller_synced "$h" ||
      die "ovx-controller on $h never reconciled (see ${CTRL_LOG[$h]})"
  done
}

# three_host_cluster: the cluster the control-plane tests share, through
# ovxctl on $REGISTRY: networks blue (VNI 100) and red (VNI 200), hosts
# h1..h3, containers a1..a3 in blue and b1..b3 in red (one of each per
# host), the underlay checked, cross-network neighbours static.
three_host_cluster() {
  local i
  cluster_network blue 100 10.10.0.0/24
  cluster_network red 200 10.20.0.0/24
  for i in 1 2 3; do
    cluster_host "h$i" "192.168.50.$i"
  done
  for i in 1 2 3; do
    cluster_container "h$i" "a$i" blue "10.10.0.$i"
    cluster_container "h$i" "b$i" red "10.20.0.$i"
  done
  underlay_check
  cross_network_neighbours
}

# cross_network_neighbours: static neighbours between every pair of
# containers in different networks, so a blocked packet is blocked by the
# dataplane and not by an unanswered ARP.
cross_network_neighbours() {
  local c d
  for c in "${CONTAINERS[@]}"; do
    for d in "${CONTAINERS[@]}"; do
      [[ ${CT_VNI[$c]:-x} != "${CT_VNI[$d]:-y}" ]] || continue
      static_neigh "$c" "${CT_IP[$d]}" "${CT_MAC[$d]}"
    done
  done
}

# now_ms: milliseconds since the epoch.
now_ms() { echo $(($(date +%s%N) / 1000000)); }
