// tc_underlay: the tc half of decap delivery. BPF_PROG_TEST_RUN cannot give
// an skb metadata, so the metadata path runs live: a VXLAN frame goes into
// a veth whose peer carries xdp_underlay (native XDP) and tc_underlay
// (tcx ingress), and must come out in a "container" netns.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/pkt_cls.h>
#include <net/ethernet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "maps/dataplane_maps.h"
#include "maps/fd.h"
#include "maps/interface_slots.h"
#include "tests/bpf/live.h"
#include "tests/bpf/packet_test.h"

#ifndef BPF_TCX_INGRESS
#define BPF_TCX_INGRESS 46  // Debian 12's UAPI header predates tcx
#endif

namespace ovx::testing {
namespace {

constexpr uint32_t kTcActUnspec = static_cast<uint32_t>(TC_ACT_UNSPEC);

std::vector<Case> Cases() {
  Bytes inner = Packet()
                    .Eth(kMacC, kMacA)
                    .Ipv4(kIpC, kIpA)
                    .Udp(40000, 53)
                    .Payload("hello")
                    .Build();
  Bytes vxlan = [] {
    Packet p;
    p.Eth(kVtep2Mac, kUnderlayMac)
        .Ipv4(kVtep2, kVtep, {.df = true})
        .Udp(51000, 4789, {.zero_csum = true})
        .Vxlan(kVniBlue)
        .Eth(kMacC, kMacA)
        .Ipv4(kIpC, kIpA)
        .Udp(40000, 53)
        .Payload("hello");
    return p.Build();
  }();
  // Without our metadata: tcx "next", untouched, not counted (XDP counted
  // it already).
  return {
      {.name = "NoMetadataPlainFrame",
       .in = inner,
       .iface = Iface::kUnderlay,
       .retval = kTcActUnspec,
       .dir = OVX_DIR_INGRESS,
       .reason = 0},
      {.name = "NoMetadataVxlanFrame",
       .in = vxlan,
       .iface = Iface::kUnderlay,
       .retval = kTcActUnspec,
       .dir = OVX_DIR_INGRESS,
       .reason = 0},
  };
}

class TcUnderlayTest : public ::testing::TestWithParam<Case> {};

TEST_P(TcUnderlayTest, Packet) {
  OVX_REQUIRE_ROOT();
  RunCase(GetParam(), Hook::kTc, LoadTcUnderlay);
}

INSTANTIATE_TEST_SUITE_P(Cases, TcUnderlayTest, ::testing::ValuesIn(Cases()),
                         CaseName);

uint64_t Packets(const Counters& c, uint32_t dir, uint32_t reason) {
  return c[OVX_COUNTER_INDEX(dir, reason)].packets;
}

// How tc_underlay is told that hL is ours (the XDP handoff checks it).
enum class LIface { kUnknown, kInMap, kInSlotOnly };

struct LiveRun {
  // TC-only ingress (OVX_CFG_F_TC_INGRESS): no XDP, tc_underlay checks,
  // decapsulates and delivers.
  bool tc_ingress = false;
  LIface l_iface = LIface::kInMap;
  // wire1 has kUnderlayMac; another address makes the stack mark the
  // frame OTHERHOST.
  MacAddr outer_dst = kUnderlayMac;
  uint32_t want_tc_reason = OVX_FWD_DECAP_PEER;
};

// The live paths: xdp_underlay decaps and writes ovx_xdp_meta, the stack
// passes the skb up with its metadata, tc_underlay redirects into the peer;
// or tc_underlay alone does it all.
class LiveDecapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    OVX_REQUIRE_ROOT();
    container_ = std::make_unique<ContainerNetns>();
    ASSERT_GT(container_->pid(), 0) << "cannot create the container netns";
    // wire0 -> wire1 is the underlay; hL/cL is endpoint L's veth.
    for (const std::string& c : {
             std::string("ip link add wire0 type veth peer name wire1"),
             absl::StrCat("ip link set wire1 address ",
                          maps::FormatMac(kUnderlayMac.data())),
             std::string("ip link set wire0 up"),
             std::string("ip link set wire1 up"),
             std::string("ip link add hL type veth peer name cL"),
             absl::StrCat("ip link set cL netns ", container_->pid()),
             std::string("ip link set hL up"),
             absl::StrCat("nsenter -t ", container_->pid(),
                          " -n ip link set cL up"),
         }) {
      ASSERT_TRUE(Sh(c).ok()) << Sh(c);
    }
    auto wire0 = IfIndex("wire0");
    auto wire1 = IfIndex("wire1");
    auto hl = IfIndex("hL");
    ASSERT_TRUE(wire0.ok() && wire1.ok() && hl.ok());
    wire0_ = *wire0;
    wire1_ = *wire1;
    host_l_ = *hl;
  }
  void TearDown() override {
    (void)Sh("ip link del wire0");
    (void)Sh("ip link del hL");
  }

