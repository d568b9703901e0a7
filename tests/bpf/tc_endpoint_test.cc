// tc_endpoint: every branch, from a container's host-side veth.
#include <linux/pkt_cls.h>
#include <sched.h>

#include <chrono>
#include <optional>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/bpf/packet_test.h"

namespace ovx::testing {
namespace {

const MacAddr kBroadcast = Mac("ff:ff:ff:ff:ff:ff");
const MacAddr kZeroMac = Mac("00:00:00:00:00:00");
const MacAddr kNoMac = Mac("00:00:00:00:00:00");

// A UDP datagram from A to dst at L3 and up (the part encap keeps).
Packet& UdpFromA(Packet& p, in_addr dst) {
  return p.Ipv4(kIpA, dst, {.tos = 0x28, .id = 0x1234, .df = true})
      .Udp(40000, 53)
      .Payload("overlay payload");
}

Bytes FromA(const MacAddr& dmac, in_addr dst) {
  Packet p;
  p.Eth(kMacA, dmac);
  return UdpFromA(p, dst).Build();
}

// What A's datagram to (dmac, dst) looks like on the underlay.
Bytes Encapped(const MacAddr& smac, const MacAddr& dmac, in_addr vtep,
               const MacAddr& inner_dmac, in_addr dst,
               std::optional<uint16_t> sport = std::nullopt,
               uint16_t port = 4789, in_addr our_vtep = kVtep) {
  Packet p;
  p.Eth(smac, dmac)
      .Ipv4(our_vtep, vtep, {.tos = 0x28, .ttl = 64, .id = 0, .df = true})
      .Udp(sport.value_or(FlowSport(kIpA, dst, 17, 40000, 53)), port,
           {.zero_csum = true})
      .Vxlan(kVniBlue)
      .Eth(kMacA, inner_dmac);
  return UdpFromA(p, dst).Build();
}

// A -> C on the underlay (towards kVtep2, outer MACs smac/dmac) up to the
// inner IPv4 header; the caller appends the inner L4 of (proto, 40000 ->
// dport), which the source port is hashed from.
Packet TunnelledAToC(const MacAddr& smac, const MacAddr& dmac, uint8_t proto,
                     uint16_t dport) {
  Packet p;
  p.Eth(smac, dmac)
      .Ipv4(kVtep, kVtep2, {.df = true})
      .Udp(FlowSport(kIpA, kIpC, proto, 40000, dport), 4789,
           {.zero_csum = true})
      .Vxlan(kVniBlue)
      .Eth(kMacA, kMacC)
      .Ipv4(kIpA, kIpC);
  return p;
}

// A's UDP datagram to C in an Ethernet frame of frame_len bytes. At the
// container MTU (14 + 1450) it fits the 1500-byte underlay once
// encapsulated; a 1500-byte frame does not.
Bytes FromAFrameOf(size_t frame_len) {
  return Packet()
      .Eth(kMacA, kMacC)
      .Ipv4(kIpA, kIpC)
      .Udp(40000, 53)
      .Payload(Bytes(frame_len - 14 - 20 - 8, 0x5a))
      .Build();
}

Bytes ArpFromA(const MacAddr& eth_src, const MacAddr& sha, in_addr spa,
               in_addr tpa, ArpOpts opts = {}) {
  return Packet()
      .Eth(eth_src, kBroadcast)
      .Arp(sha, spa, kNoMac, tpa, opts)
      .Build();
}

Bytes ArpReplyToA(const MacAddr& mac, in_addr ip) {
  return Packet().Eth(mac, kMacA).Arp(mac, ip, kMacA, kIpA, {.op = 2}).Build();
}

Case Drop(std::string name, Bytes in, uint32_t reason,
          Iface iface = Iface::kHostA) {
  return Case{.name = std::move(name),
              .in = std::move(in),
              .iface = iface,
              .retval = TC_ACT_SHOT,
              .dir = OVX_DIR_EGRESS,
              .reason = reason};
}

std::vector<Case> Cases() {
  std::vector<Case> cases = {
      // Remote destinations: encapsulation, outer MACs from the FIB.
      {.name = "EncapToRemoteVtep",
       .in = FromA(kMacC, kIpC),
       .retval = TC_ACT_REDIRECT,
       .out = Encapped(kUnderlayMac, kVtep2Mac, kVtep2, kMacC, kIpC),
       .reason = OVX_FWD_ENCAP},
      {.name = "EncapRewritesStaleInnerDstMac",
       .in = FromA(kMacEvil, kIpC),
       .retval = TC_ACT_REDIRECT,
       .out = Encapped(kUnderlayMac, kVtep2Mac, kVtep2, kMacC, kIpC),
       .reason = OVX_FWD_ENCAP},
      {.name = "EncapConfiguredPortAndSport",
       .in = FromA(kMacC, kIpC),
       .retval = TC_ACT_REDIRECT,
       .out =
           Encapped(kUnderlayMac, kVtep2Mac, kVtep2, kMacC, kIpC, 50001, 8472),
       .reason = OVX_FWD_ENCAP,
       .config =
           [](ovx_config& c) {
             c.vxlan_port = 8472;
             c.sport_min = c.sport_max = 50001;
           }},
      {.name = "EncapSportInNarrowRange",
       .in = FromA(kMacC, kIpC),
       .retval = TC_ACT_REDIRECT,
       .out = Encapped(kUnderlayMac, kVtep2Mac, kVtep2, kMacC, kIpC,
                       FlowSport(kIpA, kIpC, 17, 40000, 53, 30000, 30003)),
       .reason = OVX_FWD_ENCAP,
       .config =
           [](ovx_config& c) { c.sport_min = 30000, c.sport_max = 30003; }},
      {.name = "EncapViaGatewayUsesGatewayMac",
       .in = FromA(kMacG, kIpG),
       .retval = TC_ACT_REDIRECT,
       .out = Encapped(kUnderlayMac, kGatewayMac, kVtepRouted, kMacG, kIpG),
       .reason = OVX_FWD_ENCAP},
      // No neighbour yet: bpf_redirect_neigh resolves it; MACs left zero.
      {.name = "EncapUnresolvedNeighbourRedirectsNeigh",
       .in = FromA(kMacD, kIpD),
       .retval = TC_ACT_REDIRECT,
       .out = Encapped(kZeroMac, kZeroMac, kVtep3, kMacD, kIpD),
       .reason = OVX_FWD_ENCAP},
      // Forwarding off on the underlay: bpf_fib_lookup() refuses, the
      // kernel routes it (bpf_redirect_neigh without a next hop).
      {.name = "EncapForwardingDisabledRedirectsNeigh",
       .in = FromA(kMacH, kIpH),
       .retval = TC_ACT_REDIRECT,
       .out = Encapped(kZeroMac, kZeroMac, kVtepNoFwd, kMacH, kIpH,
                       std::nullopt, 4789, kVtepOnNoFwd),
       .reason = OVX_FWD_ENCAP,
       .config =
           [](ovx_config& c) {
             c.vtep[0] = kVtepOnNoFwd.s_addr;
             c.underlay_ifindex = TheWorld().underlay_no_fwd;
           }},
      // Exactly the container MTU (underlay 1500 - 50) still fits.
      {.name = "EncapAtContainerMtu",
       .in = FromAFrameOf(14 + 1450),
       .retval = TC_ACT_REDIRECT,
       .out = TunnelledAToC(kUnderlayMac, kVtep2Mac, 17, 53)
                  .Udp(40000, 53)
                  .Payload(Bytes(1450 - 20 - 8, 0x5a))
                  .Build(),
       .reason = OVX_FWD_ENCAP},
      // Datagrams above grow with bpf_skb_change_head(); TCP takes
      // bpf_skb_adjust_room() (tunnel GSO marks, clones left alone) and
      // must give the same layout.
      {.name = "EncapTcpSegment",
       .in = Packet().Eth(kMacA, kMacC).Ipv4(kIpA, kIpC).Tcp(40000, 80).Build(),
       .retval = TC_ACT_REDIRECT,
       .out = TunnelledAToC(kUnderlayMac, kVtep2Mac, 6, 80)
                  .Tcp(40000, 80)
                  .Build(),
       .reason = OVX_FWD_ENCAP},
      // Container MTU too large for the underlay: 1500-byte frame + 50.
      {.name = "DropEncapLargerThanUnderlayMtu",
       .in = FromAFrameOf(1500),
       .retval = TC_ACT_SHOT,
       .out = TunnelledAToC(kZeroMac, kZeroMac, 17, 53)
                  .Udp(40000, 53)
                  .Payload(Bytes(1500 - 14 - 20 - 8, 0x5a))
                  .Build(),
       .reason = OVX_DROP_FRAG_NEEDED},
      {.name = "DropNoRouteToVtep",
       .in = FromA(kMacE, kIpE),
       .retval = TC_ACT_SHOT,
       .out = Encapped(kZeroMac, kZeroMac, kVtepNoRoute, kMacE, kIpE),
       .reason = OVX_DROP_FIB},
      // Same node: straight into the peer, dst MAC from the registry.
      {.name = "LocalDelivery",
       .in = FromA(kMacB, kIpB),
       .retval = TC_ACT_REDIRECT,
       .reason = OVX_FWD_LOCAL},
      {.name = "LocalDeliveryRewritesStaleDstMac",
       .in = FromA(kMacEvil, kIpB),
       .retval = TC_ACT_REDIRECT,
       .out = FromA(kMacB, kIpB),
       .reason = OVX_FWD_LOCAL},
      // ARP responder.
      {.name = "ArpForLocalEndpoint",
       .in = ArpFromA(kMacA, kMacA, kIpA, kIpB),
       .retval = TC_ACT_REDIRECT,
       .out = ArpReplyToA(kMacB, kIpB),
       .reason = OVX_ARP_REPLY},
      {.name = "ArpForRemoteEndpoint",
       .in = ArpFromA(kMacA, kMacA, kIpA, kIpC),
       .retval = TC_ACT_REDIRECT,
       .out = ArpReplyToA(kMacC, kIpC),
       .reason = OVX_ARP_REPLY},
      Drop("ArpForUnknownIp", ArpFromA(kMacA, kMacA, kIpA, kIpUnknown),
           OVX_DROP_ARP_INVALID),
      Drop("ArpForOtherNetworksIp", ArpFromA(kMacA, kMacA, kIpA, kIpR),
           OVX_DROP_ARP_INVALID),
      Drop("ArpGratuitous", ArpFromA(kMacA, kMacA, kIpA, kIpA),
           OVX_DROP_ARP_INVALID),
      Drop("ArpReplyFromContainer",
           ArpFromA(kMacA, kMacA, kIpA, kIpB, {.op = 2}), OVX_DROP_ARP_INVALID),
      Drop("ArpNotEthernetIpv4",
           ArpFromA(kMacA, kMacA, kIpA, kIpB, {.ptype = 0x86dd}),
           OVX_DROP_ARP_INVALID),
      Drop("ArpSpoofedSenderMac", ArpFromA(kMacA, kMacEvil, kIpA, kIpB),
           OVX_DROP_SPOOF_MAC),
      Drop("ArpSpoofedEthSource", ArpFromA(kMacEvil, kMacA, kIpA, kIpB),
           OVX_DROP_SPOOF_MAC),
      Drop("ArpSpoofedSenderIp", ArpFromA(kMacA, kMacA, kIpC, kIpB),
           OVX_DROP_SPOOF_IP),
      Drop("ArpTruncated",
           Packet()
               .Eth(kMacA, kBroadcast)
               .Arp(kMacA, kIpA, kNoMac, kIpB)
               .Truncate(14 + 20)
               .Build(),
           OVX_DROP_MALFORMED),
      // Anti-spoofing and parsing.
      Drop(
          "SpoofedSourceMac",
          Packet().Eth(kMacEvil, kMacB).Ipv4(kIpA, kIpB).IcmpEcho(1, 1).Build(),
          OVX_DROP_SPOOF_MAC),
      Drop("SpoofedSourceIp",
           Packet().Eth(kMacA, kMacB).Ipv4(kIpC, kIpB).IcmpEcho(1, 1).Build(),
           OVX_DROP_SPOOF_IP),
      Drop("Ipv6Unsupported",
           Packet()
               .Eth(kMacA, kMacB, {.ethertype = 0x86dd})
               .Payload(Bytes(40, 0))
               .Build(),
           OVX_DROP_UNSUPPORTED),
      Drop("IpOptions",
           Packet()
               .Eth(kMacA, kMacB)
               .Ipv4(kIpA, kIpB, {.options = {1, 1, 1, 1}})
               .IcmpEcho(1, 1)
               .Build(),
           OVX_DROP_IP_OPTIONS),
      // A truncated IPv4 header cannot be tested here: BPF_PROG_TEST_RUN
      // refuses an IPv4 skb shorter than Ethernet + 20 bytes.
      Drop("NotIpv4Version",
           Packet()
               .Eth(kMacA, kMacB)
               .Ipv4(kIpA, kIpB, {.version = 6})
               .IcmpEcho(1, 1)
               .Build(),
           OVX_DROP_MALFORMED),
      // Isolation: only the sender's network is searched.
      Drop("OtherNetworkIsNotFound", FromA(kMacR, kIpR), OVX_DROP_NO_ENDPOINT),
      Drop("OtherNetworkIsNotFoundFromRed",
           Packet().Eth(kMacR, kMacA).Ipv4(kIpR, kIpA).IcmpEcho(1, 1).Build(),
           OVX_DROP_NO_ENDPOINT, Iface::kHostR),
      Drop("UnknownDestination", FromA(kMacB, kIpUnknown),
           OVX_DROP_NO_ENDPOINT),
      Drop("UnknownInterface", FromA(kMacB, kIpB), OVX_DROP_UNKNOWN_IFACE,
           Iface::kUnderlay),
  };
  return cases;
}

class TcEndpointTest : public ::testing::TestWithParam<Case> {};

TEST_P(TcEndpointTest, Packet) {
  OVX_REQUIRE_ROOT();
  RunCase(GetParam(), Hook::kTc, LoadTcEndpoint);
}

INSTANTIATE_TEST_SUITE_P(Cases, TcEndpointTest, ::testing::ValuesIn(Cases()),
                         CaseName);

// The next-hop cache (bpf/lib/vxlan.h) is per CPU: these tests run every
// packet on one CPU, through one loaded program, so the second packet to a
// VTEP takes the cached hop.
class NextHopCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    OVX_REQUIRE_ROOT();
    ASSERT_EQ(sched_getaffinity(0, sizeof(saved_), &saved_), 0);
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
    pinned_ = true;
    auto loaded = LoadTcEndpoint(NodeConfig(TheWorld()));
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    loaded_.emplace(*std::move(loaded));
    ASSERT_TRUE(FillMaps(TheWorld(), loaded_->fds).ok());
  }
  void TearDown() override {
    if (pinned_) sched_setaffinity(0, sizeof(saved_), &saved_);
    // The world's neighbour, whatever a test did to it.
    EXPECT_TRUE(Sh("ip neigh replace 192.168.50.2 lladdr 02:00:00:00:50:02 "
                   "dev ul0 nud permanent")
                    .ok());
  }

