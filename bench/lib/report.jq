# bench/lib/report.jq - samples -> results document.
# Input: the sample lines slurped (-s). Args: --argjson meta, --argjson prog,
# --argjson prop (null when not run).

def sorted_stats:
  sort as $v | ($v | length) as $n
  | def q($p): (($n - 1) * $p) as $h | ($h | floor) as $lo
      | ([$lo + 1, $n - 1] | min) as $hi
      | $v[$lo] + ($h - $lo) * ($v[$hi] - $v[$lo]);
    {n: $n, median: q(0.5), q1: q(0.25), q3: q(0.75), min: $v[0], max: $v[-1],
     samples: $v};

def metrics: {
  tcp1_gbps:    {label: "TCP throughput, 1 stream", unit: "Gbit/s", better: "higher"},
  tcp4_gbps:    {label: "TCP throughput, 4 streams", unit: "Gbit/s", better: "higher"},
  rr_p50_us:    {label: "TCP request/response RTT p50", unit: "us", better: "lower"},
  rr_p99_us:    {label: "TCP request/response RTT p99", unit: "us", better: "lower"},
  udp64_kpps:   {label: "UDP 64-byte, received", unit: "kpps", better: "higher"},
  cpu_s_per_gb: {label: "CPU per GB moved (1 stream, whole machine)", unit: "CPU-s/GB", better: "lower"},
  bpf_ms_per_gb: {label: "CPU in ovx's programs per GB (1 stream, both hosts, own run with BPF stats)", unit: "CPU-ms/GB", better: "lower"},
  bpf_cpu_pct:  {label: "ovx's programs' share of the machine's busy CPU (same run)", unit: "%", better: "lower"},
  bpf_encap_ns: {label: "encap under load: sending host's tc_endpoint per run (one skb)", unit: "ns", better: "lower"},
  bpf_decap_ns: {label: "decap under load: receiving host's first hook per run", unit: "ns", better: "lower"}
};

# Goal of the project for the default ovx path, by metric; r = ratios.
def goal($m; $r):
  if ($m | test("^tcp")) then
    {text: "ovx/kvxlan >= 1.25 and ovx/plain >= 0.9",
     met: (if $r["ovx/kvxlan"] == null or $r["ovx/plain"] == null then null
           else ($r["ovx/kvxlan"] >= 1.25 and $r["ovx/plain"] >= 0.9) end)}
  elif ($m | test("^rr_")) then
    {text: "ovx/plain <= 1.05 and ovx/kvxlan < 1",
     met: (if $r["ovx/kvxlan"] == null or $r["ovx/plain"] == null then null
           else ($r["ovx/plain"] <= 1.05 and $r["ovx/kvxlan"] < 1) end)}
  elif $m == "udp64_kpps" then
    {text: "ovx/kvxlan >= 1.5",
     met: (if $r["ovx/kvxlan"] == null then null else $r["ovx/kvxlan"] >= 1.5 end)}
  else {text: "", met: null} end;

def path_goal($c):
  if $c == "decap-xdp" or $c == "decap-tc (xdp half)" then {text: "< 60 ns", limit: 60}
  elif $c == "encap" or $c == "encap-tcp" then {text: "< 80 ns", limit: 80}
  else null end;

# "<case> helpers" (case helper-floor) is no goal itself: it is the floor
# under its path's goal, which it names in floor_of.
def prog_goal($c):
  if ($c | endswith(" helpers")) then
    ($c | rtrimstr(" helpers")) as $p
    | path_goal($p) | if . == null then null else . + {floor_of: $p} end
  else path_goal($c) end;

. as $samples
| ($meta.paths) as $paths
| {
    meta: $meta,
    network: [
      $meta.profiles[] as $profile
      | metrics | keys_unsorted[] as $m
      | [$samples[] | select(.profile == $profile and .metric == $m)] as $s
      | select($s | length > 0)
      | ([$paths[] as $p | {key: $p, value: ([$s[] | select(.path == $p) | .value]
            | if length > 0 then sorted_stats else null end)}]
         | map(select(.value != null)) | from_entries) as $stats
      | ([$paths[] | select(. != "plain" and . != "kvxlan") as $o
          | ("kvxlan", "plain", "plain-1450") as $ref
          | select($ref != $o and $stats[$o] != null and $stats[$ref] != null
                   and $stats[$ref].median != 0)
          | {key: "\($o)/\($ref)", value: ($stats[$o].median / $stats[$ref].median)}]
         | from_entries) as $ratios
      | {profile: $profile, metric: $m} + metrics[$m]
        + {paths: $stats, ratios: $ratios, goal: goal($m; $ratios)}
    ],
    prog_cost: [($prog.programs // [])[] | . + {goal: prog_goal(.case)}
                | .goal_met = (if .goal == null or .goal.floor_of != null then null
                               else .ns_per_packet < .goal.limit end)],
    map_rates: ($prog.map_rates // []),
    call_costs: ($prog.call_costs // null),
    propagation: $prop
  }
