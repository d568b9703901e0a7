#include "maps/dataplane_maps.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ovx::maps {

ovx_endpoint_key EndpointKey(uint32_t vni, in_addr ip) {
  ovx_endpoint_key key;
  std::memset(&key, 0, sizeof(key));
  key.vni = vni;
  key.family = OVX_AF_INET;
  key.addr[0] = ip.s_addr;
  return key;
}

ovx_vtep_key VtepKey(in_addr vtep) {
  ovx_vtep_key key;
  std::memset(&key, 0, sizeof(key));
  key.family = OVX_AF_INET;
  key.addr[0] = vtep.s_addr;
  return key;
}

ovx_vtep_vni_key VtepVniKey(in_addr vtep, uint32_t vni) {
  ovx_vtep_vni_key key;
  std::memset(&key, 0, sizeof(key));
  key.vni = vni;
  key.family = OVX_AF_INET;
  key.addr[0] = vtep.s_addr;
  return key;
}

ovx_endpoint LocalEndpoint(uint32_t ifindex, const Mac& mac,
                           uint32_t identity) {
  ovx_endpoint ep;
  std::memset(&ep, 0, sizeof(ep));
  ep.flags = OVX_EP_F_LOCAL;
  ep.ifindex = ifindex;
  ep.identity = identity;
  std::memcpy(ep.mac, mac.data(), mac.size());
  return ep;
}

ovx_endpoint RemoteEndpoint(in_addr vtep, const Mac& mac, uint32_t identity) {
  ovx_endpoint ep;
  std::memset(&ep, 0, sizeof(ep));
  ep.flags = OVX_EP_F_REMOTE;
  ep.identity = identity;
  std::memcpy(ep.mac, mac.data(), mac.size());
  ep.vtep_family = OVX_AF_INET;
  ep.vtep[0] = vtep.s_addr;
  return ep;
}

ovx_endpoint InNetwork(ovx_endpoint ep, const ovx_network& net) {
  if (net.flags & OVX_NET_F_POLICY_DENY) {
    ep.flags &= ~OVX_EP_F_NET_ALLOW_ALL;
  } else {
    ep.flags |= OVX_EP_F_NET_ALLOW_ALL;
  }
  return ep;
}

ovx_interface Interface(uint32_t vni, in_addr ip, const Mac& mac,
                        uint32_t identity) {
  ovx_interface iface;
  std::memset(&iface, 0, sizeof(iface));
  iface.vni = vni;
  iface.identity = identity;
  iface.family = OVX_AF_INET;
  std::memcpy(iface.mac, mac.data(), mac.size());
  iface.addr[0] = ip.s_addr;
  return iface;
}

absl::StatusOr<in_addr> ParseIpv4(absl::string_view text) {
  in_addr addr{};
  std::string copy(text);
  if (inet_pton(AF_INET, copy.c_str(), &addr) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not an IPv4 address"));
  }
  return addr;
}

std::string FormatIpv4(in_addr ip) {
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &ip, buf, sizeof(buf));
  return buf;
}

