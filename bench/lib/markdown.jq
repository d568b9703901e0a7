# bench/lib/markdown.jq - results document -> Markdown tables (jq -r).
def f: if . == null then "-" elif (. | fabs) >= 100 then (. * 10 | round / 10 | tostring)
       elif (. | fabs) >= 10 then (. * 100 | round / 100 | tostring)
       else (. * 1000 | round / 1000 | tostring) end;
def r2: if . == null then "-" else (. * 100 | round / 100 | tostring) + "x" end;
def met: if . == null then "" elif . then "met" else "**not met**" end;

. as $doc | .meta as $meta
| ($meta.paths) as $paths
# The ratio columns are the ones report.jq computed, in its order.
| (reduce ($doc.network[].ratios | keys_unsorted[]) as $k ([];
     if index([$k]) then . else . + [$k] end)) as $rcols
| "## Network paths (\($meta.mode), \($meta.rounds) interleaved rounds, \($meta.duration_s) s per test)",
  "",
  "Cells: median [min-max] over rounds. Ratios are of medians. Goals are for the default ovx path.",
  "",
  ( $meta.profiles[] as $profile
    | "### Underlay profile: \($profile) (\($meta.profile_notes[$profile]))",
      "",
      "| metric | unit | " + ($paths + $rcols | join(" | ")) + " | goal | |",
      "|---|---|" + ($paths + $rcols | map("---:") | join("|")) + "|---|---|",
      ( $doc.network[] | select(.profile == $profile) as $row
        | "| \(.label) | \(.unit) | "
          + ([$paths[] as $p | $row.paths[$p]
              | if . == null then "-" else "\(.median | f) [\(.min | f)-\(.max | f)]" end]
             + [$rcols[] as $c | $row.ratios[$c] | r2] | join(" | "))
          + " | \(.goal.text) | \(.goal.met | met) |"),
      "" ),
  ( if ($doc.prog_cost | length) > 0 then
      "## Per-packet program cost (BPF_PROG_TEST_RUN, repeat=1 x \($doc.prog_cost[0].iterations), minus a trivial program of the same type\(($doc.prog_cost[0].rounds_ns // [0] | length) as $n | if $n > 1 then "; per case the least disturbed of \($n) rounds, all in brackets" else "" end))",
      "",
      "| case | program | endpoints in map | ns/packet | raw median ns | baseline ns | raw p10-p90 ns | goal | |",
      "|---|---|---:|---:|---:|---:|---:|---|---|",
      ( $doc.prog_cost[]
        | "| \(.case) | \(.program) | \(if .endpoints == 0 then "-" else .endpoints end) | \(.ns_per_packet | f)\(if (.rounds_ns // [] | length) > 1 then " [\(.rounds_ns | map(f) | join(", "))]" else "" end) | \(.raw_median_ns | f) | \(.baseline_median_ns | f) | \(.raw_p10_ns | f)-\(.raw_p90_ns | f) | \(if .goal.floor_of then "\(.goal.floor_of)'s \(.goal.text)" else .goal.text // "" end) | \(if .goal.floor_of then (if .ns_per_packet >= .goal.limit then "**floor over the goal**" else "leaves \(.goal.limit - .ns_per_packet | f) ns" end) else (.goal_met | met) end) |"),
      "",
      ( if any($doc.prog_cost[]; .goal.floor_of != null) then
          "Rows \u0060<case> helpers\u0060 (case helper-floor) time programs that make only the helper calls that path cannot do without, each checked: no design of the path costs less on this machine, before it looks anything up.", ""
        else empty end ),
      ( $doc.prog_cost[0].clock_step_ns // 1 | if . > 1 then
          "The kernel's clock reads in steps of \(.) ns here: medians are interpolated within the step (bench/coarse_clock.h).", ""
        else empty end ),
      ( $doc.call_costs // empty
        | "What a call costs on this machine (case call-cost, repeat=200000): one helper call \(.helper_call_ns | f) ns (bpf_get_prandom_u32), one BPF-to-BPF call \(.subprog_call_ns | f) ns, one hit in a hash map keyed like `endpoints` \(.hash_lookup_ns // 0 | f) ns, a trivial run \(.trivial_run_ns | f) ns.", "" )
    else empty end ),
  ( if ($doc.map_rates | length) > 0 then
      "## Map update rate (typed wrappers, one syscall per entry)",
      "",
      "| operation | entries | per second |",
      "|---|---:|---:|",
      ( $doc.map_rates[] | "| endpoints \(.op) | \(.entries) | \(.per_second | round) |"),
      ""
    else empty end ),
  ( if $doc.propagation != null then
      "## ovxctl -> remote map propagation",
      "",
      "Time from starting \u0060ovxctl endpoint add|rm\u0060 until the remote node's pinned endpoints map has the change (its ovx-controller watching a file registry). The last row is when ovxctl itself exited.",
      "",
      "| what | changes | p50 ms | p99 ms | max ms |",
      "|---|---:|---:|---:|---:|",
      ( ["all", $doc.propagation], ["adds", $doc.propagation.add],
        ["removes", $doc.propagation.remove], ["ovxctl exit", $doc.propagation.ovxctl_exit]
        | select(.[1] != null)
        | "| \(.[0]) | \(.[1].changes) | \(.[1].p50_ms | f) | \(.[1].p99_ms | f) | \(.[1].max_ms | f) |"),
      ""
    else empty end )