  // Sends frame out of wire0 (so wire1 receives it).
  void Inject(const Bytes& frame) {
    maps::UniqueFd s(socket(AF_PACKET, SOCK_RAW, 0));
    ASSERT_TRUE(s.valid()) << std::strerror(errno);
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = wire0_;
    to.sll_halen = 6;
    ASSERT_EQ(sendto(s.get(), frame.data(), frame.size(), 0,
                     reinterpret_cast<sockaddr*>(&to), sizeof(to)),
              static_cast<ssize_t>(frame.size()))
        << std::strerror(errno);
  }

  // Attaches the programs to wire1 and sends C -> L through them.
  void RunLive(const LiveRun& run) {
    const in_addr ip_l = Ip("10.10.0.8");
    const MacAddr mac_l = Mac("02:00:0a:0a:00:08");
    ovx_config cfg = NodeConfig(TheWorld());
    cfg.underlay_ifindex = wire1_;
    if (run.tc_ingress) cfg.flags |= OVX_CFG_F_TC_INGRESS;
    auto xdp = LoadXdpUnderlay(cfg);
    ASSERT_TRUE(xdp.ok()) << xdp.status();
    auto tc = LoadTcUnderlay(cfg);
    ASSERT_TRUE(tc.ok()) << tc.status();
    // The checks run in whichever program decapsulates.
    const MapFds& checks = run.tc_ingress ? tc->fds : xdp->fds;
    ASSERT_TRUE(FillMaps(TheWorld(), checks).ok());
    ovx_endpoint ep = maps::LocalEndpoint(host_l_, maps::Mac(mac_l), 42);
    ASSERT_TRUE(PutEndpoint(checks, kVniBlue, ip_l, ep).ok());
    ovx_interface iface = maps::Interface(kVniBlue, ip_l, maps::Mac(mac_l), 42);
    if (run.l_iface == LIface::kInMap) {
      ASSERT_EQ(
          bpf_map_update_elem(tc->fds.interfaces, &host_l_, &iface, BPF_ANY),
          0);
    } else if (run.l_iface == LIface::kInSlotOnly) {
      auto slots = maps::InterfaceSlots::FromFd(tc->fds.interface_slots);
      ASSERT_TRUE(slots.ok()) << slots.status();
      ASSERT_TRUE(slots->Put(host_l_, iface));
    }

    if (!run.tc_ingress) {
      ASSERT_EQ(
          bpf_xdp_attach(wire1_, xdp->prog_fd, XDP_FLAGS_DRV_MODE, nullptr), 0)
          << std::strerror(errno);
    }
    maps::UniqueFd link(bpf_link_create(
        tc->prog_fd, wire1_, static_cast<bpf_attach_type>(BPF_TCX_INGRESS),
        nullptr));
    ASSERT_TRUE(link.valid()) << "tcx attach: " << std::strerror(errno);

    auto rx_before = RxPackets(container_->pid(), "cL");
    ASSERT_TRUE(rx_before.ok()) << rx_before.status();
    auto ip_before = IpInReceives(container_->pid());
    ASSERT_TRUE(ip_before.ok()) << ip_before.status();
    auto xdp_before = ReadCounters(xdp->fds.counters);
    auto tc_before = ReadCounters(tc->fds.counters);
    ASSERT_TRUE(xdp_before.ok() && tc_before.ok());

    Packet p;
    p.Eth(kVtep2Mac, run.outer_dst)
        .Ipv4(kVtep2, kVtep, {.df = true})
        .Udp(51000, 4789, {.zero_csum = true})
        .Vxlan(kVniBlue)
        .Eth(kMacC, mac_l)
        .Ipv4(kIpC, ip_l)
        .Udp(40000, 9)
        .Payload("live");
    Bytes frame = p.Build();
    Inject(frame);

    // veth delivers through NAPI: wait for the tc verdict to be counted.
    Counters tc_after;
    for (int i = 0; i < 100; ++i) {
      auto c = ReadCounters(tc->fds.counters);
      ASSERT_TRUE(c.ok());
      tc_after = *c;
      if (Packets(tc_after, OVX_DIR_INGRESS, run.want_tc_reason) >
          Packets(*tc_before, OVX_DIR_INGRESS, run.want_tc_reason)) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    auto xdp_after = ReadCounters(xdp->fds.counters);
    ASSERT_TRUE(xdp_after.ok());
    if (!run.tc_ingress) bpf_xdp_detach(wire1_, XDP_FLAGS_DRV_MODE, nullptr);

    if (run.tc_ingress) {
      EXPECT_EQ(CheckOnlyCounter(*tc_before, tc_after, OVX_DIR_INGRESS,
                                 run.want_tc_reason, frame.size()),
                "");
    } else {
      EXPECT_EQ(CheckOnlyCounter(*xdp_before, *xdp_after, OVX_DIR_INGRESS,
                                 OVX_FWD_DECAP, frame.size()),
                "");
      // tc sees the decapsulated frame.
      EXPECT_EQ(CheckOnlyCounter(*tc_before, tc_after, OVX_DIR_INGRESS,
                                 run.want_tc_reason, frame.size() - 50),
                "");
    }
    const uint64_t delivered =
        run.want_tc_reason == OVX_FWD_DECAP_PEER ? 1u : 0u;
    auto rx_after = RxPackets(container_->pid(), "cL");
    ASSERT_TRUE(rx_after.ok()) << rx_after.status();
    EXPECT_EQ(*rx_after - *rx_before, delivered);
    // Taken in by the container's IP layer, so marked PACKET_HOST.
    auto ip_after = IpInReceives(container_->pid());
    ASSERT_TRUE(ip_after.ok()) << ip_after.status();
    EXPECT_EQ(*ip_after - *ip_before, delivered);
  }

  std::unique_ptr<ContainerNetns> container_;
  uint32_t wire0_ = 0, wire1_ = 0, host_l_ = 0;
};

TEST_F(LiveDecapTest, XdpMetadataThenTcRedirectPeer) { RunLive({}); }

// tc_underlay finds hL in its interface_slots slot, not the map.
TEST_F(LiveDecapTest, XdpMetadataForInterfaceInItsSlot) {
  RunLive({.l_iface = LIface::kInSlotOnly});
}

TEST_F(LiveDecapTest, MetadataForUnknownInterfaceIsDropped) {
  RunLive({.l_iface = LIface::kUnknown, .want_tc_reason = OVX_DROP_BAD_META});
}

// The frame was for wire1's MAC: PACKET_HOST already.
TEST_F(LiveDecapTest, TcIngressDeliversFrameForOurMac) {
  RunLive({.tc_ingress = true});
}

// A frame for another MAC (an underlay in promiscuous mode): the stack
// marked it OTHERHOST. Since 6.15 bpf_redirect_peer() marks it HOST, and
// tc_underlay calls bpf_skb_change_type() only on older kernels: on this
// kernel the test holds that the helper's scrub is enough.
TEST_F(LiveDecapTest, TcIngressDeliversFrameForAnotherMac) {
  RunLive({.tc_ingress = true, .outer_dst = Mac("02:00:00:00:50:99")});
}

}  // namespace
}  // namespace ovx::testing
