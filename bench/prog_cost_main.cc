// prog_cost: per-packet cost of each ovx program path (see prog_cost.h).
// Run as root inside a throwaway netns prepared by bench/prog_cost.sh; prints
// one JSON document on stdout.
#include <gflags/gflags.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "bench/prog_cost.h"
#include "bench/tool_flags.h"
#include "nlohmann/json.hpp"

DEFINE_string(bpffs, "", "bpffs mount where the maps are pinned (required)");
DEFINE_string(underlay, "ul0", "underlay interface");
DEFINE_string(endpoint, "vc1", "host-side veth of the source endpoint");
DEFINE_string(peer, "vc3", "host-side veth of a second local endpoint");
DEFINE_string(endpoints, "1,1000,100000", "endpoints-map sizes to time at");
DEFINE_string(cases, "",
              "comma-separated case names to time (e.g. encap,decap-xdp; "
              "call-cost: what one helper and one BPF-to-BPF call cost; "
              "helper-floor: the helper calls of encap and decap alone); "
              "empty: every case");
DEFINE_uint32(iterations, 20000, "runs per case (and as many baseline runs)");

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "ovx_prog_cost --bpffs=DIR [--underlay=IF --endpoint=IF --peer=IF]\n"
      "Times each program path with BPF_PROG_TEST_RUN on a fresh packet per\n"
      "run, minus a trivial program of the same type, and prints JSON. Needs\n"
      "root and the interfaces bench/lib/prog_cost.sh creates.");
  ovx::bench::ParseToolFlags(&argc, &argv, __FILE__);
  ovx::bench::ProgCostOptions options;
  options.bpffs = FLAGS_bpffs;
  options.underlay_iface = FLAGS_underlay;
  options.endpoint_iface = FLAGS_endpoint;
  options.peer_iface = FLAGS_peer;
  options.iterations = FLAGS_iterations;
  if (!FLAGS_cases.empty()) options.cases = absl::StrSplit(FLAGS_cases, ',');
  options.endpoint_counts.clear();
  for (absl::string_view part : absl::StrSplit(FLAGS_endpoints, ',')) {
    uint32_t n;
    if (!absl::SimpleAtoi(part, &n)) {
      std::fprintf(stderr, "prog_cost: bad --endpoints entry '%s'\n",
                   std::string(part).c_str());
      return 2;
    }
    options.endpoint_counts.push_back(n);
  }
  if (options.bpffs.empty()) {
    std::fprintf(stderr, "prog_cost: --bpffs is required\n");
    return 2;
  }
  auto report = ovx::bench::RunProgCost(options);
  if (!report.ok()) {
    std::fprintf(stderr, "prog_cost: %s\n", report.status().ToString().c_str());
    return 1;
  }
  nlohmann::json out;
  out["programs"] = nlohmann::json::array();
  for (const auto& r : report->programs) {
    out["programs"].push_back({{"case", r.name},
                               {"program", r.program},
                               {"endpoints", r.endpoints},
                               {"iterations", r.iterations},
                               {"ns_per_packet", r.ns_per_packet},
                               {"raw_median_ns", r.raw_median_ns},
                               {"baseline_median_ns", r.baseline_median_ns},
                               {"raw_p10_ns", r.raw_p10_ns},
                               {"raw_p90_ns", r.raw_p90_ns},
                               {"clock_step_ns", r.clock_step_ns},
                               {"retval", r.retval}});
  }
  out["map_rates"] = nlohmann::json::array();
  for (const auto& r : report->map_rates) {
    out["map_rates"].push_back(
        {{"op", r.op}, {"entries", r.entries}, {"per_second", r.per_second}});
  }
  if (report->call_costs) {
    const auto& c = *report->call_costs;
    out["call_costs"] = {{"trivial_run_ns", c.trivial_run_ns},
                         {"helper_call_ns", c.helper_call_ns},
                         {"subprog_call_ns", c.subprog_call_ns},
                         {"hash_lookup_ns", c.hash_lookup_ns}};
  }
  std::cout << out.dump(1) << std::endl;
  return 0;
}
