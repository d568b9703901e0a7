// endpoint_slots2: that xdp_underlay (both of its endpoint lookups) and
// tc_endpoint read an endpoint from its slot, when they read `endpoints`
// instead, that no slot of another endpoint or network is ever taken for
// this one, and the writer side (maps/endpoint_slots.h).
#include "maps/endpoint_slots.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "maps/dataplane_maps.h"
#include "tests/bpf/old_endpoint_slots.h"
#include "tests/bpf/packet_test.h"
#include "tests/bpf/private_bpffs.h"

namespace ovx::testing {
namespace {

maps::Mac M(const MacAddr& m) { return maps::Mac(m); }

ovx_endpoint_key Key(uint32_t vni, in_addr ip) {
  return maps::EndpointKey(vni, ip);
}

// The world's entries for A and C, as FillMaps writes them.
ovx_endpoint A() {
  return maps::LocalEndpoint(TheWorld().host_a, M(kMacA), kIdA);
}
ovx_endpoint C() { return maps::RemoteEndpoint(kVtep2, M(kMacC), kIdC); }

// UDP from C (behind kVtep2) to A, in VXLAN from kVtep2.
Bytes CtoA(const MacAddr& inner_dmac = kMacA) {
  return Packet()
      .Eth(kVtep2Mac, kUnderlayMac)
      .Ipv4(kVtep2, kVtep, {.df = true})
      .Udp(51000, 4789, {.zero_csum = true})
      .Vxlan(kVniBlue)
      .Eth(kMacC, inner_dmac)
      .Ipv4(kIpC, kIpA)
      .Udp(40000, 53)
      .Payload("hello")
      .Build();
}

// UDP from A to B, from A's container.
Bytes AtoB() {
  return Packet()
      .Eth(kMacA, kMacB)
      .Ipv4(kIpA, kIpB)
      .Udp(40000, 53)
      .Payload("hello")
      .Build();
}

// The destination MAC of a decapsulated frame.
MacAddr DstMac(const Bytes& frame) {
  MacAddr mac{};
  if (frame.size() >= mac.size()) {
    std::memcpy(mac.data(), frame.data(), mac.size());
  }
  return mac;
}

class EndpointSlotsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    OVX_REQUIRE_ROOT();
    const ovx_config cfg = NodeConfig(TheWorld());
    auto tc = LoadTcEndpoint(cfg);
    ASSERT_TRUE(tc.ok()) << tc.status();
    tc_.emplace(*std::move(tc));
    auto xdp = LoadXdpUnderlayWith(cfg, {.share = &tc_->fds});
    ASSERT_TRUE(xdp.ok()) << xdp.status();
    xdp_.emplace(*std::move(xdp));
    ASSERT_TRUE(FillMaps(TheWorld(), fds()).ok());
    auto slots = maps::EndpointSlots::FromFd(fds().endpoint_slots);
    ASSERT_TRUE(slots.ok()) << slots.status();
    slots_.emplace(*std::move(slots));
  }

  const MapFds& fds() const { return tc_->fds; }

  // The one counter a packet moved (forward reason or drop reason); the
  // program's return code must agree with it. out, if given, gets the
  // packet as the program left it.
  uint32_t Verdict(Hook hook, const Bytes& in, RunResult* out = nullptr) {
    const uint32_t dir = hook == Hook::kTc ? OVX_DIR_EGRESS : OVX_DIR_INGRESS;
    auto before = ReadCounters(fds().counters);
    auto run = hook == Hook::kTc ? RunSkb(tc_->prog_fd, in, TheWorld().host_a)
                                 : RunXdp(xdp_->prog_fd, in);
    auto after = ReadCounters(fds().counters);
    EXPECT_TRUE(before.ok() && run.ok() && after.ok());
    if (!before.ok() || !run.ok() || !after.ok()) return 0;
    auto moved_or = MovedReason(*before, *after, dir);
    EXPECT_TRUE(moved_or.ok()) << moved_or.status();
    const uint32_t moved = moved_or.value_or(0);
    const bool drop = moved >= OVX_FIRST_DROP;
    EXPECT_EQ(run->retval,
              static_cast<uint32_t>(hook == Hook::kTc
                                        ? (drop ? TC_ACT_SHOT : TC_ACT_REDIRECT)
                                        : (drop ? XDP_DROP : XDP_PASS)));
    if (out != nullptr) *out = *run;
    DrainDropEvents(fds().events).IgnoreError();
    return moved;
  }