namespace {

// A hex digit's value, or -1.
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

// By hand: sscanf("%2x") per octet was a tenth of the controller's CPU on a
// cold sync, and took " 5", "+5" and "0g" as octets.
absl::StatusOr<Mac> ParseMac(absl::string_view text) {
  Mac mac{};
  bool ok = text.size() == 3 * mac.size() - 1;
  for (size_t i = 0; ok && i < mac.size(); ++i) {
    const int hi = HexValue(text[3 * i]);
    const int lo = HexValue(text[3 * i + 1]);
    ok = hi >= 0 && lo >= 0 && (i + 1 == mac.size() || text[3 * i + 2] == ':');
    mac[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", text, "' is not a MAC address (expected aa:bb:cc:dd:ee:ff)"));
  }
  return mac;
}

std::string FormatMac(const uint8_t* mac) {
  return absl::StrFormat("%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
                         mac[2], mac[3], mac[4], mac[5]);
}

std::string ReasonName(uint32_t reason) {
  switch (reason) {
#define OVX_REASON_NAME_CASE(code, name, text) \
  case code:                                   \
    return text;
    OVX_FORWARD_VERDICTS(OVX_REASON_NAME_CASE)
    OVX_DROP_REASONS(OVX_REASON_NAME_CASE)
#undef OVX_REASON_NAME_CASE
  }
  return absl::StrCat("reason-", reason);
}

bool IsDrop(uint32_t reason) { return reason >= OVX_FIRST_DROP; }

absl::string_view DirectionName(uint32_t dir) {
  switch (dir) {
    case OVX_DIR_EGRESS:
      return "egress";
    case OVX_DIR_INGRESS:
      return "ingress";
  }
  return "unknown";
}

absl::StatusOr<DataplaneMaps> DataplaneMaps::Open(absl::string_view bpffs) {
  auto endpoints = EndpointsMap::Open(bpffs);
  if (!endpoints.ok()) return endpoints.status();
  auto interfaces = InterfacesMap::Open(bpffs);
  if (!interfaces.ok()) return interfaces.status();
  auto vteps = VtepsMap::Open(bpffs, OVX_MAP_VTEPS);
  if (!vteps.ok()) return vteps.status();
  auto vtep_vnis = VtepVnisMap::Open(bpffs, OVX_MAP_VTEP_VNIS);
  if (!vtep_vnis.ok()) return vtep_vnis.status();
  auto networks = NetworksMap::Open(bpffs, OVX_MAP_NETWORKS);
  if (!networks.ok()) return networks.status();
  auto policy = OpenPolicyMap(bpffs);
  if (!policy.ok()) return policy.status();
  return DataplaneMaps{*std::move(endpoints), *std::move(interfaces),
                       *std::move(vteps),     *std::move(vtep_vnis),
                       *std::move(networks),  *std::move(policy)};
}

absl::Status EmptyOldEndpointSlots(absl::string_view bpffs) {
  auto old = SeqlockSlots<OldEndpointSlotTraits>::Open(bpffs);
  if (!old.ok() || !old->has_value()) return old.status();
  // No key wants a slot and no occupant is found: every slot is emptied.
  return (*old)->Rebuild(
      {}, [](const ovx_endpoint_key&)
              -> absl::StatusOr<std::optional<ovx_endpoint>> {
        return std::nullopt;
      });
}

absl::StatusOr<std::optional<PolicyMap>> OpenPolicyMap(
    absl::string_view bpffs) {
  auto policy = PolicyMap::Open(bpffs, OVX_MAP_POLICY);
  if (absl::IsNotFound(policy.status())) return std::nullopt;
  if (!policy.ok()) return policy.status();
  return std::optional<PolicyMap>(*std::move(policy));
}

absl::StatusOr<std::vector<CounterReading>> ReadCounters(
    absl::string_view bpffs) {
  auto map = PinnedMap::Open(bpffs, OVX_MAP_COUNTERS, sizeof(uint32_t),
                             sizeof(ovx_counter));
  if (!map.ok()) return map.status();
  int ncpus = libbpf_num_possible_cpus();
  if (ncpus <= 0) return absl::InternalError("cannot count possible CPUs");
  std::vector<ovx_counter> per_cpu(ncpus);
  std::vector<CounterReading> out;
  for (uint32_t index = 0; index < OVX_MAX_COUNTERS; ++index) {
    absl::Status status = map->LookupRaw(&index, per_cpu.data());
    if (!status.ok()) return status;
    CounterReading reading{index / OVX_REASON_MAX, index % OVX_REASON_MAX};
    for (const ovx_counter& c : per_cpu) {
      reading.packets += c.packets;
      reading.bytes += c.bytes;
    }
    if (reading.packets != 0) out.push_back(reading);
  }
  return out;
}

}  // namespace ovx::maps
