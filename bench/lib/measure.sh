# bench/lib/measure.sh - one measurement of one path, appended as a sample
# line to $BENCH_SAMPLES. A tool failing here means the path is broken: that
# fails the run. Numbers never do.

IPERF_PORT=5201
RR_PORT=5401
# The latency test's client and server share one CPU, so a round trip is
# the path's own work and two context switches. Across CPUs this VM adds
# its wake-up cost: on a quiet machine ~50 us whenever the other CPU was
# idle (every path ~110 us at 13:28 UTC), and one SCHED_IDLE spinner per
# CPU (tried at 14:02) still left rounds at 10 us and 50 us on any path.
RR_CPU=0
# The client switches path every RR_SLICE_MS: this VM's CPUs slow ~1.5x
# for whole seconds, and a path tested alone for 3 s landed whole in a
# fast or a slow phase (docs/performance.md, "Request/response").
RR_SLICE_MS=10
UDP_RATE_PORT=5301

sample() {  # sample PROFILE PATH METRIC ROUND VALUE
  printf '{"profile":"%s","path":"%s","metric":"%s","round":%d,"value":%s}\n' \
    "$1" "$2" "$3" "$4" "$5" >>"$BENCH_SAMPLES"
}

# Busy CPU seconds of the whole machine so far (user+nice+system+irq+softirq+
# steal from /proc/stat): softirq work of the veths/programs lands anywhere.
cpu_busy_s() {
  awk -v hz="$(getconf CLK_TCK)" '/^cpu /{printf "%.4f", ($2+$3+$4+$7+$8+$9)/hz; exit}' /proc/stat
}

servers_start() {  # servers_start PATH: iperf3 and ovx_rr servers in c2
  local p=$1 c2 dst
  c2=$(ns_of "$p" c2); dst=${TOPO_DST[$p]}
  bg_start "$c2" "$BENCH_TMP/$p-iperf3-server.log" iperf3 -s -p $IPERF_PORT >/dev/null
  bg_start "$c2" "$BENCH_TMP/$p-rr-server.log" \
    taskset -c $RR_CPU "$RR" --mode=server --bind="$dst" --port=$RR_PORT >/dev/null
}

# path_check PATH CMTU: full-size DF ping and a byte-exact TCP transfer.
path_check() {
  local p=$1 cmtu=$2 c1 c2 dst
  c1=$(ns_of "$p" c1); c2=$(ns_of "$p" c2); dst=${TOPO_DST[$p]}
  nsx "$c1" ping -q -c 3 -i 0.2 -W 2 -M do -s $((cmtu - 28)) "$dst" >/dev/null ||
    die "$p: full-size ping (MTU $cmtu, DF) from c1 to $dst fails: path broken"
  local src="$BENCH_TMP/check.bin" got="$BENCH_TMP/$p-check.out"
  [[ -f $src ]] || head -c $((4 << 20)) /dev/urandom >"$src"
  nsx "$c2" timeout 20 nc -l 7000 >"$got" &
  local srv=$!
  sleep 0.3
  nsx "$c1" timeout 20 nc -N "$dst" 7000 <"$src" || die "$p: TCP transfer to $dst failed"
  wait $srv
  cmp -s "$src" "$got" || die "$p: TCP transfer corrupted (bytes differ)"
}

# iperf3_tcp OUT PATH DURATION [ARG...]: one iperf3 TCP test from the
# path's c1 to its receiver, JSON in OUT, extra iperf3 ARGs; run under the
# command in $IPERF3_UNDER if set. A failure or no byte moved means the path
# is broken.
iperf3_tcp() {
  local out=$1 p=$2 dur=$3
  shift 3
  timeout $((dur + 30)) ${IPERF3_UNDER:+"$IPERF3_UNDER"} ip netns exec "$(ns_of "$p" c1)" \
    iperf3 -c "${TOPO_DST[$p]}" -p $IPERF_PORT -t "$dur" "$@" \
    ${BENCH_TCP_WRITE:+-l "$BENCH_TCP_WRITE"} -J >"$out" 2>&1 ||
    die "$p: iperf3 TCP $* failed: $(jq -r '.error // empty' "$out" 2>/dev/null)"
  local bytes
  bytes=$(jq '.end.sum_received.bytes' "$out")
  [[ $bytes =~ ^[0-9.e+]+$ && $bytes != 0 ]] || die "$p: iperf3 moved no bytes"
}

