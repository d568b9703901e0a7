// ovx-test-mapfill: writes and reads the pinned ovx maps directly through
// the typed wrappers, so e2e tests can drive the dataplane without a
// controller. Test tool only; users go through ovxctl and ovx-controller.
//
//   ovx-test-mapfill --bpffs=DIR endpoint-local --vni=N --ip=IP --mac=MAC
//                    --ifindex=N [--identity=N]
//   ovx-test-mapfill --bpffs=DIR endpoint-remote --vni=N --ip=IP --mac=MAC
//                    --vtep=IP [--identity=N]
//   ovx-test-mapfill --bpffs=DIR endpoint-rm --vni=N --ip=IP
//   ovx-test-mapfill --bpffs=DIR interface --ifindex=N --vni=N --ip=IP
//                    --mac=MAC [--identity=N]
//   ovx-test-mapfill --bpffs=DIR vtep --ip=IP [--node_id=N]
//   ovx-test-mapfill --bpffs=DIR vtep-vni --ip=IP --vni=N [--count=N]
//   ovx-test-mapfill --bpffs=DIR network --vni=N [--mtu=N] [--net_flags=N]
//   ovx-test-mapfill --bpffs=DIR dump endpoints|endpoint_slots2|interfaces|
//                                     interface_slots|vteps|vtep_vnis|networks
//   ovx-test-mapfill --bpffs=DIR counters      (non-zero: dir reason packets bytes)
#include <arpa/inet.h>
#include <gflags/gflags.h>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "maps/abi/ovx_abi.h"
#include "maps/dataplane_maps.h"

DEFINE_string(bpffs, OVX_BPFFS_DEFAULT, "bpffs root holding the ovx maps");
DEFINE_uint32(vni, 0, "VNI");
DEFINE_string(ip, "", "endpoint or VTEP IPv4");
DEFINE_string(mac, "", "endpoint MAC");
DEFINE_uint32(ifindex, 0, "host-side interface index");
DEFINE_string(vtep, "", "remote endpoint's VTEP IPv4");
DEFINE_uint32(identity, 0, "security identity (0 = none)");
DEFINE_uint32(node_id, 1, "VTEP node id");
DEFINE_uint32(count, 1, "vtep-vni endpoint count");
DEFINE_uint32(mtu, 1450, "network (container) MTU");
DEFINE_uint32(net_flags, 0, "network flags (OVX_NET_F_*)");

