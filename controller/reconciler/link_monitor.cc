#include "controller/reconciler/link_monitor.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace ovx::controller {

absl::StatusOr<LinkMonitor> LinkMonitor::Open() {
  int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    NETLINK_ROUTE);
  if (fd < 0) {
    return absl::InternalError(
        absl::StrCat("open rtnetlink socket: ", std::strerror(errno)));
  }
  maps::UniqueFd owned(fd);
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = RTMGRP_LINK;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return absl::InternalError(absl::StrCat(
        "subscribe to link events (RTMGRP_LINK): ", std::strerror(errno)));
  }
  return LinkMonitor(std::move(owned));
}

absl::StatusOr<bool> LinkMonitor::Drain() {
  bool changed = false;
  alignas(nlmsghdr) char buf[16384];
  for (;;) {
    ssize_t n = ::recv(fd(), buf, sizeof(buf), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return changed;
      if (errno == ENOBUFS) {  // overrun: events were lost
        changed = true;
        continue;
      }
      return absl::InternalError(
          absl::StrCat("read link events: ", std::strerror(errno)));
    }
    int len = static_cast<int>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, len);
         h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_type == RTM_NEWLINK || h->nlmsg_type == RTM_DELLINK) {
        changed = true;
      }
    }
  }
}

}  // namespace ovx::controller
