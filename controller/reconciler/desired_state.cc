#include "controller/reconciler/desired_state.h"

#include <netinet/in.h>

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "controller/policy/compile.h"
#include "maps/dataplane_maps.h"

namespace ovx::controller {
namespace {

struct ParsedNetwork {
  uint32_t vni = 0;
  ovx_network value{};
};

std::map<std::string, ParsedNetwork> ParseNetworks(
    const Snapshot& snapshot, uint16_t default_mtu,
    std::vector<std::string>& skipped) {
  std::map<std::string, ParsedNetwork> out;
  for (const auto& [name, net] : snapshot.networks) {
    if (net.vni == 0 || net.vni > OVX_VNI_MAX) {
      skipped.push_back(
          absl::StrCat("network ", name, ": vni ", net.vni, " out of range"));
      continue;
    }
    if (net.mtu > 0xffff) {
      skipped.push_back(
          absl::StrCat("network ", name, ": mtu ", net.mtu, " out of range"));
      continue;
    }
    ParsedNetwork parsed;
    parsed.vni = net.vni;
    std::memset(&parsed.value, 0, sizeof(parsed.value));
    if (net.policy == "deny") parsed.value.flags |= OVX_NET_F_POLICY_DENY;
    parsed.value.mtu =
        net.mtu != 0 ? static_cast<uint16_t>(net.mtu) : default_mtu;
    out.emplace(name, parsed);
  }
  return out;
}

}  // namespace

uint32_t NodeId(absl::string_view name) {
  uint32_t hash = 2166136261u;
  for (unsigned char c : name) {
    hash ^= c;
    hash *= 16777619u;
  }
  return hash;
}

DesiredState ComputeDesiredState(const Snapshot& snapshot,
                                 const DesiredStateOptions& options,
                                 const InterfaceResolver& resolve) {
  DesiredState out;
  out.node_known = snapshot.nodes.contains(options.node);
  std::map<std::string, ParsedNetwork> networks =
      ParseNetworks(snapshot, options.default_mtu, out.skipped);

  // Present networks: those with an ovx-managed endpoint on this node. An
  // endpoint still waiting for its interface counts, so the remote side is
  // ready when the interface appears.
  std::set<std::string> present;
  for (const auto& [name, ep] : snapshot.endpoints) {
    if (ep.node == options.node && !ep.iface.empty() &&
        networks.contains(ep.network)) {
      present.insert(ep.network);
    }
  }
  for (const std::string& name : present) {
    const ParsedNetwork& net = networks.at(name);
    out.maps.networks[net.vni] = net.value;
  }

  for (const auto& [name, ep] : snapshot.endpoints) {
    bool local = ep.node == options.node;
    auto net = networks.find(ep.network);
    if (net == networks.end()) {
      if (local) {
        out.skipped.push_back(absl::StrCat("endpoint ", name, ": network '",
                                           ep.network,
                                           "' is unknown or invalid"));
      }
      continue;
    }
    if (!present.contains(ep.network)) {
      if (local) {
        out.skipped.push_back(absl::StrCat(
            "endpoint ", name, ": on this node without an interface"));
      }
      continue;
    }
    const uint32_t vni = net->second.vni;
    auto ip = maps::ParseIpv4(ep.ip);
    auto mac = maps::ParseMac(ep.mac);
    if (!ip.ok() || !mac.ok()) {
      out.skipped.push_back(absl::StrCat(
          "endpoint ", name, ": ",
          !ip.ok() ? ip.status().message() : mac.status().message()));
      continue;
    }
    const ovx_endpoint_key key = maps::EndpointKey(vni, *ip);
    if (out.maps.endpoints.contains(key)) {
      out.skipped.push_back(absl::StrCat("endpoint ", name, ": ip ", ep.ip,
                                         " already used in network ",
                                         ep.network));
      continue;
    }
    const uint32_t identity = ep.identity;

    if (local) {
      if (ep.iface.empty()) {
        out.skipped.push_back(absl::StrCat(
            "endpoint ", name, ": on this node without an interface"));
        continue;
      }
      std::optional<uint32_t> ifindex = resolve(ep.iface);
      if (!ifindex.has_value() || *ifindex == 0) {
        out.waiting.push_back({name, ep.iface, 0});
        continue;
      }
      if (out.maps.interfaces.contains(*ifindex)) {
        out.skipped.push_back(absl::StrCat("endpoint ", name, ": interface ",
                                           ep.iface,
                                           " already belongs to an endpoint"));
        continue;
      }
      out.maps.endpoints[key] = maps::InNetwork(
          maps::LocalEndpoint(*ifindex, *mac, identity), net->second.value);
      out.maps.interfaces[*ifindex] = maps::Interface(vni, *ip, *mac, identity);
      out.interfaces.push_back({name, ep.iface, *ifindex});
      continue;
    }

    auto node = snapshot.nodes.find(ep.node);
    if (node == snapshot.nodes.end()) {
      out.skipped.push_back(
          absl::StrCat("endpoint ", name, ": node '", ep.node, "' is unknown"));
      continue;
    }
    auto vtep = maps::ParseIpv4(node->second.vtep);
    if (!vtep.ok()) {
      out.skipped.push_back(absl::StrCat("endpoint ", name, ": node ", ep.node,
                                         ": ", vtep.status().message()));
      continue;
    }
    out.maps.endpoints[key] = maps::InNetwork(
        maps::RemoteEndpoint(*vtep, *mac, identity), net->second.value);
    ovx_vtep value;
    std::memset(&value, 0, sizeof(value));
    value.node_id = NodeId(ep.node);
    out.maps.vteps[maps::VtepKey(*vtep)] = value;
    ovx_vtep_vni& count =
        out.maps.vtep_vnis
            .try_emplace(maps::VtepVniKey(*vtep, vni), ovx_vtep_vni{0})
            .first->second;
    ++count.endpoints;
  }

  CompiledPolicy policy = CompilePolicies(snapshot, present);
  for (const PolicyEntry& e : policy.entries) {
    out.maps.policy.emplace(e.key, e.value);
  }
  out.skipped.insert(out.skipped.end(), policy.skipped.begin(),
                     policy.skipped.end());
  return out;
}

}  // namespace ovx::controller
