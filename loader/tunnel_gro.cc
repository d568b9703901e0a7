#include "loader/tunnel_gro.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "loader/kernel.h"
#include "loader/rtnetlink.h"
#include "maps/fd.h"

namespace ovx::loader {
namespace {

absl::Status CreateDevice(const std::string& name, uint16_t port) {
  RtnlLinkRequest req(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  req.PutString(IFLA_IFNAME, name);
  size_t info = req.Nest(IFLA_LINKINFO);
  req.PutString(IFLA_INFO_KIND, "vxlan");
  size_t data = req.Nest(IFLA_INFO_DATA);
  const uint8_t on = 1, off = 0;
  const uint16_t be_port = htons(port);
  req.Put(IFLA_VXLAN_COLLECT_METADATA, &on, sizeof(on));
  req.Put(IFLA_VXLAN_LEARNING, &off, sizeof(off));
  req.Put(IFLA_VXLAN_PORT, &be_port, sizeof(be_port));
  req.End(data);
  req.End(info);
  return req.Run(absl::StrCat("create vxlan device ", name));
}

absl::Status DeleteDevice(const std::string& name) {
  RtnlLinkRequest req(RTM_DELLINK, 0);
  req.PutString(IFLA_IFNAME, name);
  return req.Run(absl::StrCat("delete ", name));
}

absl::Status SetUp(const std::string& name) {
  maps::UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoStatus(errno, "open socket");
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  if (::ioctl(fd.get(), SIOCGIFFLAGS, &ifr) != 0) {
    return ErrnoStatus(errno, absl::StrCat("read flags of ", name));
  }
  ifr.ifr_flags |= IFF_UP;
  if (::ioctl(fd.get(), SIOCSIFFLAGS, &ifr) != 0) {
    return ErrnoStatus(errno, absl::StrCat("set ", name, " up"));
  }
  return absl::OkStatus();
}

// No IPv6 link-local address: the device has nothing to say on any link.
// Best effort (IPv6 may be off).
void NoIpv6Address(const std::string& name) {
  std::ofstream(
      absl::StrCat("/proc/sys/net/ipv6/conf/", name, "/addr_gen_mode"))
      << "1\n";
}

}  // namespace

std::string TunnelGroName(uint16_t port) {
  return absl::StrCat("ovx-gro-", port);
}

absl::StatusOr<std::string> OpenTunnelGro(uint16_t port, int fence_prog_fd) {
  const std::string name = TunnelGroName(port);
  absl::Status status = CloseTunnelGro(port);
  if (!status.ok()) return status;
  status = CreateDevice(name, port);
  if (absl::IsAlreadyExists(status)) {
    // Another metadata-mode vxlan device on this port (e.g. Cilium's):
    // its socket already gives GRO.
    return absl::StrCat("tunnel-gro: not opened, the kernel refused ", name,
                        " (", status.message(), "); a vxlan device on UDP ",
                        port, " already provides GRO");
  }
  if (!status.ok()) return status;
  unsigned ifindex = if_nametoindex(name.c_str());
  if (ifindex == 0) return ErrnoStatus(errno, name);
  // Fenced while still down, so its socket never exists unfenced.
  if (bpf_prog_attach(fence_prog_fd, static_cast<int>(ifindex), kTcxIngress,
                      0) != 0) {
    status = ErrnoStatus(errno, absl::StrCat("attach tcx ingress to ", name));
    (void)DeleteDevice(name);
    return status;
  }
  NoIpv6Address(name);
  status = SetUp(name);
  if (!status.ok()) {
    // The port is taken: by another vxlan device (which gives GRO too) or
    // by some program (then there is no GRO: performance only).
    (void)DeleteDevice(name);
    return absl::StrCat("tunnel-gro: not opened, UDP ", port, " is taken (",
                        status.message(),
                        "); GRO only if a kernel vxlan device holds it");
  }
  return absl::StrCat("tunnel-gro: ", name, " (kernel vxlan socket on UDP ",
                      port, " for GRO only; fenced by tc_tunnel_fence)");
}

absl::Status CloseTunnelGro(uint16_t port) {
  const std::string name = TunnelGroName(port);
  if (if_nametoindex(name.c_str()) == 0) return absl::OkStatus();
  absl::Status status = DeleteDevice(name);
  return absl::IsNotFound(status) ? absl::OkStatus() : status;
}

TunnelGroState ReadTunnelGro(uint16_t port) {
  TunnelGroState state;
  const std::string name = TunnelGroName(port);
  state.ifindex = if_nametoindex(name.c_str());
  if (state.ifindex == 0) return state;
  uint32_t ids[4] = {}, count = 4, flags = 0;
  if (bpf_prog_query(static_cast<int>(state.ifindex), kTcxIngress, 0, &flags,
                     ids, &count) == 0 &&
      count > 0) {
    state.fence_id = ids[0];
  }
  return state;
}

}  // namespace ovx::loader
