#include "loader/big_tcp.h"

#include <linux/rtnetlink.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "loader/rtnetlink.h"

namespace ovx::loader {
namespace {

// From linux/if_link.h of 6.3+; Debian 12's headers (6.1) stop before them.
constexpr uint16_t kIflaTsoMaxSize = 59;
constexpr uint16_t kIflaGsoIpv4MaxSize = 63;
constexpr uint16_t kIflaGroIpv4MaxSize = 64;

}  // namespace

absl::Status ValidateBigTcpSize(int64_t size) {
  if (size == 0 || (size >= kLegacyGsoMaxSize && size <= kGsoMaxSize)) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "--big-tcp: ", size, " is not a size in bytes from ", kLegacyGsoMaxSize,
      " (BIG TCP off) to ", kGsoMaxSize, ", or 0 (leave the device as it is)"));
}

absl::StatusOr<BigTcpSizes> ReadBigTcp(uint32_t ifindex) {
  auto attrs = ReadLinkU32s(ifindex);
  if (!attrs.ok()) return attrs.status();
  auto get = [&](uint16_t type) {
    auto it = attrs->find(type);
    return it == attrs->end() ? 0u : it->second;
  };
  return BigTcpSizes{get(kIflaGsoIpv4MaxSize), get(kIflaGroIpv4MaxSize),
                     get(kIflaTsoMaxSize)};
}

uint32_t GsoSizeFor(uint32_t size, uint32_t tso_max) {
  return tso_max == 0 ? size : std::min(size, tso_max);
}

absl::StatusOr<std::string> SetBigTcp(const std::string& iface,
                                      uint32_t ifindex, uint32_t size) {
  auto before = ReadBigTcp(ifindex);
  if (!before.ok()) return before.status();
  const uint32_t gso = GsoSizeFor(size, before->tso_max);
  RtnlLinkRequest req(RTM_NEWLINK, 0, ifindex);
  req.PutU32(kIflaGsoIpv4MaxSize, gso);
  req.PutU32(kIflaGroIpv4MaxSize, size);
  absl::Status status =
      req.Run(absl::StrCat("set gso/gro_ipv4_max_size on ", iface));
  if (!status.ok()) return status;
  auto after = ReadBigTcp(ifindex);
  if (!after.ok()) return after.status();
  if (after->gso_ipv4_max == 0) {
    // Older kernels ignore the attributes they do not know.
    return absl::FailedPreconditionError(
        "--big-tcp: this kernel has no IPv4 BIG TCP (Linux 6.3 or later)");
  }
  if (after->gso_ipv4_max != gso || after->gro_ipv4_max != size) {
    return absl::InternalError(
        absl::StrCat("--big-tcp: ", iface, " kept gso_ipv4_max_size ",
                     after->gso_ipv4_max, " and gro_ipv4_max_size ",
                     after->gro_ipv4_max, " (asked ", gso, ", ", size, ")"));
  }
  std::string line =
      absl::StrCat("big-tcp: ", iface, " gso_ipv4_max_size ", gso);
  if (gso < size) {
    absl::StrAppend(&line, " (the driver's tso_max_size)");
  }
  absl::StrAppend(&line, ", gro_ipv4_max_size ", size);
  if (size > kLegacyGsoMaxSize) {
    absl::StrAppend(&line,
                    "; containers build such packets only with the same "
                    "on their eth0");
  }
  return line;
}

}  // namespace ovx::loader
