// The XDP side of attach, through libxdp's dispatcher so that ovx shares the
// underlay with other XDP programs. ovx's program is recognised in the
// dispatcher by its name.
#ifndef OVX_LOADER_XDP_H_
#define OVX_LOADER_XDP_H_

#include <bpf/libbpf.h>

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "loader/loader.h"

namespace ovx::loader {

// libxdp keeps its dispatcher pins in one bpffs directory per process. Under
// /sys/fs/bpf we keep libxdp's default (shared with xdp-loader and friends);
// a root elsewhere (simulated hosts) gets its own, so hosts do not mix.
// LIBXDP_BPFFS set by the user wins. Call before any other libxdp use.
void PointLibxdpAt(absl::string_view bpffs);

// Fails when iface has an XDP program we cannot share (not libxdp's
// dispatcher) or a dispatcher in another mode.
absl::Status CheckXdpSlot(uint32_t ifindex, absl::string_view iface,
                          XdpMode mode);

// Adds the XDP program of obj (opened, ovx_cfg set, not loaded: libxdp loads
// it) to iface's dispatcher, then removes the ovx program that was there, so
// every packet meets one of them during an upgrade. Where the kernel refuses
// freplace extensions libxdp attaches the program alone; then an upgrade
// replaces it atomically (XDP_FLAGS_REPLACE) unless it is identical.
absl::Status AttachXdp(bpf_object* obj, uint32_t ifindex,
                       absl::string_view iface, XdpMode mode);

// Removes ovx's program from iface's dispatcher; false when there was none.
absl::StatusOr<bool> DetachXdp(uint32_t ifindex, absl::string_view iface);

struct XdpAttachment {
  uint32_t prog_id = 0;
  uint32_t dispatcher_id = 0;  // 0: attached alone, without a dispatcher
  std::string mode;            // "native", "skb"
};
std::optional<XdpAttachment> FindOvxXdp(uint32_t ifindex);

}  // namespace ovx::loader

#endif  // OVX_LOADER_XDP_H_
