#include "controller/policy/compile.h"

#include <arpa/inet.h>

#include <cstring>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "controller/policy/rule.h"

namespace ovx::controller {
namespace {

struct KeyLess {
  bool operator()(const ovx_policy_key& a, const ovx_policy_key& b) const {
    return std::memcmp(&a, &b, sizeof(a)) < 0;
  }
};

using Labels = std::map<std::string, std::string>;

// Identity -> its labels, per network: selectors are matched once per label
// set, not once per endpoint (many endpoints share an identity).
using IdentityLabels = std::map<uint32_t, const Labels*>;

// Identities `selector` picks among those of a network, sorted.
std::set<uint32_t> Select(const IdentityLabels& identities,
                          const Selector& selector) {
  if (selector.all) return {OVX_IDENTITY_ANY};
  std::set<uint32_t> out;
  for (const auto& [id, labels] : identities) {
    if (selector.Matches(*labels)) out.insert(id);
  }
  return out;
}

}  // namespace

std::vector<PortPrefix> PortRangePrefixes(uint16_t first, uint16_t last) {
  std::vector<PortPrefix> out;
  // Greedy from the low end: the largest aligned block that starts at `lo`
  // and stays within the range. 32-bit so that lo can pass 65535.
  uint32_t lo = first;
  const uint32_t hi = last;
  while (lo <= hi) {
    int size_log2 = 0;
    while (size_log2 < 16) {
      uint32_t next = 1u << (size_log2 + 1);
      if ((lo & (next - 1)) != 0 || lo + next - 1 > hi) break;
      ++size_log2;
    }
    out.push_back(
        {static_cast<uint16_t>(lo), static_cast<uint8_t>(16 - size_log2)});
    lo += 1u << size_log2;
  }
  return out;
}

ovx_policy_key PolicyKey(uint32_t vni, uint32_t src_identity,
                         uint32_t dst_identity, uint8_t proto, uint16_t port,
                         uint8_t port_bits) {
  ovx_policy_key key;
  std::memset(&key, 0, sizeof(key));
  key.vni = vni;
  key.src_identity = src_identity;
  key.dst_identity = dst_identity;
  if (proto == 0) {
    key.prefixlen = OVX_POLICY_PREFIX_ANY_PROTO;
    return key;
  }
  key.proto = proto;
  if (port_bits == 0) {
    key.prefixlen = OVX_POLICY_PREFIX_ANY_PORT;
    return key;
  }
  if (port_bits > 16) port_bits = 16;
  const uint16_t mask = static_cast<uint16_t>(0xffffu << (16 - port_bits));
  key.prefixlen = OVX_POLICY_PREFIX_ANY_PORT + port_bits;
  key.port = htons(port & mask);
  return key;
}

CompiledPolicy CompilePolicies(const Snapshot& snap,
                               const std::set<std::string>& networks) {
  CompiledPolicy out;
  std::map<std::string, IdentityLabels> identities;  // deny networks only
  for (const auto& [name, e] : snap.endpoints) {
    auto net = snap.networks.find(e.network);
    if (e.identity == 0 || !networks.contains(e.network) ||
        net == snap.networks.end() || net->second.policy != "deny") {
      continue;
    }
    identities[e.network].emplace(e.identity, &e.labels);
  }
  std::map<ovx_policy_key, ovx_policy, KeyLess> entries;
  for (const auto& [name, policy] : snap.policies) {
    if (!networks.contains(policy.network)) continue;
    auto net = snap.networks.find(policy.network);
    if (net == snap.networks.end() || net->second.policy != "deny") continue;
    absl::StatusOr<Rule> rule = ParseRule(policy);
    if (!rule.ok()) {
      out.skipped.push_back(std::string(rule.status().message()));
      continue;
    }
    std::vector<PortPrefix> ports;
    if (rule->proto != 0 && !rule->any_port()) {
      ports = PortRangePrefixes(rule->port_first, rule->port_last);
    } else {
      ports.push_back({0, 0});
    }
    ovx_policy value;
    std::memset(&value, 0, sizeof(value));
    value.flags = OVX_POLICY_F_ALLOW;
    value.rule_id = RuleId(name);
    const uint32_t vni = net->second.vni;
    const IdentityLabels& ids = identities[policy.network];
    const std::set<uint32_t> sources = Select(ids, rule->from);
    const std::set<uint32_t> destinations = Select(ids, rule->to);
    for (uint32_t src : sources) {
      for (uint32_t dst : destinations) {
        for (const PortPrefix& p : ports) {
          entries.emplace(PolicyKey(vni, src, dst, rule->proto, p.port, p.bits),
                          value);
        }
      }
    }
  }
  out.entries.reserve(entries.size());
  for (const auto& [key, value] : entries) out.entries.push_back({key, value});
  if (out.entries.size() > OVX_MAX_POLICY) {
    out.skipped.push_back(absl::StrCat(
        "policy: ", out.entries.size(), " entries exceed the map's ",
        OVX_MAX_POLICY, "; the rest will fail to be written"));
  }
  return out;
}

}  // namespace ovx::controller