  RunResult Run(const Bytes& in) {
    auto run = RunSkb(loaded_->prog_fd, in, TheWorld().host_a);
    EXPECT_TRUE(run.ok()) << run.status();
    return run.ok() ? *run : RunResult{};
  }

  cpu_set_t saved_{};
  bool pinned_ = false;
  std::optional<Loaded<tc_endpoint>> loaded_;
};

TEST_F(NextHopCacheTest, CachedHopGivesTheSameBytes) {
  const Bytes want = Encapped(kUnderlayMac, kVtep2Mac, kVtep2, kMacC, kIpC);
  for (int i = 0; i < 3; ++i) {
    RunResult run = Run(FromA(kMacC, kIpC));
    EXPECT_EQ(run.retval, static_cast<uint32_t>(TC_ACT_REDIRECT));
    EXPECT_TRUE(want == run.out) << "packet " << i << DiffBytes(want, run.out);
  }
}

TEST_F(NextHopCacheTest, CachedHopStillRefusesOversizePackets) {
  Run(FromA(kMacC, kIpC));  // caches kVtep2's hop
  RunResult run = Run(FromAFrameOf(1500));
  EXPECT_EQ(run.retval, static_cast<uint32_t>(TC_ACT_SHOT));
  auto events = DrainDropEvents(loaded_->fds.events);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].reason, static_cast<uint32_t>(OVX_DROP_FRAG_NEEDED));
  // Exactly the largest packet that fits still goes out.
  run = Run(FromAFrameOf(14 + 1450));
  EXPECT_EQ(run.retval, static_cast<uint32_t>(TC_ACT_REDIRECT));
}

// A neighbour change reaches encap when the cached hop expires, not before.
TEST_F(NextHopCacheTest, NeighbourChangeTakesEffectAfterTheTtl) {
  const MacAddr moved = Mac("02:00:00:00:50:99");
  Run(FromA(kMacC, kIpC));
  ASSERT_TRUE(Sh("ip neigh replace 192.168.50.2 lladdr 02:00:00:00:50:99 dev "
                 "ul0 nud permanent")
                  .ok());
  RunResult cached = Run(FromA(kMacC, kIpC));
  const Bytes old_mac = Encapped(kUnderlayMac, kVtep2Mac, kVtep2, kMacC, kIpC);
  EXPECT_TRUE(old_mac == cached.out) << DiffBytes(old_mac, cached.out);
  // The TTL is 100 ms (HZ / 10 jiffies).
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  RunResult fresh = Run(FromA(kMacC, kIpC));
  const Bytes new_mac = Encapped(kUnderlayMac, moved, kVtep2, kMacC, kIpC);
  EXPECT_TRUE(new_mac == fresh.out) << DiffBytes(new_mac, fresh.out);
}

}  // namespace
}  // namespace ovx::testing
