// IPv4 BIG TCP on the underlay (`ovx-loader attach --big-tcp=BYTES`): GSO
// packets of up to BYTES leave through the underlay whole, not cut back to
// 64 KB in software, and GRO merges up to BYTES on receive. Encap handles
// such packets (bpf/lib/vxlan.h: outer lengths 0, as the kernel writes).
// TCP builds them only where the sending container's eth0 allows them too;
// that veth belongs to the container runtime, not to ovx.
#ifndef OVX_LOADER_BIG_TCP_H_
#define OVX_LOADER_BIG_TCP_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ovx::loader {

inline constexpr uint32_t kLegacyGsoMaxSize = 65536;  // BIG TCP off
inline constexpr uint32_t kGsoMaxSize = 524280;       // the kernel's ceiling

// 0 (leave the device as it is) or kLegacyGsoMaxSize..kGsoMaxSize.
absl::Status ValidateBigTcpSize(int64_t size);

struct BigTcpSizes {
  uint32_t gso_ipv4_max = 0;  // 0: not reported (kernel before 6.3)
  uint32_t gro_ipv4_max = 0;
  uint32_t tso_max = 0;  // the driver's cap on gso_ipv4_max
};
absl::StatusOr<BigTcpSizes> ReadBigTcp(uint32_t ifindex);

// The gso_ipv4_max_size to ask for: the kernel refuses more than the
// driver's tso_max_size (0: unknown, no cap).
uint32_t GsoSizeFor(uint32_t size, uint32_t tso_max);

// Sets iface's gso_ipv4_max_size to GsoSizeFor(size, its tso_max_size) and
// gro_ipv4_max_size to size, then reads both back. Returns the line for the
// attach log; an error when the kernel refuses or ignores them.
absl::StatusOr<std::string> SetBigTcp(const std::string& iface,
                                      uint32_t ifindex, uint32_t size);

}  // namespace ovx::loader

#endif  // OVX_LOADER_BIG_TCP_H_