# measure_tcp PROFILE PATH ROUND STREAMS DURATION: Gbit/s received; for one
# stream also machine CPU seconds per GB moved.
measure_tcp() {
  local profile=$1 p=$2 round=$3 streams=$4 dur=$5 out="$BENCH_TMP/iperf.json"
  local cpu0 cpu1
  cpu0=$(cpu_busy_s)
  iperf3_tcp "$out" "$p" "$dur" -O 1 -P "$streams"
  cpu1=$(cpu_busy_s)
  local bps bytes
  bps=$(jq '.end.sum_received.bits_per_second' "$out")
  bytes=$(jq '.end.sum_received.bytes' "$out")
  sample "$profile" "$p" "tcp${streams}_gbps" "$round" \
    "$(awk -v b="$bps" 'BEGIN{printf "%.3f", b/1e9}')"
  if ((streams == 1)); then
    # The omitted first second moved bytes too; scale CPU to the counted part.
    sample "$profile" "$p" cpu_s_per_gb "$round" "$(awk -v c0="$cpu0" -v c1="$cpu1" \
      -v by="$bytes" -v d="$dur" 'BEGIN{printf "%.3f", (c1-c0)*d/(d+1)/(by/1e9)}')"
  fi
}

# bpf_counters PATH: "HOST/PROGRAM runs ns" for every program of the path's
# two hosts (counters move only under ovx_bpf_stats): the pinned TC ones,
# and as HOST/xdp libxdp's dispatcher on ul0, which is not pinned and whose
# counters include the program it calls.
bpf_counters() {
  local p=$1 i pin id
  for i in 1 2; do
    for pin in "$BENCH_TMP/$p-h$i-bpffs"/progs/*; do
      bpf_prog_counters "h$i/${pin##*/}" pinned "$pin"
    done
    id=$(nsx "$(ns_of "$p" h$i)" bpftool net show dev ul0 -j | jq -r '.[0].xdp[0].id // empty')
    [[ -z $id ]] || bpf_prog_counters "h$i/xdp" id "$id"
  done
}
bpf_prog_counters() {  # bpf_prog_counters NAME pinned PATH | NAME id ID
  bpftool prog show "$2" "$3" -j |
    jq -r --arg n "$1" '"\($n) \(.run_cnt // 0) \(.run_time_ns // 0)"' ||
    die "cannot read BPF program $2 $3"
}

