#include "loader/rtnetlink.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "loader/kernel.h"
#include "maps/fd.h"

namespace ovx::loader {
namespace {

absl::StatusOr<maps::UniqueFd> OpenRtnl() {
  maps::UniqueFd fd(
      ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd.valid()) return ErrnoStatus(errno, "open rtnetlink socket");
  return fd;
}

// Sends buf and receives one reply into reply.
absl::StatusOr<size_t> Exchange(const std::vector<char>& buf,
                                std::vector<char>& reply,
                                absl::string_view what) {
  auto fd = OpenRtnl();
  if (!fd.ok()) return fd.status();
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd->get(), buf.data(), buf.size(), 0,
               reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel)) < 0) {
    return ErrnoStatus(errno, what);
  }
  ssize_t n = ::recv(fd->get(), reply.data(), reply.size(), 0);
  if (n < 0) return ErrnoStatus(errno, what);
  auto* hdr = reinterpret_cast<nlmsghdr*>(reply.data());
  if (!NLMSG_OK(hdr, static_cast<size_t>(n))) {
    return absl::InternalError(absl::StrCat(what, ": short netlink reply"));
  }
  return static_cast<size_t>(n);
}

// The error code of an NLMSG_ERROR reply (0 is the acknowledgement).
int NetlinkError(const std::vector<char>& reply) {
  auto* hdr = reinterpret_cast<const nlmsghdr*>(reply.data());
  return -static_cast<const nlmsgerr*>(NLMSG_DATA(hdr))->error;
}

}  // namespace

RtnlLinkRequest::RtnlLinkRequest(uint16_t type, uint16_t flags,
                                 uint32_t ifindex) {
  nlmsghdr hdr{};
  hdr.nlmsg_type = type;
  hdr.nlmsg_flags = NLM_F_REQUEST | flags;
  hdr.nlmsg_seq = 1;
  Append(&hdr, sizeof(hdr));
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = static_cast<int>(ifindex);
  Append(&ifi, sizeof(ifi));
}

void RtnlLinkRequest::Put(uint16_t type, const void* data, size_t len) {
  rtattr rta{};
  rta.rta_type = type;
  rta.rta_len = RTA_LENGTH(len);
  Append(&rta, sizeof(rta));
  Append(data, len);
}

size_t RtnlLinkRequest::Nest(uint16_t type) {
  size_t at = buf_.size();
  Put(type, nullptr, 0);
  return at;
}

void RtnlLinkRequest::End(size_t nest) {
  rtattr* rta = reinterpret_cast<rtattr*>(buf_.data() + nest);
  rta->rta_len = buf_.size() - nest;
}

absl::Status RtnlLinkRequest::Run(absl::string_view what) {
  reinterpret_cast<nlmsghdr*>(buf_.data())->nlmsg_flags |= NLM_F_ACK;
  std::vector<char> reply(4096);
  auto n = Exchange(Finish(), reply, what);
  if (!n.ok()) return n.status();
  if (reinterpret_cast<nlmsghdr*>(reply.data())->nlmsg_type != NLMSG_ERROR) {
    return absl::InternalError(absl::StrCat(what, ": no netlink ack"));
  }
  int err = NetlinkError(reply);
  return err == 0 ? absl::OkStatus() : ErrnoStatus(err, what);
}

const std::vector<char>& RtnlLinkRequest::Finish() {
  reinterpret_cast<nlmsghdr*>(buf_.data())->nlmsg_len = buf_.size();
  return buf_;
}

void RtnlLinkRequest::Append(const void* data, size_t len) {
  const char* p = static_cast<const char*>(data);
  if (len > 0) buf_.insert(buf_.end(), p, p + len);
  buf_.resize(NLMSG_ALIGN(buf_.size()), 0);
}

absl::StatusOr<std::map<uint16_t, uint32_t>> ReadLinkU32s(uint32_t ifindex) {
  const std::string what = absl::StrCat("read link ", ifindex);
  RtnlLinkRequest req(RTM_GETLINK, 0, ifindex);
  // Stats and per-family blocks make the reply a few KB; 64 KB holds any.
  std::vector<char> reply(65536);
  auto n = Exchange(req.Finish(), reply, what);
  if (!n.ok()) return n.status();
  auto* hdr = reinterpret_cast<nlmsghdr*>(reply.data());
  if (hdr->nlmsg_type == NLMSG_ERROR) {
    return ErrnoStatus(NetlinkError(reply), what);
  }
  if (hdr->nlmsg_type != RTM_NEWLINK) {
    return absl::InternalError(absl::StrCat(what, ": unexpected reply"));
  }
  std::map<uint16_t, uint32_t> attrs;
  int len = static_cast<int>(IFLA_PAYLOAD(hdr));
  for (rtattr* rta = IFLA_RTA(static_cast<ifinfomsg*>(NLMSG_DATA(hdr)));
       RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
    if (RTA_PAYLOAD(rta) != sizeof(uint32_t)) continue;
    uint32_t value;
    std::memcpy(&value, RTA_DATA(rta), sizeof(value));
    attrs[rta->rta_type] = value;
  }
  return attrs;
}

}  // namespace ovx::loader
