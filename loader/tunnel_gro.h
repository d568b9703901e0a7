// Tunnel GRO for TC ingress. The kernel merges (GROs) VXLAN packets only
// on a UDP port that has a kernel tunnel socket, and tc_underlay runs after
// GRO: without such a socket every 1,500-byte frame from a NIC-like
// underlay is decapsulated and delivered on its own (TCP at 0.61x the
// kernel's vxlan, docs/performance.md "Tunnel GRO"). A vxlan device in
// metadata mode, with no address and no route, opens that socket and
// nothing else. It never delivers: tc_underlay takes every packet to the
// VTEP's port first, and tc_tunnel_fence on the device's own ingress drops
// (and counts as kernel-decapsulated) whatever the kernel decapsulates
// around ovx. The fence is attached before the device goes up and lives as
// long as the device: there is no pin to lose.
#ifndef OVX_LOADER_TUNNEL_GRO_H_
#define OVX_LOADER_TUNNEL_GRO_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ovx::loader {

// "ovx-gro-4789": one device per network namespace and port.
std::string TunnelGroName(uint16_t port);

// (Re)creates the device for port with fence_prog_fd on its tcx ingress and
// brings it up. Returns the line for the attach log. The port may already
// have a socket (another vxlan device, e.g. Docker's overlay, already gives
// GRO, or a program): then the device is removed again and the line says
// why; only a failure to create or fence the device is an error.
absl::StatusOr<std::string> OpenTunnelGro(uint16_t port, int fence_prog_fd);

// Deletes the device of port; absent is fine.
absl::Status CloseTunnelGro(uint16_t port);

struct TunnelGroState {
  uint32_t ifindex = 0;   // 0: no device
  uint32_t fence_id = 0;  // first program on its tcx ingress, 0: none
};
TunnelGroState ReadTunnelGro(uint16_t port);

}  // namespace ovx::loader

#endif  // OVX_LOADER_TUNNEL_GRO_H_
