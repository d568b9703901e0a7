// tc_endpoint live: a real container (netns + veth) sends a UDP datagram to a
// remote endpoint. It must ARP (answered by BPF), then its datagram must
// leave the underlay encapsulated, with the neighbour's MAC, where the
// other end of the underlay veth captures it.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "maps/dataplane_maps.h"
#include "maps/fd.h"
#include "tests/bpf/live.h"
#include "tests/bpf/packet_test.h"

#ifndef BPF_TCX_INGRESS
#define BPF_TCX_INGRESS 46  // Debian 12's UAPI header predates tcx
#endif

namespace ovx::testing {
namespace {

constexpr size_t kOuter = 14 + 20 + 8 + 8;  // outer headers

class LiveEncapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    OVX_REQUIRE_ROOT();
    container_ = std::make_unique<ContainerNetns>();
    ASSERT_GT(container_->pid(), 0) << "cannot create the container netns";
    std::string in = absl::StrCat("nsenter -t ", container_->pid(), " -n ");
    for (const std::string& c : {
             absl::StrCat(in, "sysctl -qw net.ipv6.conf.all.disable_ipv6=1"),
             absl::StrCat(in,
                          "sysctl -qw net.ipv6.conf.default.disable_ipv6=1"),
             std::string("ip link add hE type veth peer name cE"),
             absl::StrCat("ip link set cE netns ", container_->pid()),
             absl::StrCat(in, "ip link set cE address 02:00:0a:0a:00:01"),
             absl::StrCat(in, "ip addr add 10.10.0.1/24 dev cE"),
             absl::StrCat(in, "ip link set cE up"),
             std::string("ip link set hE up"),
         }) {
      absl::Status s = Sh(c);
      ASSERT_TRUE(s.ok()) << s;
    }
    auto he = IfIndex("hE");
    auto ul1 = IfIndex("ul1");
    ASSERT_TRUE(he.ok() && ul1.ok());
    host_e_ = *he;
    ul1_ = *ul1;
  }
  void TearDown() override { (void)Sh("ip link del hE"); }

  std::unique_ptr<ContainerNetns> container_;
  uint32_t host_e_ = 0, ul1_ = 0;
};

TEST_F(LiveEncapTest, ArpThenEncapsulatedOutOfTheUnderlay) {
  auto tc = LoadTcEndpoint(NodeConfig(TheWorld()));
  ASSERT_TRUE(tc.ok()) << tc.status();
  ASSERT_TRUE(FillMaps(TheWorld(), tc->fds).ok());
  ovx_interface iface = maps::Interface(kVniBlue, kIpA, maps::Mac(kMacA), kIdA);
  ASSERT_EQ(bpf_map_update_elem(tc->fds.interfaces, &host_e_, &iface, BPF_ANY),
            0);
  maps::UniqueFd link(
      bpf_link_create(tc->prog_fd, host_e_,
                      static_cast<bpf_attach_type>(BPF_TCX_INGRESS), nullptr));
  ASSERT_TRUE(link.valid()) << "tcx attach: " << std::strerror(errno);

  // Capture on the far end of the underlay.
  maps::UniqueFd cap(socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)));
  ASSERT_TRUE(cap.valid()) << std::strerror(errno);
  sockaddr_ll addr{};
  addr.sll_family = AF_PACKET;
  addr.sll_protocol = htons(ETH_P_ALL);
  addr.sll_ifindex = ul1_;
  ASSERT_EQ(bind(cap.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)),
            0);
  auto before = ReadCounters(tc->fds.counters);
  ASSERT_TRUE(before.ok());

  ASSERT_TRUE(Sh(absl::StrCat("nsenter -t ", container_->pid(),
                              " -n bash -c 'echo -n overlay > "
                              "/dev/udp/10.10.0.3/9'"))
                  .ok());

  Bytes got;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{cap.get(), POLLIN, 0};
    if (poll(&pfd, 1, 100) <= 0) continue;
    Bytes buf(4096);
    ssize_t n = recv(cap.get(), buf.data(), buf.size(), 0);
    if (n <= 0) continue;
    buf.resize(n);
    // The one we want: IPv4/UDP to 4789.
    if (n > static_cast<ssize_t>(kOuter) && buf[12] == 0x08 && buf[13] == 0 &&
        buf[23] == 17 && buf[36] == 0x12 && buf[37] == 0xb5) {
      got = buf;
      break;
    }
  }
  ASSERT_FALSE(got.empty()) << "no VXLAN frame left the underlay";

  // Outer headers exactly (source port from the flow hash); the inner frame
  // is the container's own, whose IP id and checksum the kernel chose.
  Bytes inner(got.begin() + kOuter, got.end());
  Bytes want = Packet()
                   .Eth(kUnderlayMac, kVtep2Mac)
                   .Ipv4(kVtep, kVtep2, {.tos = inner[15], .df = true})
                   .Udp(0, 4789, {.zero_csum = true})
                   .Vxlan(kVniBlue)
                   .Payload(inner)
                   .Build();
  // The socket's txhash, if the skb carries one, picks the source port.
  uint16_t sport = (got[kOuterSportOffset] << 8) | got[kOuterSportOffset + 1];
  EXPECT_GE(sport, OVX_SPORT_MIN_DEFAULT);
  want[kOuterSportOffset] = got[kOuterSportOffset];
  want[kOuterSportOffset + 1] = got[kOuterSportOffset + 1];
  EXPECT_TRUE(want == got) << DiffBytes(want, got);
  // Inner: A -> C at L2 and L3, UDP to port 9 with our payload.
  Bytes inner_l2(inner.begin(), inner.begin() + 14);
  Bytes want_l2 = Packet().Eth(kMacA, kMacC).Build();
  EXPECT_TRUE(inner_l2 == want_l2) << DiffBytes(want_l2, inner_l2);
  ASSERT_GE(inner.size(), 14u + 20 + 8 + 7);
  EXPECT_EQ(std::memcmp(&inner[14 + 12], &kIpA.s_addr, 4), 0);
  EXPECT_EQ(std::memcmp(&inner[14 + 16], &kIpC.s_addr, 4), 0);
  EXPECT_EQ(inner[14 + 20 + 2], 0);
  EXPECT_EQ(inner[14 + 20 + 3], 9);
  EXPECT_EQ(std::string(inner.end() - 7, inner.end()), "overlay");

  auto after = ReadCounters(tc->fds.counters);
  ASSERT_TRUE(after.ok());
  uint64_t arp =
      (*after)[OVX_COUNTER_INDEX(OVX_DIR_EGRESS, OVX_ARP_REPLY)].packets -
      (*before)[OVX_COUNTER_INDEX(OVX_DIR_EGRESS, OVX_ARP_REPLY)].packets;
  uint64_t encap =
      (*after)[OVX_COUNTER_INDEX(OVX_DIR_EGRESS, OVX_FWD_ENCAP)].packets -
      (*before)[OVX_COUNTER_INDEX(OVX_DIR_EGRESS, OVX_FWD_ENCAP)].packets;
  EXPECT_EQ(arp, 1u);
  EXPECT_EQ(encap, 1u);
}

}  // namespace
}  // namespace ovx::testing
