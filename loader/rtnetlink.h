// Minimal rtnetlink for the loader: link requests built attribute by
// attribute (the tunnel GRO device, BIG TCP sizes) and one link's
// attributes read back. No libnl or libmnl for a handful of messages.
#ifndef OVX_LOADER_RTNETLINK_H_
#define OVX_LOADER_RTNETLINK_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ovx::loader {

// One RTM_*LINK request on an ifinfomsg for ifindex (0: by IFLA_IFNAME),
// attributes appended in order; Nest()/End() wrap nested ones.
class RtnlLinkRequest {
 public:
  RtnlLinkRequest(uint16_t type, uint16_t flags, uint32_t ifindex = 0);

  void Put(uint16_t type, const void* data, size_t len);
  void PutU32(uint16_t type, uint32_t value) { Put(type, &value, 4); }
  void PutString(uint16_t type, const std::string& s) {
    Put(type, s.c_str(), s.size() + 1);
  }
  size_t Nest(uint16_t type);
  void End(size_t nest);

  // Sends the request and waits for the kernel's acknowledgement; what
  // names the request in the error.
  absl::Status Run(absl::string_view what);

  // The message with its length filled in.
  const std::vector<char>& Finish();

 private:
  void Append(const void* data, size_t len);

  std::vector<char> buf_;
};

// The u32 attributes of interface ifindex (RTM_GETLINK), by IFLA_* type.
// Attributes of other sizes are left out.
absl::StatusOr<std::map<uint16_t, uint32_t>> ReadLinkU32s(uint32_t ifindex);

}  // namespace ovx::loader

#endif  // OVX_LOADER_RTNETLINK_H_
