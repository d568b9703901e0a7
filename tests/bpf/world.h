// The fixed little world every packet test runs in: a private netns with an
// underlay veth carrying our VTEP, neighbours and routes for the remote
// VTEPs, host-side veths for local endpoints, and the map contents that
// describe two networks. Tests vary the packet, not the world.
#ifndef OVX_TESTS_BPF_WORLD_H_
#define OVX_TESTS_BPF_WORLD_H_

#include <netinet/in.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "maps/abi/ovx_abi.h"
#include "tests/lib/bpf_test_util.h"
#include "tests/lib/packet_builder.h"

namespace ovx::testing {

// Underlay: our VTEP on ul0, remote VTEPs around it.
inline const MacAddr kUnderlayMac = Mac("02:00:00:00:50:01");
inline const MacAddr kVtep2Mac = Mac("02:00:00:00:50:02");
inline const MacAddr kGatewayMac = Mac("02:00:00:00:50:fe");
inline const in_addr kVtep = Ip("192.168.50.1");
inline const in_addr kVtep2 = Ip("192.168.50.2");  // permanent neigh
inline const in_addr kVtep3 = Ip("192.168.50.3");  // no neighbour
inline const in_addr kGateway = Ip("192.168.50.254");
inline const in_addr kVtepRouted = Ip("10.200.0.7");   // via kGateway
inline const in_addr kVtepNoRoute = Ip("172.31.0.9");  // registered, unroutable
// On ul2, whose forwarding is off: our VTEP there is kVtepOnNoFwd.
inline const in_addr kVtepOnNoFwd = Ip("192.168.60.1");
inline const in_addr kVtepNoFwd = Ip("192.168.60.2");
inline const in_addr kVtepUnknown = Ip("192.168.50.9");  // not registered

inline constexpr uint32_t kVniBlue = 100;
inline constexpr uint32_t kVniRed = 200;
inline constexpr uint32_t kVniUnknown = 300;

// Blue network endpoints.
inline const in_addr kIpA = Ip("10.10.0.1");  // local, host side hA
inline const in_addr kIpB = Ip("10.10.0.2");  // local, host side hB
inline const in_addr kIpC = Ip("10.10.0.3");  // remote behind kVtep2
inline const in_addr kIpD = Ip("10.10.0.4");  // remote behind kVtep3
inline const in_addr kIpE = Ip("10.10.0.5");  // remote behind kVtepNoRoute
inline const in_addr kIpG = Ip("10.10.0.6");  // remote behind kVtepRouted
inline const in_addr kIpH = Ip("10.10.0.7");  // remote behind kVtepNoFwd
inline const in_addr kIpUnknown = Ip("10.10.0.99");
inline const MacAddr kMacA = Mac("02:00:0a:0a:00:01");
inline const MacAddr kMacB = Mac("02:00:0a:0a:00:02");
inline const MacAddr kMacC = Mac("02:00:0a:0a:00:03");
inline const MacAddr kMacD = Mac("02:00:0a:0a:00:04");
inline const MacAddr kMacE = Mac("02:00:0a:0a:00:05");
inline const MacAddr kMacG = Mac("02:00:0a:0a:00:06");
inline const MacAddr kMacH = Mac("02:00:0a:0a:00:07");
inline const MacAddr kMacEvil = Mac("02:00:0e:0e:0e:0e");
// Red network: one local endpoint.
inline const in_addr kIpR = Ip("10.20.0.1");  // local, host side hR
inline const MacAddr kMacR = Mac("02:00:0a:14:00:01");

inline constexpr uint32_t kIdA = 1001, kIdB = 1002, kIdC = 1003, kIdD = 1004,
                          kIdE = 1005, kIdG = 1006, kIdH = 1007, kIdR = 2001;

struct World {
  uint32_t underlay = 0;         // ul0
  uint32_t underlay_no_fwd = 0;  // ul2, forwarding disabled
  uint32_t host_a = 0;           // hA (peer cA)
  uint32_t host_b = 0;
  uint32_t host_r = 0;
};

// The map fds of one loaded object (they are not pinned in tests).
struct MapFds {
  int endpoints = -1;
  int interfaces = -1;
  int interface_slots = -1;
  int vteps = -1;
  int vtep_vnis = -1;
  int networks = -1;
  int counters = -1;
  int events = -1;
  int policy = -1;
  int conntrack = -1;
  int endpoint_slots = -1;
};

// Creates the devices, addresses, routes and neighbours in the current
// netns (call once, after EnterPrivateNetns()).
absl::StatusOr<World> BuildWorld();
// The process-wide world built by the test main.
const World& TheWorld();
void SetTheWorld(const World& world);

// Fills the maps with the world's networks, VTEPs and endpoints.
absl::Status FillMaps(const World& world, const MapFds& fds);

// Writes (vni, ip) -> ep as the controller does: `endpoints`, then its slot.
absl::Status PutEndpoint(const MapFds& fds, uint32_t vni, in_addr ip,
                         const ovx_endpoint& ep);

// ovx_config for this node: our VTEP, ul0, defaults otherwise.
ovx_config NodeConfig(const World& world);

// The metadata xdp_underlay leaves for tc_underlay.
Bytes MetaBytes(uint32_t magic, uint32_t ifindex);

}  // namespace ovx::testing

#endif  // OVX_TESTS_BPF_WORLD_H_