# measure_bpf PROFILE PATH ROUND DURATION: what ovx's programs cost inside a
# 1-stream TCP test of their own (BPF run-time statistics slow every run a
# little, so not inside the compared ones): CPU ms per GB and share of the
# machine's busy CPU for all programs of both hosts, and ns per run of the
# data's encap (h1's tc_endpoint, once per skb) and of the receiving host's
# first hook (XDP where attached, once per frame; else tc_underlay).
measure_bpf() {
  local profile=$1 p=$2 round=$3 dur=$4 out="$BENCH_TMP/bpf-iperf.json"
  local before after cpu0 cpu1
  before=$(bpf_counters "$p") || exit 1
  cpu0=$(cpu_busy_s)
  IPERF3_UNDER=$BPF_STATS iperf3_tcp "$out" "$p" "$dur"
  cpu1=$(cpu_busy_s)
  after=$(bpf_counters "$p") || exit 1
  local bytes decap=h2/tc_underlay figures
  bytes=$(jq '.end.sum_received.bytes' "$out")
  grep -q '^h2/xdp ' <<<"$after" && decap=h2/xdp
  figures=$(join <(sort <<<"$before") <(sort <<<"$after") |
    awk -v by="$bytes" -v busy="$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN{print b-a}')" \
      -v decap="$decap" '
      { runs[$1] = $4 - $2; ns[$1] = $5 - $3; total += $5 - $3 }
      END {
        if (runs["h1/tc_endpoint"] <= 0 || runs[decap] <= 0) exit 1
        printf "%.3f %.2f %.1f %.1f\n", total / 1e6 / (by / 1e9),
          100 * total / 1e9 / busy, ns["h1/tc_endpoint"] / runs["h1/tc_endpoint"],
          ns[decap] / runs[decap]
      }') || die "$p: no run of h1/tc_endpoint or $decap counted: the data took another way"
  local ms_per_gb pct encap_ns decap_ns
  read -r ms_per_gb pct encap_ns decap_ns <<<"$figures"
  sample "$profile" "$p" bpf_ms_per_gb "$round" "$ms_per_gb"
  sample "$profile" "$p" bpf_cpu_pct "$round" "$pct"
  sample "$profile" "$p" bpf_encap_ns "$round" "$encap_ns"
  sample "$profile" "$p" bpf_decap_ns "$round" "$decap_ns"
}

# path_targets SIDE PATH...: the tools' --targets list, NAME=NETNS/IP per
# path, NETNS the path's SIDE namespace (c1 or c2), IP its receiver's.
path_targets() {
  local side=$1 p list=""
  shift
  for p in "$@"; do list+="${list:+,}$p=$(ns_of "$p" "$side")/${TOPO_DST[$p]}"; done
  echo "$list"
}

# measure_rr PROFILE ROUND DURATION PATH...: TCP request/response round-trip
# p50/p99 (us) of 64-byte messages, every path in one ovx_rr run: DURATION
# s each, in RR_SLICE_MS slices taken in turn, starting with the first PATH.
measure_rr() {
  local profile=$1 round=$2 dur=$3 p out="$BENCH_TMP/rr.json"
  shift 3
  timeout $((dur * $# + 30)) taskset -c $RR_CPU "$RR" --mode=client --targets="$(path_targets c1 "$@")" \
    --port=$RR_PORT --duration="$dur" --slice-ms=$RR_SLICE_MS >"$out" 2>&1 ||
    die "request/response failed: $(tail -3 "$out")"
  local p50 p99
  for p in "$@"; do
    p50=$(jq -e --arg p "$p" '.paths[$p].p50_us' "$out") &&
      p99=$(jq -e --arg p "$p" '.paths[$p].p99_us' "$out") ||
      die "$p: ovx_rr printed no round trips: $(tail -1 "$out")"
    sample "$profile" "$p" rr_p50_us "$round" "$p50"
    sample "$profile" "$p" rr_p99_us "$round" "$p99"
  done
}

# measure_udp PROFILE ROUND DURATION PATH...: 64-byte UDP datagrams received/s
# in c2, counted by ovx_udp_rate ($UDP_RATE), every path in one run: the
# sender spends UDP_SLICE_MS on each in turn until each had DURATION s, as
# measure_rr does (a path tested alone for 3 s landed whole in one of this
# VM's fast or slow phases). It sends and receives in batches: iperf3 spends
# ~15 us per datagram, which hid the path's cost.
UDP_SLICE_MS=10
measure_udp() {
  local profile=$1 round=$2 dur=$3 p
  shift 3
  local ready="$BENCH_TMP/udp.ready" rx_out="$BENCH_TMP/udp-recv.json"
  local tx_out="$BENCH_TMP/udp-send.json" rx i
  rm -f "$ready"
  timeout $((dur * $# + 30)) "$UDP_RATE" --mode=recv --targets="$(path_targets c2 "$@")" \
    --port=$UDP_RATE_PORT --duration="$dur" --size=64 --ready-file="$ready" >"$rx_out" 2>&1 &
  rx=$!
  for ((i = 0; i < 50; i++)); do [[ -e $ready ]] && break; sleep 0.1; done
  if [[ ! -e $ready ]]; then
    kill $rx 2>/dev/null; wait $rx
    die "UDP receiver did not start: $(tail -1 "$rx_out")"
  fi
  timeout $((dur * $# + 30)) "$UDP_RATE" --mode=send --targets="$(path_targets c1 "$@")" \
    --port=$UDP_RATE_PORT --duration="$dur" --size=64 --slice-ms=$UDP_SLICE_MS \
    >"$tx_out" 2>&1 || {
    kill $rx 2>/dev/null; wait $rx
    die "UDP sender failed: $(tail -1 "$tx_out")"
  }
  wait $rx || die "UDP receiver failed: $(tail -1 "$rx_out")"
  local received seconds
  for p in "$@"; do
    received=$(jq -e --arg p "$p" '.paths[$p].received' "$rx_out") &&
      seconds=$(jq -e --arg p "$p" '.paths[$p].seconds' "$tx_out") ||
      die "$p: ovx_udp_rate printed no count: $(tail -1 "$rx_out") $(tail -1 "$tx_out")"
    ((received > 0)) || die "$p: no UDP datagram arrived"
    sample "$profile" "$p" udp64_kpps "$round" \
      "$(awk -v n="$received" -v s="$seconds" 'BEGIN{printf "%.1f", n/s/1000}')"
  done
}
