// Per-packet cost of each ovx program path, measured with BPF_PROG_TEST_RUN.
//
// BPF_PROG_TEST_RUN with repeat=N does not reset the packet between runs: a
// program that rewrites the packet (encap, decap) would be timed on its own
// output. So every run here is repeat=1 on a fresh copy of the input, many
// times; the kernel's per-call duration includes a fixed test-run overhead
// (bh disable/enable, ktime reads), which is measured the same way on a
// trivial program of the same type and subtracted. Runs of the case and the
// baseline are interleaved in small blocks so machine noise hits both.
//
// Each case also checks that the program took the path it claims to time:
// the expected (direction, reason) counter must move by exactly the number
// of runs, otherwise the case fails.
//
// Case helper-floor times, the same way, programs that make only the helper
// calls encap and XDP decap cannot do without (grow or strip the headers,
// redirect or hand over to TC), each call checked: the floor under those
// paths on the machine at hand, whatever the design around the calls.
#ifndef OVX_BENCH_PROG_COST_H_
#define OVX_BENCH_PROG_COST_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace ovx::bench {

struct ProgCostOptions {
  std::string bpffs;           // a bpffs mount; maps are pinned here
  std::string underlay_iface;  // in the current netns, with a route and a
                               // neighbour for remote_vtep
  std::string endpoint_iface;  // host-side veth of the local source endpoint
  std::string peer_iface;      // host-side veth of a second local endpoint
  std::string local_vtep = "192.168.77.1";
  std::string remote_vtep = "192.168.77.2";
  std::vector<uint32_t> endpoint_counts = {1, 1000, 100000};
  uint32_t iterations = 20000;     // runs per case (and as many baseline runs)
  uint32_t block = 250;            // interleaving block size
  std::vector<std::string> cases;  // names to time; empty: every case
};

struct ProgCostResult {
  std::string name;        // "encap", "decap-xdp", ...
  std::string program;     // which program ran
  uint32_t endpoints = 0;  // entries in the endpoints map
  uint32_t iterations = 0;
  // Medians of the kernel-reported time of one run, interpolated within
  // the clock's step (coarse_clock.h).
  double raw_median_ns = 0;
  double baseline_median_ns = 0;  // trivial program, same type, same packet
  double ns_per_packet = 0;       // raw - baseline
  double raw_p10_ns = 0;
  double raw_p90_ns = 0;
  uint32_t clock_step_ns = 1;  // 1: no coarser step found
  uint32_t retval = 0;
};

struct MapRateResult {
  std::string op;  // "update" or "delete"
  uint32_t entries = 0;
  double per_second = 0;
};

// What calls cost on this machine, apart from any work: the same programs
// cost 1.3-2.7x more on one VM than on another, growing with the calls
// they make (docs/performance.md, "This machine: a call costs 9-20 ns").
struct CallCostResult {
  double trivial_run_ns = 0;   // r0 = 0; exit, per run (repeat loop)
  double helper_call_ns = 0;   // one call of bpf_get_prandom_u32
  double subprog_call_ns = 0;  // one BPF-to-BPF call of an empty function
  double hash_lookup_ns = 0;   // one hit in a hash map keyed like endpoints
};

struct ProgCostReport {
  std::vector<ProgCostResult> programs;
  std::vector<MapRateResult> map_rates;
  std::optional<CallCostResult> call_costs;  // case "call-cost"
};

absl::StatusOr<ProgCostReport> RunProgCost(const ProgCostOptions& options);

}  // namespace ovx::bench

#endif  // OVX_BENCH_PROG_COST_H_
