#!/usr/bin/env bash
# bench/controller_scale.sh [--sizes=10000,100000] [--registries=etcd,file]
#                           [--remote-nodes=100] [--build-dir=DIR]
# ovx-controller cold sync at scale. Per registry and size: a fresh node
# (own netns, bpffs, ovx attached: empty maps), a registry filled with that
# many remote endpoints spread over --remote-nodes nodes (written directly
# by ovx_registry_bench fill: etcd in transactions of 128 puts, the file
# registry as one JSON document), then `ovx-controller --once` timed from
# exec to exit, its peak RSS (the kernel's RSS high-water mark, VmHWM, as
# wait4's ru_maxrss), the entries it says it wrote and the entries the
# endpoints map then holds; then one `ovxctl endpoint add` into that
# registry, timed the same way (a write reads every record). Goal
# (docs/etcd-scale.md): 100,000 synced in < 3 s with < 200 MB resident.
# Prints one JSON document; fails only when something is broken (a fill, a
# sync or the write fails, a map does not hold every endpoint), never on a
# number.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib/common.sh"
source "$here/lib/etcd_node.sh"
sizes=10000,100000
registries=etcd,file
remote_nodes=100
build_dir=${OVX_BUILD_DIR:-$here/../build}
for arg in "$@"; do
  case $arg in
    --sizes=*) sizes=${arg#*=} ;;
    --registries=*) registries=${arg#*=} ;;
    --remote-nodes=*) remote_nodes=${arg#*=} ;;
    --build-dir=*) build_dir=${arg#*=} ;;
    -h | --help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "controller_scale.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done
[[ $(id -u) -eq 0 ]] || die "run as root"
command -v python3 >/dev/null || die "python3 needed (wait4 for the peak RSS)"
bin() {
  local f
  f=$(find "$build_dir" -type f -name "$1" -perm -u+x 2>/dev/null | head -1)
  [[ -n $f ]] || die "$1 not found under $build_dir"
  echo "$f"
}
# shellcheck disable=SC2034  # used by lib/etcd_node.sh
OVX_LOADER=$(bin ovx-loader) || exit 1
OVX_CONTROLLER=$(bin ovx-controller) || exit 1
OVXCTL=$(bin ovxctl) || exit 1
REGBENCH=$(bin ovx_registry_bench) || exit 1
MAPFILL=$(bin ovx-test-mapfill) || exit 1
BENCH_TMP=$(mktemp -d /tmp/ovxb-scale.XXXXXX)
BENCH_TMPDIRS+=("$BENCH_TMP")
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# measure CMD...: runs CMD, prints {"wall_s", "maxrss_kb", "rc"} (wait4).
# CMD's own output goes to stderr, keeping stdout for the JSON.
measure() {
  python3 - "$@" <<'EOF'
import json, os, sys, time
t0 = time.monotonic()
pid = os.fork()
if pid == 0:
    os.dup2(2, 1)
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, ru = os.wait4(pid, 0)
print(json.dumps({"wall_s": round(time.monotonic() - t0, 3),
                  "maxrss_kb": ru.ru_maxrss,
                  "user_s": round(ru.ru_utime, 3), "sys_s": round(ru.ru_stime, 3),
                  "rc": os.waitstatus_to_exitcode(status)}))
EOF
}

results=()
IFS=, read -r -a REGS <<<"$registries"
IFS=, read -r -a SIZES <<<"$sizes"
for reg in "${REGS[@]}"; do
  for n in "${SIZES[@]}"; do
    name=scale-$reg-$n
    node_up "$name"
    case $reg in
      etcd) node_etcd "$name" --quota-backend-bytes=8589934592 ;;
      file) NODE_REGISTRY="file:$BENCH_TMP/$name-registry.json" ;;
      *) die "unknown registry $reg (etcd, file)" ;;
    esac
    t0=$(date +%s%N)
    nsx "$NODE_NS" "$REGBENCH" fill --registry="$NODE_REGISTRY" --endpoints="$n" \
      --remote_nodes="$remote_nodes" 2>"$BENCH_TMP/$name-fill.log" ||
      die "$reg $n: fill: $(tail -3 "$BENCH_TMP/$name-fill.log")"
    fill_ms=$((($(date +%s%N) - t0) / 1000000))
    fill_s=$((fill_ms / 1000)).$(printf %03d $((fill_ms % 1000)))
    log "$reg $n: registry filled in ${fill_s} s; ovx-controller --once"
    ctrl_log=$BENCH_TMP/$name-controller.log
    m=$(measure ip netns exec "$NODE_NS" "$OVX_CONTROLLER" --node=scale --once \
      --registry="$NODE_REGISTRY" --bpffs="$NODE_BPFFS" 2>"$ctrl_log") ||
      die "$reg $n: measure failed"
    [[ $(jq .rc <<<"$m") == 0 ]] || die "$reg $n: ovx-controller --once failed: $(tail -3 "$ctrl_log")"
    summary=$(grep -o 'reconciled revision=.*' "$ctrl_log" | tail -1)
    written=$(sed -n 's/.*: +\([0-9]*\) .*/\1/p' <<<"$summary")
    held=$(nsx "$NODE_NS" "$MAPFILL" --bpffs="$NODE_BPFFS" dump endpoints | wc -l)
    # Every remote endpoint plus local0.
    ((held == n + 1)) || die "$reg $n: endpoints map holds $held entries, want $((n + 1))"
    write_log=$BENCH_TMP/$name-ovxctl.log
    w=$(measure ip netns exec "$NODE_NS" "$OVXCTL" --registry="$NODE_REGISTRY" \
      endpoint add scale-write --network=scale --node=scale 2>"$write_log") ||
      die "$reg $n: measure failed"
    [[ $(jq .rc <<<"$w") == 0 ]] || die "$reg $n: ovxctl endpoint add failed: $(tail -3 "$write_log")"
    # Where the time went: first map line after exec, last one.
    first_line=$(grep -m1 -o '^[0-9T:.-]*Z endpoints: add' "$ctrl_log" | cut -d' ' -f1)
    last_line=$(grep -o '^[0-9T:.-]*Z' "$ctrl_log" | tail -1)
    results+=("$(jq -n --arg reg "$reg" --argjson n "$n" --argjson m "$m" \
      --arg fill "$fill_s" --arg summary "$summary" --argjson written "${written:-0}" \
      --argjson held "$held" --arg first "$first_line" --arg last "$last_line" \
      --argjson log_lines "$(wc -l <"$ctrl_log")" --argjson w "$w" \
      '{registry: $reg, endpoints: $n, fill_s: ($fill | tonumber), sync_s: $m.wall_s,
        user_s: $m.user_s, sys_s: $m.sys_s, peak_rss_mb: ($m.maxrss_kb / 1024 | . * 10 | round / 10),
        entries_written: $written, endpoints_in_map: $held, summary: $summary,
        first_endpoint_write: $first, last_log_line: $last, log_lines: $log_lines,
        ovxctl_write_s: $w.wall_s, ovxctl_write_user_s: $w.user_s,
        ovxctl_write_peak_rss_mb: ($w.maxrss_kb / 1024 | . * 10 | round / 10)}')")
    log "$reg $n: sync $(jq .wall_s <<<"$m") s, peak RSS $(($(jq .maxrss_kb <<<"$m") / 1024)) MB, $summary"
    log "$reg $n: ovxctl endpoint add $(jq .wall_s <<<"$w") s, peak RSS $(($(jq .maxrss_kb <<<"$w") / 1024)) MB"
    bench_teardown
  done
done
printf '%s\n' "${results[@]}" | jq -s --arg kernel "$(uname -r)" --argjson nproc "$(nproc)" \
  --arg cpu "$(lscpu | sed -n 's/^Model name: *//p' | head -1)" \
  --arg etcd "$(etcd --version 2>/dev/null | head -1)" --argjson nodes "$remote_nodes" \
  '{machine: {kernel: $kernel, nproc: $nproc, cpu: $cpu, etcd: $etcd}, remote_nodes: $nodes,
    goal: "100000 endpoints synced in < 3 s with < 200 MB resident", results: .}'