  // C -> A decapsulated: delivered to A's interface with A's MAC.
  void ExpectCtoADelivered() {
    RunResult run;
    ASSERT_EQ(Verdict(Hook::kXdp, CtoA(kMacEvil), &run), OVX_FWD_DECAP);
    EXPECT_EQ(run.meta, MetaBytes(OVX_XDP_META_MAGIC, TheWorld().host_a));
    EXPECT_EQ(DstMac(run.out), kMacA);
  }

  // Writes slot `index` raw, as no writer of ours would: seq and all.
  void WriteRaw(uint32_t index, uint32_t seq, uint32_t tag, in_addr addr,
                const ovx_endpoint& ep) {
    ovx_endpoint_slot slot{};
    slot.seq = seq;
    slot.tag = tag;
    slot.addr = addr.s_addr;
    slot.ep = ep;
    ASSERT_EQ(bpf_map_update_elem(fds().endpoint_slots, &index, &slot, BPF_ANY),
              0);
  }
  ovx_endpoint_slot ReadRaw(uint32_t index) {
    ovx_endpoint_slot slot{};
    EXPECT_EQ(bpf_map_lookup_elem(fds().endpoint_slots, &index, &slot), 0);
    return slot;
  }
  static uint32_t IndexOf(uint32_t vni, in_addr ip) {
    return ovx_endpoint_slot_index(vni, ip.s_addr);
  }

  std::optional<Loaded<tc_endpoint>> tc_;
  std::optional<Loaded<xdp_underlay>> xdp_;
  std::optional<maps::EndpointSlots> slots_;
};

TEST_F(EndpointSlotsTest, WorldEndpointsAreInTheirSlots) {
  EXPECT_EQ(slots_->Filled().size(), 8u);
  auto a = slots_->Get(Key(kVniBlue, kIpA));
  ASSERT_TRUE(a.has_value());
  const ovx_endpoint want = A();
  EXPECT_EQ(std::memcmp(&*a, &want, sizeof(want)), 0);
  ExpectCtoADelivered();
}

// Each lookup is served by the slot: slots that differ from `endpoints`
// change the verdict, one lookup at a time.
TEST_F(EndpointSlotsTest, DecapReadsTheSenderFromItsSlot) {
  ASSERT_TRUE(slots_->Put(Key(kVniBlue, kIpC),
                          maps::RemoteEndpoint(kVtep3, M(kMacC), kIdC)));
  EXPECT_EQ(Verdict(Hook::kXdp, CtoA()), OVX_DROP_INNER_SRC);
}

TEST_F(EndpointSlotsTest, DecapReadsTheDestinationFromItsSlot) {
  ASSERT_TRUE(
      slots_->Put(Key(kVniBlue, kIpA),
                  maps::LocalEndpoint(TheWorld().host_b, M(kMacEvil), kIdA)));
  RunResult run;
  ASSERT_EQ(Verdict(Hook::kXdp, CtoA(), &run), OVX_FWD_DECAP);
  EXPECT_EQ(run.meta, MetaBytes(OVX_XDP_META_MAGIC, TheWorld().host_b));
  EXPECT_EQ(DstMac(run.out), kMacEvil);
}

TEST_F(EndpointSlotsTest, EgressReadsTheDestinationFromItsSlot) {
  EXPECT_EQ(Verdict(Hook::kTc, AtoB()), OVX_FWD_LOCAL);
  ASSERT_TRUE(slots_->Put(Key(kVniBlue, kIpB),
                          maps::RemoteEndpoint(kVtep2, M(kMacB), kIdB)));
  EXPECT_EQ(Verdict(Hook::kTc, AtoB()), OVX_FWD_ENCAP);
}

TEST_F(EndpointSlotsTest, SlotBeingWrittenIsNotRead) {
  // odd seq: a writer is in it; its content would refuse C.
  WriteRaw(IndexOf(kVniBlue, kIpC), 7, kVniBlue | OVX_ENDPOINT_SLOT_USED, kIpC,
           maps::RemoteEndpoint(kVtep3, M(kMacC), kIdC));
  ExpectCtoADelivered();
}

