#include "bench/multipath.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "maps/dataplane_maps.h"

namespace ovx::bench {

absl::StatusOr<std::vector<Target>> ParseTargets(absl::string_view text) {
  std::vector<Target> targets;
  for (absl::string_view t : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    std::vector<std::string> name_rest = absl::StrSplit(t, '=');
    std::vector<std::string> ns_ip;
    if (name_rest.size() == 2) ns_ip = absl::StrSplit(name_rest[1], '/');
    if (ns_ip.size() != 2 || name_rest[0].empty() || ns_ip[0].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--targets: '", t, "' is not NAME=NETNS/IP"));
    }
    auto ip = maps::ParseIpv4(ns_ip[1]);
    if (!ip.ok()) return ip.status();
    targets.push_back(Target{name_rest[0], ns_ip[0], *ip});
  }
  if (targets.empty()) return absl::InvalidArgumentError("--targets is empty");
  return targets;
}

absl::StatusOr<maps::UniqueFd> SocketInNetns(const std::string& netns,
                                             int type) {
  maps::UniqueFd home(open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
  maps::UniqueFd there(
      open(("/var/run/netns/" + netns).c_str(), O_RDONLY | O_CLOEXEC));
  if (!home.valid() || !there.valid())
    return absl::ErrnoToStatus(errno, absl::StrCat("open netns ", netns));
  if (setns(there.get(), CLONE_NEWNET) != 0)
    return absl::ErrnoToStatus(errno, absl::StrCat("setns ", netns));
  maps::UniqueFd fd(socket(AF_INET, type | SOCK_CLOEXEC, 0));
  const int socket_errno = errno;
  if (setns(home.get(), CLONE_NEWNET) != 0)
    return absl::ErrnoToStatus(errno, "setns back");
  if (!fd.valid())
    return absl::ErrnoToStatus(socket_errno, absl::StrCat("socket in ", netns));
  return fd;
}

sockaddr_in Ipv4SocketAddress(in_addr ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr = ip;
  return a;
}

int64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

absl::Status TakeTurns(size_t paths, double duration_s, uint32_t slice_ms,
                       absl::FunctionRef<absl::Status(size_t, int64_t)> slice) {
  const int cycles =
      std::max<int>(1, std::lround(duration_s * 1000 / slice_ms));
  for (int c = 0; c < cycles; ++c) {
    for (size_t k = 0; k < paths; ++k) {
      const int64_t end = MonotonicNs() + slice_ms * 1000000LL;
      if (absl::Status s = slice((c + k) % paths, end); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace ovx::bench
