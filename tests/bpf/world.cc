#include "tests/bpf/world.h"

#include <bpf/bpf.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "maps/dataplane_maps.h"

namespace ovx::testing {
namespace {

World g_world;

maps::Mac M(const MacAddr& m) { return maps::Mac(m); }

absl::Status Put(int fd, const void* key, const void* value,
                 absl::string_view what) {
  if (bpf_map_update_elem(fd, key, value, BPF_ANY) != 0) {
    return absl::InternalError(
        absl::StrCat("update ", what, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace

const World& TheWorld() { return g_world; }
void SetTheWorld(const World& world) { g_world = world; }

absl::StatusOr<World> BuildWorld() {
  const char* commands[] = {
      // No IPv6 chatter (DAD, router solicitations) to move counters.
      "sysctl -qw net.ipv6.conf.all.disable_ipv6=1",
      "sysctl -qw net.ipv6.conf.default.disable_ipv6=1",
      "ip link add ul0 address 02:00:00:00:50:01 type veth peer name ul1",
      "ip addr add 192.168.50.1/24 dev ul0",
      "ip link set ul0 up",
      "ip link set ul1 up",
      "ip neigh replace 192.168.50.2 lladdr 02:00:00:00:50:02 dev ul0 nud "
      "permanent",
      "ip neigh replace 192.168.50.254 lladdr 02:00:00:00:50:fe dev ul0 nud "
      "permanent",
      "ip route add 10.200.0.0/16 via 192.168.50.254 dev ul0",
      // A second underlay with forwarding off, for the fallback path.
      "ip link add ul2 type veth peer name ul3",
      "ip addr add 192.168.60.1/24 dev ul2",
      "ip link set ul2 up",
      "ip link set ul3 up",
      "ip neigh replace 192.168.60.2 lladdr 02:00:00:00:60:02 dev ul2 nud "
      "permanent",
      // bpf_fib_lookup() needs forwarding on the underlay it looks up.
      "sysctl -qw net.ipv4.conf.all.forwarding=1",
      "sysctl -qw net.ipv4.conf.ul2.forwarding=0",
      "ip link add hA type veth peer name cA",
      "ip link add hB type veth peer name cB",
      "ip link add hR type veth peer name cR",
      "ip link set hA up",
      "ip link set hB up",
      "ip link set hR up",
  };
  for (const char* c : commands) {
    if (absl::Status s = Sh(c); !s.ok()) return s;
  }
  World w;
  auto idx = [](const char* name) { return IfIndex(name); };
  auto ul = idx("ul0");
  auto ul2 = idx("ul2");
  auto a = idx("hA");
  auto b = idx("hB");
  auto r = idx("hR");
  for (auto* s : {&ul, &ul2, &a, &b, &r}) {
    if (!s->ok()) return s->status();
  }
  w.underlay = *ul;
  w.underlay_no_fwd = *ul2;
  w.host_a = *a;
  w.host_b = *b;
  w.host_r = *r;
  return w;
}

absl::Status PutEndpoint(const MapFds& fds, uint32_t vni, in_addr ip,
                         const ovx_endpoint& ep) {
  const ovx_endpoint_key key = maps::EndpointKey(vni, ip);
  if (auto s = Put(fds.endpoints, &key, &ep, "endpoints"); !s.ok()) return s;
  auto slots = maps::EndpointSlots::FromFd(fds.endpoint_slots);
  if (!slots.ok()) return slots.status();
  if (!slots->Put(key, ep)) return absl::InternalError("endpoint slot taken");
  return absl::OkStatus();
}

absl::Status FillMaps(const World& w, const MapFds& fds) {
  struct Ep {
    uint32_t vni;
    in_addr ip;
    ovx_endpoint ep;
  };
  const Ep eps[] = {
      {kVniBlue, kIpA, maps::LocalEndpoint(w.host_a, M(kMacA), kIdA)},
      {kVniBlue, kIpB, maps::LocalEndpoint(w.host_b, M(kMacB), kIdB)},
      {kVniBlue, kIpC, maps::RemoteEndpoint(kVtep2, M(kMacC), kIdC)},
      {kVniBlue, kIpD, maps::RemoteEndpoint(kVtep3, M(kMacD), kIdD)},
      {kVniBlue, kIpE, maps::RemoteEndpoint(kVtepNoRoute, M(kMacE), kIdE)},
      {kVniBlue, kIpG, maps::RemoteEndpoint(kVtepRouted, M(kMacG), kIdG)},
      {kVniBlue, kIpH, maps::RemoteEndpoint(kVtepNoFwd, M(kMacH), kIdH)},
      {kVniRed, kIpR, maps::LocalEndpoint(w.host_r, M(kMacR), kIdR)},
  };
  for (const Ep& e : eps) {
    if (auto s = PutEndpoint(fds, e.vni, e.ip, e.ep); !s.ok()) return s;
  }
  struct If {
    uint32_t ifindex;
    ovx_interface iface;
  };
  const If ifs[] = {
      {w.host_a, maps::Interface(kVniBlue, kIpA, M(kMacA), kIdA)},
      {w.host_b, maps::Interface(kVniBlue, kIpB, M(kMacB), kIdB)},
      {w.host_r, maps::Interface(kVniRed, kIpR, M(kMacR), kIdR)},
  };
  // As the controller writes them: the hash, then the slot.
  auto slots = maps::InterfaceSlots::FromFd(fds.interface_slots);
  if (!slots.ok()) return slots.status();
  for (const If& i : ifs) {
    if (auto s = Put(fds.interfaces, &i.ifindex, &i.iface, "interfaces");
        !s.ok()) {
      return s;
    }
    if (!slots->Put(i.ifindex, i.iface)) {
      return absl::InternalError("interface slot taken");
    }
  }
  uint32_t node = 1;
  for (in_addr vtep : {kVtep2, kVtep3, kVtepRouted, kVtepNoRoute}) {
    ovx_vtep_key vk = maps::VtepKey(vtep);
    ovx_vtep v{};
    v.node_id = ++node;
    if (auto s = Put(fds.vteps, &vk, &v, "vteps"); !s.ok()) return s;
    ovx_vtep_vni_key vvk = maps::VtepVniKey(vtep, kVniBlue);
    ovx_vtep_vni vv{1};
    if (auto s = Put(fds.vtep_vnis, &vvk, &vv, "vtep_vnis"); !s.ok()) {
      return s;
    }
  }
  for (uint32_t vni : {kVniBlue, kVniRed}) {
    ovx_network net{};
    net.mtu = 1450;
    if (auto s = Put(fds.networks, &vni, &net, "networks"); !s.ok()) return s;
  }
  return absl::OkStatus();
}

ovx_config NodeConfig(const World& w) {
  ovx_config cfg;
  std::memset(&cfg, 0, sizeof(cfg));
  cfg.vtep_family = OVX_AF_INET;
  cfg.vtep[0] = kVtep.s_addr;
  cfg.underlay_ifindex = w.underlay;
  cfg.vxlan_port = OVX_VXLAN_PORT_DEFAULT;
  cfg.sport_min = OVX_SPORT_MIN_DEFAULT;
  cfg.sport_max = OVX_SPORT_MAX_DEFAULT;
  return cfg;
}

Bytes MetaBytes(uint32_t magic, uint32_t ifindex) {
  ovx_xdp_meta meta{magic, ifindex};
  const auto* p = reinterpret_cast<const uint8_t*>(&meta);
  return Bytes(p, p + sizeof(meta));
}

}  // namespace ovx::testing