// Isolation: a slot holding the same address in another network, or
// another address of the network, is never taken for this endpoint.
TEST_F(EndpointSlotsTest, SlotOfAnotherNetworkIsNotRead) {
  const ovx_endpoint red =
      maps::LocalEndpoint(TheWorld().host_r, M(kMacR), kIdR);
  WriteRaw(IndexOf(kVniBlue, kIpA), 8, kVniRed | OVX_ENDPOINT_SLOT_USED, kIpA,
           red);
  ExpectCtoADelivered();
}

TEST_F(EndpointSlotsTest, SlotOfAnotherAddressIsNotRead) {
  WriteRaw(IndexOf(kVniBlue, kIpA), 8, kVniBlue | OVX_ENDPOINT_SLOT_USED, kIpB,
           maps::LocalEndpoint(TheWorld().host_b, M(kMacB), kIdB));
  ExpectCtoADelivered();
}

TEST_F(EndpointSlotsTest, EmptySlotsReadTheHash) {
  slots_->Remove(Key(kVniBlue, kIpA));
  slots_->Remove(Key(kVniBlue, kIpC));
  EXPECT_EQ(slots_->Get(Key(kVniBlue, kIpA)), std::nullopt);
  EXPECT_EQ(ReadRaw(IndexOf(kVniBlue, kIpA)).tag, 0u);
  ExpectCtoADelivered();
}

// The order the controller removes in: the slot, then the hash entry.
TEST_F(EndpointSlotsTest, RemovedEndpointIsNotFound) {
  slots_->Remove(Key(kVniBlue, kIpA));
  const ovx_endpoint_key a = Key(kVniBlue, kIpA);
  ASSERT_EQ(bpf_map_delete_elem(fds().endpoints, &a), 0);
  EXPECT_EQ(Verdict(Hook::kXdp, CtoA()), OVX_DROP_NO_ENDPOINT);
  slots_->Remove(Key(kVniBlue, kIpC));
  const ovx_endpoint_key c = Key(kVniBlue, kIpC);
  ASSERT_EQ(bpf_map_delete_elem(fds().endpoints, &c), 0);
  EXPECT_EQ(Verdict(Hook::kXdp, CtoA()), OVX_DROP_INNER_SRC);
}

// Two endpoints of one slot: the first keeps it, the second lives in the
// hash only, and both are found.
TEST_F(EndpointSlotsTest, EndpointWhoseSlotIsTakenIsReadFromTheHash) {
  const uint32_t want = IndexOf(kVniBlue, kIpC);
  std::optional<in_addr> twin;
  for (uint32_t host = 1; host < (1u << 24) && !twin; ++host) {
    in_addr ip{htonl(0x0a000000u | host)};  // 10.x.y.z
    if (ip.s_addr != kIpC.s_addr && IndexOf(kVniBlue, ip) == want) twin = ip;
  }
  ASSERT_TRUE(twin.has_value());
  const ovx_endpoint twin_ep = maps::RemoteEndpoint(kVtep2, M(kMacD), 99);
  const ovx_endpoint_key twin_key = Key(kVniBlue, *twin);
  ASSERT_EQ(
      bpf_map_update_elem(fds().endpoints, &twin_key, &twin_ep, BPF_NOEXIST),
      0);
  EXPECT_FALSE(slots_->Put(twin_key, twin_ep));
  EXPECT_EQ(slots_->Get(twin_key), std::nullopt);
  ExpectCtoADelivered();
  Bytes twin_to_a = Packet()
                        .Eth(kVtep2Mac, kUnderlayMac)
                        .Ipv4(kVtep2, kVtep, {.df = true})
                        .Udp(51000, 4789, {.zero_csum = true})
                        .Vxlan(kVniBlue)
                        .Eth(kMacD, kMacA)
                        .Ipv4(*twin, kIpA)
                        .Udp(40000, 53)
                        .Payload("hello")
                        .Build();
  EXPECT_EQ(Verdict(Hook::kXdp, twin_to_a), OVX_FWD_DECAP);
}

