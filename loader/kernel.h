// Small kernel-object helpers shared by the loader's attach, detach and status
// code: errno to Status, program and tcx link introspection, pin paths, an
// interface's driver.
#ifndef OVX_LOADER_KERNEL_H_
#define OVX_LOADER_KERNEL_H_

#include <linux/bpf.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "maps/abi/ovx_abi.h"
#include "maps/fd.h"

namespace ovx::loader {

// Debian 12's UAPI header predates tcx (Linux 6.6); the values are ABI.
inline constexpr auto kTcxIngress = static_cast<bpf_attach_type>(46);
inline constexpr uint32_t kLinkTypeTcx = 11;  // BPF_LINK_TYPE_TCX

inline constexpr absl::string_view kProgsDir = "progs";
inline constexpr absl::string_view kLinksDir = "links";
inline constexpr absl::string_view kUnderlayLinkPrefix = "underlay-";
inline constexpr absl::string_view kEndpointLinkPrefix = "endpoint-";
inline constexpr absl::string_view kTcEndpointName = "tc_endpoint";
inline constexpr absl::string_view kTcUnderlayName = "tc_underlay";
// BPF object names are cut at 15 characters: "ovx_xdp_underlay" becomes this.
inline constexpr absl::string_view kXdpProgPrefix = "ovx_xdp_underla";

// Every map of the ABI, in the order status prints them (loader_unit_test
// checks that each object's pinned maps are all here).
inline constexpr std::array<absl::string_view, 11> kMapNames = {
    OVX_MAP_ENDPOINTS,       OVX_MAP_ENDPOINT_SLOTS, OVX_MAP_INTERFACES,
    OVX_MAP_INTERFACE_SLOTS, OVX_MAP_VTEPS,          OVX_MAP_VTEP_VNIS,
    OVX_MAP_NETWORKS,        OVX_MAP_POLICY,         OVX_MAP_CONNTRACK,
    OVX_MAP_COUNTERS,        OVX_MAP_EVENTS};

// "what: strerror(err)" with a Status code that fits err.
absl::Status ErrnoStatus(int err, absl::string_view what);

std::string ProgPin(absl::string_view bpffs, absl::string_view prog);
std::string EncodePinName(absl::string_view name);
std::string DecodePinName(absl::string_view name);
// <bpffs>/links/<prefix><iface, encoded>
std::string LinkPin(absl::string_view bpffs, absl::string_view prefix,
                    absl::string_view iface);

// bpf_obj_get; NotFound when nothing is pinned there.
absl::StatusOr<maps::UniqueFd> OpenPin(const std::string& path);
// Pins fd at path, atomically replacing whatever was pinned there.
absl::Status ReplacePin(int fd, const std::string& path);
// Unpins path; absent is fine.
absl::Status Unpin(const std::string& path);

// What identifies a loaded program for "is this the same program?": the
// kernel's instruction tag plus the ovx_cfg it was loaded with.
struct ProgState {
  uint32_t id = 0;
  std::string name;
  std::array<uint8_t, 8> tag{};
  bool has_cfg = false;
  ovx_config cfg{};
};
absl::StatusOr<ProgState> ReadProgState(int prog_fd);
bool SameProgram(const ProgState& a, const ProgState& b);

struct LinkState {
  uint32_t id = 0;
  uint32_t type = 0;
  uint32_t prog_id = 0;
  uint32_t ifindex = 0;  // 0 once the interface is gone
};
absl::StatusOr<LinkState> ReadLinkState(int link_fd);

// Exclusive flock on the bpffs root directory, held while pins change, so
// that an endpoint attach (controller) and an upgrade (ovx-loader) do not
// interleave: an endpoint link made from the old program after the upgrade
// switched the others would keep running it.
absl::StatusOr<maps::UniqueFd> LockRoot(const std::string& bpffs);

// Names of the entries of a bpffs directory (empty if it does not exist).
std::vector<std::string> ListDir(const std::string& dir);

// net.ipv4.conf.<iface>.forwarding of the calling thread's netns.
absl::StatusOr<bool> Ipv4Forwarding(absl::string_view iface);

// The name of iface's driver ("veth", "virtio_net", "ixgbe"...), as
// `ethtool -i` shows it (ETHTOOL_GDRVINFO through SIOCETHTOOL).
absl::StatusOr<std::string> DriverName(absl::string_view iface);

}  // namespace ovx::loader

#endif  // OVX_LOADER_KERNEL_H_