namespace ovx::maps {
namespace {

absl::Status Require(bool ok, absl::string_view flag) {
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("--", flag, " is required"));
}

absl::StatusOr<DataplaneMaps> OpenMaps() {
  return DataplaneMaps::Open(FLAGS_bpffs);
}

absl::Status EndpointLocal() {
  if (auto s = Require(FLAGS_vni != 0, "vni"); !s.ok()) return s;
  if (auto s = Require(FLAGS_ifindex != 0, "ifindex"); !s.ok()) return s;
  auto ip = ParseIpv4(FLAGS_ip);
  if (!ip.ok()) return ip.status();
  auto mac = ParseMac(FLAGS_mac);
  if (!mac.ok()) return mac.status();
  auto maps = OpenMaps();
  if (!maps.ok()) return maps.status();
  return maps->endpoints.Update(EndpointKey(FLAGS_vni, *ip),
                                LocalEndpoint(FLAGS_ifindex, *mac,
                                              FLAGS_identity));
}

absl::Status EndpointRemote() {
  if (auto s = Require(FLAGS_vni != 0, "vni"); !s.ok()) return s;
  auto ip = ParseIpv4(FLAGS_ip);
  if (!ip.ok()) return ip.status();
  auto mac = ParseMac(FLAGS_mac);
  if (!mac.ok()) return mac.status();
  auto vtep = ParseIpv4(FLAGS_vtep);
  if (!vtep.ok()) return vtep.status();
  auto maps = OpenMaps();
  if (!maps.ok()) return maps.status();
  return maps->endpoints.Update(EndpointKey(FLAGS_vni, *ip),
                                RemoteEndpoint(*vtep, *mac, FLAGS_identity));
}

absl::Status EndpointRm() {
  auto ip = ParseIpv4(FLAGS_ip);
  if (!ip.ok()) return ip.status();
  auto maps = OpenMaps();
  if (!maps.ok()) return maps.status();
  return maps->endpoints.Delete(EndpointKey(FLAGS_vni, *ip));
}

absl::Status InterfaceCmd() {
  if (auto s = Require(FLAGS_ifindex != 0, "ifindex"); !s.ok()) return s;
  if (auto s = Require(FLAGS_vni != 0, "vni"); !s.ok()) return s;
  auto ip = ParseIpv4(FLAGS_ip);
  if (!ip.ok()) return ip.status();
  auto mac = ParseMac(FLAGS_mac);
  if (!mac.ok()) return mac.status();
  auto maps = OpenMaps();
  if (!maps.ok()) return maps.status();
  uint32_t key = FLAGS_ifindex;
  return maps->interfaces.Update(
      key, Interface(FLAGS_vni, *ip, *mac, FLAGS_identity));
}

absl::Status VtepCmd() {
  auto ip = ParseIpv4(FLAGS_ip);
  if (!ip.ok()) return ip.status();
  auto maps = OpenMaps();
  if (!maps.ok()) return maps.status();
  ovx_vtep value{};
  value.node_id = FLAGS_node_id;
  return maps->vteps.Update(VtepKey(*ip), value);
}

absl::Status VtepVniCmd() {
  if (auto s = Require(FLAGS_vni != 0, "vni"); !s.ok()) return s;
  auto ip = ParseIpv4(FLAGS_ip);
  if (!ip.ok()) return ip.status();
  auto maps = OpenMaps();
  if (!maps.ok()) return maps.status();
  ovx_vtep_vni value{};
  value.endpoints = FLAGS_count;
  return maps->vtep_vnis.Update(VtepVniKey(*ip, FLAGS_vni), value);
}

absl::Status NetworkCmd() {
  if (auto s = Require(FLAGS_vni != 0, "vni"); !s.ok()) return s;
  auto maps = OpenMaps();
  if (!maps.ok()) return maps.status();
  ovx_network value{};
  value.flags = FLAGS_net_flags;
  value.mtu = static_cast<uint16_t>(FLAGS_mtu);
  uint32_t key = FLAGS_vni;
  return maps->networks.Update(key, value);
}

in_addr Addr(__be32 raw) {
  in_addr a{};
  a.s_addr = raw;
  return a;
}

absl::Status Dump(absl::string_view which) {
  auto maps = OpenMaps();
  if (!maps.ok()) return maps.status();
  if (which == "endpoints" || which == OVX_MAP_ENDPOINT_SLOTS) {
    std::vector<std::pair<ovx_endpoint_key, ovx_endpoint>> entries;
    if (which == "endpoints") {
      auto dumped = maps->endpoints.Dump();
      if (!dumped.ok()) return dumped.status();
      entries = *std::move(dumped);
    } else if (maps->endpoints.slots().has_value()) {
      entries = maps->endpoints.slots()->Filled();
    }
    for (const auto& [k, v] : entries) {
      std::string where =
          (v.flags & OVX_EP_F_LOCAL)
              ? absl::StrCat("local ifindex=", v.ifindex)
              : absl::StrCat("remote vtep=", FormatIpv4(Addr(v.vtep[0])));
      std::cout << absl::StrFormat("vni=%u ip=%s %s mac=%s identity=%u\n",
                                   k.vni, FormatIpv4(Addr(k.addr[0])), where,
                                   FormatMac(v.mac), v.identity);
    }
  } else if (which == "interfaces" || which == "interface_slots") {
    std::vector<std::pair<uint32_t, ovx_interface>> entries;
    if (which == "interfaces") {
      auto dumped = maps->interfaces.Dump();
      if (!dumped.ok()) return dumped.status();
      entries = *std::move(dumped);
    } else if (maps->interfaces.slots().has_value()) {
      entries = maps->interfaces.slots()->Filled();
    }
    for (const auto& [k, v] : entries) {
      std::cout << absl::StrFormat(
          "ifindex=%u vni=%u ip=%s mac=%s identity=%u\n", k, v.vni,
          FormatIpv4(Addr(v.addr[0])), FormatMac(v.mac), v.identity);
    }
  } else if (which == "vteps") {
    auto entries = maps->vteps.Dump();
    if (!entries.ok()) return entries.status();
    for (const auto& [k, v] : *entries) {
      std::cout << absl::StrFormat("vtep=%s node_id=%u\n",
                                   FormatIpv4(Addr(k.addr[0])), v.node_id);
    }
  } else if (which == "vtep_vnis") {
    auto entries = maps->vtep_vnis.Dump();
    if (!entries.ok()) return entries.status();
    for (const auto& [k, v] : *entries) {
      std::cout << absl::StrFormat("vtep=%s vni=%u endpoints=%u\n",
                                   FormatIpv4(Addr(k.addr[0])), k.vni,
                                   v.endpoints);
    }
  } else if (which == "networks") {
    auto entries = maps->networks.Dump();
    if (!entries.ok()) return entries.status();
    for (const auto& [k, v] : *entries) {
      std::cout << absl::StrFormat("vni=%u mtu=%u flags=%u\n", k, v.mtu,
                                   v.flags);
    }
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("dump: unknown map '", which, "'"));
  }
  return absl::OkStatus();
}

absl::Status Counters() {
  auto readings = ReadCounters(FLAGS_bpffs);
  if (!readings.ok()) return readings.status();
  for (const CounterReading& r : *readings) {
    std::cout << absl::StrFormat("%s %s %u %u\n", DirectionName(r.dir),
                                 ReasonName(r.reason), r.packets, r.bytes);
  }
  return absl::OkStatus();
}

struct Command {
  const char* name;
  std::function<absl::Status(const std::vector<std::string>&)> run;
};

const Command kCommands[] = {
    {"endpoint-local", [](const auto&) { return EndpointLocal(); }},
    {"endpoint-remote", [](const auto&) { return EndpointRemote(); }},
    {"endpoint-rm", [](const auto&) { return EndpointRm(); }},
    {"interface", [](const auto&) { return InterfaceCmd(); }},
    {"vtep", [](const auto&) { return VtepCmd(); }},
    {"vtep-vni", [](const auto&) { return VtepVniCmd(); }},
    {"network", [](const auto&) { return NetworkCmd(); }},
    {"dump",
     [](const auto& args) {
       return Dump(args.size() > 1 ? args[1] : std::string("endpoints"));
     }},
    {"counters", [](const auto&) { return Counters(); }},
};

absl::Status Run(const std::vector<std::string>& args) {
  if (args.empty()) return absl::InvalidArgumentError("missing subcommand");
  for (const Command& cmd : kCommands) {
    if (args[0] == cmd.name) return cmd.run(args);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown subcommand '", args[0], "'"));
}

}  // namespace
}  // namespace ovx::maps

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "ovx-test-mapfill --bpffs=DIR "
      "endpoint-local|endpoint-remote|endpoint-rm|interface|vtep|vtep-vni|"
      "network|dump MAP|counters [flags]");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  std::vector<std::string> args(argv + 1, argv + argc);
  absl::Status status = ovx::maps::Run(args);
  if (!status.ok()) {
    std::cerr << "ovx-test-mapfill: " << status << "\n";
    return 1;
  }
  return 0;
}
