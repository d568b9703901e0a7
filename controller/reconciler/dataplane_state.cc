#include "controller/reconciler/dataplane_state.h"

#include <netinet/in.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "maps/dataplane_maps.h"

namespace ovx::controller {
namespace {

std::string FormatAddr(uint8_t family, const __be32 addr[4]) {
  if (family == OVX_AF_INET) {
    in_addr ip{};
    ip.s_addr = addr[0];
    return maps::FormatIpv4(ip);
  }
  // IPv6 is not written yet; show the raw words rather than guess.
  return absl::StrFormat("af%u:%08x%08x%08x%08x", family, addr[0], addr[1],
                         addr[2], addr[3]);
}

template <typename K, typename V>
bool SameTable(const Table<K, V>& a, const Table<K, V>& b) {
  if (a.size() != b.size()) return false;
  for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib) {
    if (!SameBytes(ia->first, ib->first) || !SameBytes(ia->second, ib->second))
      return false;
  }
  return true;
}

template <typename K, typename V, typename FK, typename FV>
void DescribeTable(absl::string_view name, const Table<K, V>& table,
                   FK format_key, FV format_value, std::string& out) {
  for (const auto& [key, value] : table) {
    absl::StrAppend(&out, name, ": ", format_key(key), " -> ",
                    format_value(value), "\n");
  }
}

}  // namespace

bool operator==(const DataplaneState& a, const DataplaneState& b) {
  return SameTable(a.networks, b.networks) && SameTable(a.vteps, b.vteps) &&
         SameTable(a.vtep_vnis, b.vtep_vnis) &&
         SameTable(a.interfaces, b.interfaces) &&
         SameTable(a.endpoints, b.endpoints) && SameTable(a.policy, b.policy);
}

std::string DescribeState(const DataplaneState& state) {
  std::string out;
  DescribeTable("networks", state.networks, FormatNetworkKey, FormatNetwork,
                out);
  DescribeTable("vteps", state.vteps, FormatVtepKey, FormatVtep, out);
  DescribeTable("vtep_vnis", state.vtep_vnis, FormatVtepVniKey, FormatVtepVni,
                out);
  DescribeTable("interfaces", state.interfaces, FormatInterfaceKey,
                FormatInterface, out);
  DescribeTable("endpoints", state.endpoints, FormatEndpointKey, FormatEndpoint,
                out);
  DescribeTable("policy", state.policy, FormatPolicyKey, FormatPolicy, out);
  return out;
}

std::string FormatNetworkKey(uint32_t vni) { return absl::StrCat("vni=", vni); }

std::string FormatNetwork(const ovx_network& value) {
  return absl::StrFormat(
      "policy=%s mtu=%u",
      (value.flags & OVX_NET_F_POLICY_DENY) ? "deny" : "allow", value.mtu);
}

std::string FormatVtepKey(const ovx_vtep_key& key) {
  return FormatAddr(key.family, key.addr);
}

std::string FormatVtep(const ovx_vtep& value) {
  return absl::StrFormat("node_id=%08x", value.node_id);
}

std::string FormatVtepVniKey(const ovx_vtep_vni_key& key) {
  return absl::StrCat(FormatAddr(key.family, key.addr), " vni=", key.vni);
}

std::string FormatVtepVni(const ovx_vtep_vni& value) {
  return absl::StrCat("endpoints=", value.endpoints);
}

std::string FormatInterfaceKey(uint32_t ifindex) {
  return absl::StrCat("ifindex=", ifindex);
}

std::string FormatInterface(const ovx_interface& value) {
  return absl::StrCat("vni=", value.vni, " ",
                      FormatAddr(value.family, value.addr), " ",
                      maps::FormatMac(value.mac), " identity=", value.identity);
}

std::string FormatEndpointKey(const ovx_endpoint_key& key) {
  return absl::StrCat("vni=", key.vni, " ", FormatAddr(key.family, key.addr));
}

std::string FormatEndpoint(const ovx_endpoint& value) {
  std::string where;
  if (value.flags & OVX_EP_F_LOCAL) {
    where = absl::StrCat("local ifindex=", value.ifindex);
  } else if (value.flags & OVX_EP_F_REMOTE) {
    where = absl::StrCat("remote ", FormatAddr(value.vtep_family, value.vtep));
  } else {
    where = absl::StrFormat("flags=%#x", value.flags);
  }
  return absl::StrCat(
      where, " ", maps::FormatMac(value.mac), " identity=", value.identity,
      value.flags & OVX_EP_F_NET_ALLOW_ALL ? " net=allow-all" : "");
}

// "vni=200 256->257 tcp/5432", "vni=200 *->257 any", "udp 8000/12" (a
// port prefix: the top 12 bits of 8000).
std::string FormatPolicyKey(const ovx_policy_key& key) {
  auto identity = [](uint32_t id) {
    return id == OVX_IDENTITY_ANY ? std::string("*") : absl::StrCat(id);
  };
  std::string out =
      absl::StrCat("vni=", key.vni, " ", identity(key.src_identity), "->",
                   identity(key.dst_identity), " ");
  if (key.prefixlen <= OVX_POLICY_PREFIX_ANY_PROTO) {
    return absl::StrCat(out, "any");
  }
  switch (key.proto) {
    case IPPROTO_TCP:
      absl::StrAppend(&out, "tcp");
      break;
    case IPPROTO_UDP:
      absl::StrAppend(&out, "udp");
      break;
    case IPPROTO_ICMP:
      absl::StrAppend(&out, "icmp");
      break;
    default:
      absl::StrAppend(&out, "proto-", key.proto);
  }
  if (key.prefixlen <= OVX_POLICY_PREFIX_ANY_PORT) return out;
  absl::StrAppend(&out, "/", ntohs(key.port));
  if (key.prefixlen < OVX_POLICY_PREFIX_FULL) {
    absl::StrAppend(&out, "/", key.prefixlen - OVX_POLICY_PREFIX_ANY_PORT);
  }
  return out;
}

std::string FormatPolicy(const ovx_policy& value) {
  return absl::StrFormat("%s rule_id=%08x",
                         (value.flags & OVX_POLICY_F_ALLOW) ? "allow" : "deny",
                         value.rule_id);
}

}  // namespace ovx::controller
