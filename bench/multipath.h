// Driving several paths from one bench process (ovx_rr, ovx_udp_rate
// --targets): the paths as --targets names them, sockets opened in each
// path's network namespace (a socket belongs to the namespace it was
// created in, whatever namespace later binds, connects or reads it), and
// the schedule that takes the paths in turn.
#ifndef OVX_BENCH_MULTIPATH_H_
#define OVX_BENCH_MULTIPATH_H_

#include <netinet/in.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "maps/fd.h"

namespace ovx::bench {

// One path as the tools' --targets name it: NAME=NETNS/IP.
struct Target {
  std::string name;
  std::string netns;  // as `ip netns` names it (/var/run/netns/NETNS)
  in_addr ip{};
};

// "NAME=NETNS/IP,..." -> targets; an error names the bad one.
absl::StatusOr<std::vector<Target>> ParseTargets(absl::string_view text);

// socket(AF_INET, type) created inside netns; the calling thread returns
// to its own namespace before this returns.
absl::StatusOr<maps::UniqueFd> SocketInNetns(const std::string& netns,
                                             int type);

// ip:port as the socket calls take it.
sockaddr_in Ipv4SocketAddress(in_addr ip, uint16_t port);

// CLOCK_MONOTONIC in nanoseconds.
int64_t MonotonicNs();

// Takes paths 0..paths-1 in turn, slice_ms each, until each had about
// duration_s, each cycle starting one path later so that no path always
// follows the same one. slice(path, end_ns) works on that path until
// MonotonicNs() reaches end_ns; the first error stops the schedule.
absl::Status TakeTurns(size_t paths, double duration_s, uint32_t slice_ms,
                       absl::FunctionRef<absl::Status(size_t, int64_t)> slice);

}  // namespace ovx::bench

#endif  // OVX_BENCH_MULTIPATH_H_
