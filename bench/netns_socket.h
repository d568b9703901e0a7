// Sockets in other network namespaces, for bench tools that drive several
// paths from one process: a socket belongs to the namespace it was created
// in, whatever namespace later binds, connects or reads it.
#ifndef OVX_BENCH_NETNS_SOCKET_H_
#define OVX_BENCH_NETNS_SOCKET_H_

#include <netinet/in.h>

#include <string>
#include <vector>

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

}  // namespace ovx::bench

#endif  // OVX_BENCH_NETNS_SOCKET_H_
