# bench/lib/common.sh - logging, run-unique names and the cleanup registry.
# Everything the suite creates (netns, bpffs mounts, processes, temp dirs) is
# registered here and removed by bench_cleanup, which run.sh traps on EXIT.

BENCH_TAG=${BENCH_TAG:-ovxb$$}
BENCH_NETNS=()      # namespaces to delete
BENCH_PIDS=()       # background processes to kill
BENCH_MOUNTS=()     # bpffs mounts to unmount
BENCH_TMPDIRS=()    # directories to remove

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

# nsx NS CMD...: run CMD in netns NS. ip netns exec only remounts /sys; our
# bpffs mounts live under the temp dir, so they stay visible.
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# wait_quiet MAX_S: returns once the machine was under 10% busy over one
# second, or after MAX_S seconds; logs which, so that a slow per-packet
# round can be told from a busy machine (runs G and H: idle, and the first
# round still slow).
wait_quiet() {
  local max=$1 t0=$SECONDS a b busy
  while :; do
    a=$(awk '/^cpu /{print $2+$3+$4+$7+$8, $5+$6}' /proc/stat)
    sleep 1
    b=$(awk '/^cpu /{print $2+$3+$4+$7+$8, $5+$6}' /proc/stat)
    busy=$(awk -v a="$a" -v b="$b" 'BEGIN { split(a, x); split(b, y);
      u = y[1] - x[1]; i = y[2] - x[2]; print int(100 * u / (u + i + 1e-9)) }')
    if ((busy < 10)); then
      log "machine quiet (${busy}% busy) after $((SECONDS - t0)) s"
      return 0
    fi
    if ((SECONDS - t0 >= max)); then
      log "machine still ${busy}% busy after ${max} s; timing anyway"
      return 0
    fi
  done
}

netns_add() {
  ip netns add "$1" || die "create netns $1"
  BENCH_NETNS+=("$1")
  ip -n "$1" link set lo up
}

bg_start() {  # bg_start NS LOGFILE CMD...: background process, pid recorded
  local ns=$1 logf=$2; shift 2
  ip netns exec "$ns" "$@" >"$logf" 2>&1 &
  BENCH_PIDS+=("$!")
  echo "$!"
}

# Stops processes, deletes namespaces, unmounts bpffs; keeps temp dirs.
bench_teardown() {
  local pid ns m
  # Every background process runs inside one of our namespaces: kill by
  # namespace membership, never by a pid that may have been recycled.
  for ns in "${BENCH_NETNS[@]}"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null; done
  done
  for pid in "${BENCH_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  for ns in "${BENCH_NETNS[@]}"; do ip netns del "$ns" 2>/dev/null; done
  for m in "${BENCH_MOUNTS[@]}"; do umount "$m" 2>/dev/null; done
  BENCH_PIDS=(); BENCH_NETNS=(); BENCH_MOUNTS=()
}

# bench_allow_tcp_cc NAME: adds NAME to the allowed congestion controls
# (a non-init netns may only set an allowed one); bench_cleanup restores the
# list.
BENCH_ALLOWED_CC=
bench_allow_tcp_cc() {
  local f=/proc/sys/net/ipv4/tcp_allowed_congestion_control
  grep -qw -- "$1" "$f" && return 0
  BENCH_ALLOWED_CC=$(cat "$f")
  echo "$BENCH_ALLOWED_CC $1" >"$f" || die "cannot allow congestion control $1"
}

bench_cleanup() {
  local d
  if [[ -n $BENCH_ALLOWED_CC ]]; then
    echo "$BENCH_ALLOWED_CC" >/proc/sys/net/ipv4/tcp_allowed_congestion_control
    BENCH_ALLOWED_CC=
  fi
  bench_teardown
  for d in "${BENCH_TMPDIRS[@]}"; do rm -rf "$d"; done
  BENCH_TMPDIRS=()
}

bpffs_mount() {  # bpffs_mount DIR: a bpffs outside /sys (see DESIGN.md)
  mkdir -p "$1" && mount -t bpf bpf "$1" || die "mount bpffs at $1"
  BENCH_MOUNTS+=("$1")
}