// Keys no program builds get no slot: a program would take the slot's
// (vni, addr) for them.
TEST_F(EndpointSlotsTest, OnlyIpv4KeysAProgramBuildsGetASlot) {
  ovx_endpoint_key odd = Key(kVniBlue, kIpUnknown);
  odd.addr[3] = 1;
  EXPECT_FALSE(slots_->Put(odd, A()));
  ovx_endpoint_key v6 = Key(kVniBlue, kIpUnknown);
  v6.family = OVX_AF_INET6;
  EXPECT_FALSE(slots_->Put(v6, A()));
  ovx_endpoint_key wide = Key(OVX_VNI_MAX + 1, kIpUnknown);
  EXPECT_FALSE(slots_->Put(wide, A()));
  EXPECT_EQ(ReadRaw(IndexOf(kVniBlue, kIpUnknown)).tag, 0u);
  EXPECT_EQ(ReadRaw(IndexOf(OVX_VNI_MAX + 1, kIpUnknown)).tag, 0u);
}

TEST_F(EndpointSlotsTest, RebuildFollowsTheTruth) {
  const ovx_endpoint_key a = Key(kVniBlue, kIpA);
  const ovx_endpoint_key b = Key(kVniBlue, kIpB);
  const ovx_endpoint_key stranger = Key(kVniBlue, kIpUnknown);
  ASSERT_TRUE(slots_->Put(a, C()));  // stale content
  ASSERT_TRUE(slots_->Put(stranger, C()));
  const std::map<uint32_t, ovx_endpoint> truth = {{kIpA.s_addr, A()}};
  absl::Status rebuilt =
      slots_->Rebuild({a, b},
                      [&](const ovx_endpoint_key& k)
                          -> absl::StatusOr<std::optional<ovx_endpoint>> {
                        auto it = truth.find(k.addr[0]);
                        if (k.vni != kVniBlue || it == truth.end())
                          return std::nullopt;
                        return it->second;
                      });
  ASSERT_TRUE(rebuilt.ok()) << rebuilt;
  auto got = slots_->Get(a);
  ASSERT_TRUE(got.has_value());
  const ovx_endpoint want = A();
  EXPECT_EQ(std::memcmp(&*got, &want, sizeof(want)), 0);
  EXPECT_EQ(slots_->Get(b), std::nullopt);
  EXPECT_EQ(slots_->Get(stranger), std::nullopt);
  EXPECT_EQ(ReadRaw(IndexOf(kVniBlue, kIpUnknown)).tag, 0u);
}

// Upgrade: programs of a build before endpoint_slots2 read the 2^16-slot
// endpoint_slots until the loader replaces them. A writer that starts
// empties it, as nothing keeps it in step with `endpoints` any more.
TEST(OldEndpointSlotsTest, AreEmptiedWhenAWriterStarts) {
  OVX_REQUIRE_ROOT();
  PrivateBpffs bpffs("old-endpoint-slots");
  ASSERT_TRUE(bpffs.ok()) << "mount bpffs on " << bpffs.dir();
  // Nothing pinned: nothing to do.
  EXPECT_TRUE(maps::EmptyOldEndpointSlots(bpffs.dir()).ok());

  maps::UniqueFd old = PinOldEndpointSlots(bpffs.dir());
  ASSERT_TRUE(old.valid()) << std::strerror(errno);
  auto slots =
      maps::SeqlockSlots<maps::OldEndpointSlotTraits>::FromFd(old.get());
  ASSERT_TRUE(slots.ok()) << slots.status();
  const ovx_endpoint_key a = Key(kVniBlue, kIpA);
  const ovx_endpoint_key c = Key(kVniBlue, kIpC);
  ASSERT_TRUE(slots->Put(a, A()));
  ASSERT_TRUE(slots->Put(c, C()));
  ASSERT_EQ(slots->Filled().size(), 2u);

  absl::Status emptied = maps::EmptyOldEndpointSlots(bpffs.dir());
  ASSERT_TRUE(emptied.ok()) << emptied;
  EXPECT_EQ(slots->Get(a), std::nullopt);
  EXPECT_EQ(slots->Get(c), std::nullopt);
  EXPECT_TRUE(slots->Filled().empty());
  unlink(absl::StrCat(bpffs.dir(), "/", OVX_MAP_ENDPOINT_SLOTS_OLD).c_str());
}

}  // namespace
}  // namespace ovx::testing
