// Policy rules -> the content of the `policy` LPM map (maps/abi/ovx_abi.h).
// A pure function of the registry snapshot: every node computes the same
// entries for a network.
#ifndef OVX_CONTROLLER_POLICY_COMPILE_H_
#define OVX_CONTROLLER_POLICY_COMPILE_H_

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "controller/registry/model.h"
#include "maps/abi/ovx_abi.h"

namespace ovx::controller {

// One LPM prefix over the 16-bit destination port: the ports whose top
// `bits` bits equal those of `port` (the rest of `port` is 0).
struct PortPrefix {
  uint16_t port = 0;  // host byte order
  uint8_t bits = 0;   // 0..16
  bool operator==(const PortPrefix&) const = default;
};

// The fewest prefixes that cover exactly [first, last] (first <= last):
// at most 2 x 16 (30 for 1..65534); one for a single port.
std::vector<PortPrefix> PortRangePrefixes(uint16_t first, uint16_t last);

struct PolicyEntry {
  ovx_policy_key key;  // zeroed, then filled
  ovx_policy value;
};

struct CompiledPolicy {
  // Sorted by key bytes, no duplicate keys: when two rules give the same key
  // the first by name keeps it.
  std::vector<PolicyEntry> entries;
  // Rules left out, with why ("policy web-db: --from=app= ...").
  std::vector<std::string> skipped;
};

// For each network of `networks` whose policy is "deny", each of its rules:
// source identities = those of the network's endpoints that `from` selects
// (OVX_IDENTITY_ANY for "*"), destinations likewise with `to`; one entry
// per (source, destination, protocol/port prefix), value OVX_POLICY_F_ALLOW
// with rule_id = RuleId(name). Endpoints without an identity yet (0) are
// not selected. Allow networks get no entries: the programs skip policy for
// them (OVX_NET_F_POLICY_DENY is not set).
CompiledPolicy CompilePolicies(const Snapshot& snap,
                               const std::set<std::string>& networks);

// A zeroed key, filled: proto 0 = any protocol (prefixlen 96); port_bits
// 0 = any port of proto (112); else 112 + port_bits, the port's other bits
// cleared and the port in network byte order.
ovx_policy_key PolicyKey(uint32_t vni, uint32_t src_identity,
                         uint32_t dst_identity, uint8_t proto, uint16_t port,
                         uint8_t port_bits);

}  // namespace ovx::controller

#endif  // OVX_CONTROLLER_POLICY_COMPILE_H_
