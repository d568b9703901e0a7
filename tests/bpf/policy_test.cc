// Policy on both paths: tc_endpoint (egress) and xdp_underlay (ingress) are
// loaded sharing one set of maps, as the loader's pins make them, so a flow
// allowed on one path is a reply on the other. The blue network is a deny
// network with the rules below; each test sends a sequence of packets and
// checks, for each, the verdict and the one counter that moved.
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <sched.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "maps/dataplane_maps.h"
#include "tests/bpf/packet_test.h"

namespace ovx::testing {
namespace {

constexpr uint8_t kAnyProto = 0;

// A policy key as the control plane compiles it: proto 0 = any protocol,
// port_bits 0 = any port, else the top port_bits bits of port.
ovx_policy_key Rule(uint32_t src, uint32_t dst, uint8_t proto, uint16_t port,
                    uint8_t port_bits) {
  ovx_policy_key k;
  std::memset(&k, 0, sizeof(k));
  k.vni = kVniBlue;
  k.src_identity = src;
  k.dst_identity = dst;
  if (proto == kAnyProto) {
    k.prefixlen = OVX_POLICY_PREFIX_ANY_PROTO;
    return k;
  }
  k.proto = proto;
  k.prefixlen = OVX_POLICY_PREFIX_ANY_PORT + port_bits;
  if (port_bits > 0) {
    uint16_t mask = static_cast<uint16_t>(0xffff << (16 - port_bits));
    k.port = htons(port & mask);
  }
  return k;
}

// The blue network's rules.
const ovx_policy_key kAtoB5432 = Rule(kIdA, kIdB, IPPROTO_TCP, 5432, 16);
// UDP 1000..1002 from A to C: 1000/15 (1000, 1001) and 1002/16.
const ovx_policy_key kAtoC1000 = Rule(kIdA, kIdC, IPPROTO_UDP, 1000, 15);
const ovx_policy_key kAtoC1002 = Rule(kIdA, kIdC, IPPROTO_UDP, 1002, 16);
const ovx_policy_key kCtoAAny = Rule(kIdC, kIdA, kAnyProto, 0, 0);
const ovx_policy_key kAnyToB53 =
    Rule(OVX_IDENTITY_ANY, kIdB, IPPROTO_UDP, 53, 16);
const ovx_policy_key kAtoAnyIcmp =
    Rule(kIdA, OVX_IDENTITY_ANY, IPPROTO_ICMP, 0, 0);
const ovx_policy_key kAtoD22 = Rule(kIdA, kIdD, IPPROTO_TCP, 22, 16);

constexpr uint8_t kSyn = 0x02, kFinAck = 0x11, kRstAck = 0x14, kAck = 0x10;

struct L4 {
  enum Kind { kTcp, kUdp, kEcho, kEchoReply } kind;
  uint16_t sport = 0;  // echo: the identifier
  uint16_t dport = 0;
  uint8_t tcp_flags = kSyn;
};
L4 Tcp(uint16_t sport, uint16_t dport, uint8_t flags = kSyn) {
  return {L4::kTcp, sport, dport, flags};
}
L4 Udp(uint16_t sport, uint16_t dport) { return {L4::kUdp, sport, dport}; }
L4 Echo(uint16_t id) { return {L4::kEcho, id, 0}; }
L4 EchoReply(uint16_t id) { return {L4::kEchoReply, id, 0}; }

// Inner IPv4 + L4 onto p; an echo reply is an echo request with type 0.
Bytes Finish(Packet& p, in_addr src, in_addr dst, const L4& l4) {
  p.Ipv4(src, dst);
  switch (l4.kind) {
    case L4::kTcp:
      p.Tcp(l4.sport, l4.dport, {.flags = l4.tcp_flags});
      break;
    case L4::kUdp:
      p.Udp(l4.sport, l4.dport).Payload("policy");
      break;
    case L4::kEcho:
    case L4::kEchoReply:
      p.IcmpEcho(l4.sport, 1);
      break;
  }
  Bytes out = p.Build();
  if (l4.kind == L4::kEchoReply) {
    size_t icmp = out.size() - 8;
    out[icmp] = 0;
    out[icmp + 2] = out[icmp + 3] = 0;
    uint16_t sum = InetChecksum(&out[icmp], 8);
    out[icmp + 2] = static_cast<uint8_t>(sum >> 8);
    out[icmp + 3] = static_cast<uint8_t>(sum & 0xff);
  }
  return out;
}

// From a local container (its host-side veth runs tc_endpoint).
Bytes Egress(const MacAddr& smac, in_addr src, const MacAddr& dmac, in_addr dst,
             const L4& l4) {
  Packet p;
  p.Eth(smac, dmac);
  return Finish(p, src, dst, l4);
}

// From a remote endpoint behind vtep, as it arrives on the underlay.
Bytes Ingress(in_addr vtep, const MacAddr& smac, in_addr src,
              const MacAddr& dmac, in_addr dst, const L4& l4) {
  Packet p;
  p.Eth(kVtep2Mac, kUnderlayMac)
      .Ipv4(vtep, kVtep, {.df = true})
      .Udp(51000, 4789, {.zero_csum = true})
      .Vxlan(kVniBlue)
      .Eth(smac, dmac);
  return Finish(p, src, dst, l4);
}

Bytes AtoB(const L4& l4) { return Egress(kMacA, kIpA, kMacB, kIpB, l4); }
Bytes BtoA(const L4& l4) { return Egress(kMacB, kIpB, kMacA, kIpA, l4); }
Bytes AtoC(const L4& l4) { return Egress(kMacA, kIpA, kMacC, kIpC, l4); }
Bytes CtoA(const L4& l4) {
  return Ingress(kVtep2, kMacC, kIpC, kMacA, kIpA, l4);
}
Bytes DtoB(const L4& l4) {
  return Ingress(kVtep3, kMacD, kIpD, kMacB, kIpB, l4);
}

class PolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    OVX_REQUIRE_ROOT();
    Load([](ovx_config&) {});
  }

  void Load(const std::function<void(ovx_config&)>& tweak,
            uint32_t drop_events_per_sec = 0) {
    ovx_config cfg = NodeConfig(TheWorld());
    tweak(cfg);
    xdp_.reset();
    tc_.reset();
    auto tc =
        LoadTcEndpointWith(cfg, {.drop_events_per_sec = drop_events_per_sec});
    ASSERT_TRUE(tc.ok()) << tc.status();
    tc_.emplace(std::move(*tc));
    auto xdp = LoadXdpUnderlayWith(
        cfg, {.share = &tc_->fds, .drop_events_per_sec = drop_events_per_sec});
    ASSERT_TRUE(xdp.ok()) << xdp.status();
    xdp_.emplace(std::move(*xdp));
    ASSERT_TRUE(FillMaps(TheWorld(), fds()).ok());
    SetPolicyMode(OVX_NET_F_POLICY_DENY);
    for (const ovx_policy_key& k : {kAtoB5432, kAtoC1000, kAtoC1002, kCtoAAny,
                                    kAnyToB53, kAtoAnyIcmp, kAtoD22}) {
      AddRule(k);
    }
  }

  const MapFds& fds() const { return tc_->fds; }

  void SetPolicyMode(uint32_t flags) {
    ovx_network net{};
    net.flags = flags;
    net.mtu = 1450;
    uint32_t vni = kVniBlue;
    ASSERT_EQ(bpf_map_update_elem(fds().networks, &vni, &net, BPF_ANY), 0);
  }
  void AddRule(const ovx_policy_key& k, uint32_t rule_id = 7) {
    ovx_policy v{OVX_POLICY_F_ALLOW, rule_id};
    ASSERT_EQ(bpf_map_update_elem(fds().policy, &k, &v, BPF_ANY), 0);
  }
  void RemoveRule(const ovx_policy_key& k) {
    ASSERT_EQ(bpf_map_delete_elem(fds().policy, &k), 0);
  }
  // The one conntrack entry there is (the test's single flow).
  ovx_ct_entry OnlyConntrackEntry(ovx_ct_key* key) {
    ovx_ct_entry e{};
    EXPECT_EQ(ConntrackEntries(), 1);
    EXPECT_EQ(bpf_map_get_next_key(fds().conntrack, nullptr, key), 0);
    EXPECT_EQ(bpf_map_lookup_elem(fds().conntrack, key, &e), 0);
    return e;
  }
  // Moves that entry's last packet `seconds` into the past.
  void AgeConntrack(uint64_t seconds) {
    ovx_ct_key key{};
    ovx_ct_entry e = OnlyConntrackEntry(&key);
    e.last_seen_ns -= seconds * 1000000000ULL;
    ASSERT_EQ(bpf_map_update_elem(fds().conntrack, &key, &e, BPF_EXIST), 0);
  }
  uint32_t ConntrackFlags() {
    ovx_ct_key key{};
    return OnlyConntrackEntry(&key).flags;
  }

  int ConntrackEntries() {
    int n = 0;
    ovx_ct_key key, next;
    ovx_ct_key* prev = nullptr;
    while (bpf_map_get_next_key(fds().conntrack, prev, &next) == 0) {
      ++n;
      key = next;
      prev = &key;
    }
    return n;
  }

  // Runs `in` through tc_endpoint (from iface) or xdp_underlay: the
  // verdict must be the one `reason` implies, exactly (dir, reason) moves
  // and a drop leaves its one event, which is returned.
  std::optional<ovx_drop_event> Send(const std::string& what, Hook hook,
                                     const Bytes& in, uint32_t reason,
                                     Iface iface = Iface::kHostA) {
    SCOPED_TRACE(what);
    bool drop = reason >= OVX_FIRST_DROP;
    uint32_t dir = hook == Hook::kTc ? OVX_DIR_EGRESS : OVX_DIR_INGRESS;
    uint32_t want = hook == Hook::kTc ? (drop ? TC_ACT_SHOT : TC_ACT_REDIRECT)
                                      : (drop ? XDP_DROP : XDP_PASS);
    auto before = ReadCounters(fds().counters);
    EXPECT_TRUE(before.ok());
    auto run = hook == Hook::kTc ? RunSkb(tc_->prog_fd, in, Resolve(iface))
                                 : RunXdp(xdp_->prog_fd, in);
    EXPECT_TRUE(run.ok()) << run.status();
    auto after = ReadCounters(fds().counters);
    EXPECT_TRUE(after.ok());
    if (!run.ok() || !before.ok() || !after.ok()) return std::nullopt;
    EXPECT_EQ(run->retval, want) << what;
    EXPECT_EQ(CheckOnlyCounter(*before, *after, dir, reason, in.size()), "")
        << what;
    auto events = DrainDropEvents(fds().events);
    EXPECT_TRUE(events.ok());
    if (!events.ok()) return std::nullopt;
    if (!drop) {
      EXPECT_EQ(events->size(), 0u) << what;
      return std::nullopt;
    }
    EXPECT_EQ(events->size(), 1u) << what;
    if (events->empty()) return std::nullopt;
    EXPECT_EQ((*events)[0].reason, reason) << what;
    EXPECT_EQ((*events)[0].dir, dir) << what;
    return (*events)[0];
  }

  std::optional<Loaded<tc_endpoint>> tc_;
  std::optional<Loaded<xdp_underlay>> xdp_;
};

TEST_F(PolicyTest, ExactPort) {
  Send("A->B tcp 5432", Hook::kTc, AtoB(Tcp(40000, 5432)), OVX_FWD_LOCAL);
  Send("A->B tcp 5433", Hook::kTc, AtoB(Tcp(40000, 5433)), OVX_DROP_POLICY);
  Send("A->B tcp 5431", Hook::kTc, AtoB(Tcp(40000, 5431)), OVX_DROP_POLICY);
  Send("A->B udp 5432 (other proto)", Hook::kTc, AtoB(Udp(40000, 5432)),
       OVX_DROP_POLICY);
  Send("B->A tcp 5432 (rule is one-way)", Hook::kTc, BtoA(Tcp(40000, 5432)),
       OVX_DROP_POLICY, Iface::kHostB);
}

TEST_F(PolicyTest, PortRangeInsideAndBothEdges) {
  Send("udp 999", Hook::kTc, AtoC(Udp(40000, 999)), OVX_DROP_POLICY);
  Send("udp 1000 (first)", Hook::kTc, AtoC(Udp(40000, 1000)), OVX_FWD_ENCAP);
  Send("udp 1001 (inside)", Hook::kTc, AtoC(Udp(40000, 1001)), OVX_FWD_ENCAP);
  Send("udp 1002 (last)", Hook::kTc, AtoC(Udp(40000, 1002)), OVX_FWD_ENCAP);
  Send("udp 1003", Hook::kTc, AtoC(Udp(40000, 1003)), OVX_DROP_POLICY);
  Send("tcp 1000 (other proto)", Hook::kTc, AtoC(Tcp(40000, 1000)),
       OVX_DROP_POLICY);
}

TEST_F(PolicyTest, AnyProtocolOnIngress) {
  Send("C->A udp 7777", Hook::kXdp, CtoA(Udp(40000, 7777)), OVX_FWD_DECAP);
  Send("C->A tcp 80", Hook::kXdp, CtoA(Tcp(40001, 80)), OVX_FWD_DECAP);
  Send("C->A echo", Hook::kXdp, CtoA(Echo(9)), OVX_FWD_DECAP);
}

TEST_F(PolicyTest, IdentityWildcards) {
  // (ANY -> B) udp 53: from a remote endpoint with no rule of its own.
  Send("D->B udp 53", Hook::kXdp, DtoB(Udp(40000, 53)), OVX_FWD_DECAP);
  Send("D->B udp 54", Hook::kXdp, DtoB(Udp(40000, 54)), OVX_DROP_POLICY);
  // (A -> ANY) icmp.
  Send("A->C echo", Hook::kTc, AtoC(Echo(5)), OVX_FWD_ENCAP);
  Send("A->B echo", Hook::kTc, AtoB(Echo(5)), OVX_FWD_LOCAL);
  Send("B->A echo (no rule)", Hook::kTc, BtoA(Echo(6)), OVX_DROP_POLICY,
       Iface::kHostB);
}

TEST_F(PolicyTest, ReplyThroughConntrackLocal) {
  Send("B->A reply before the request", Hook::kTc, BtoA(Tcp(5432, 40000)),
       OVX_DROP_POLICY, Iface::kHostB);
  Send("A->B syn", Hook::kTc, AtoB(Tcp(40000, 5432)), OVX_FWD_LOCAL);
  EXPECT_EQ(ConntrackEntries(), 1);
  Send("B->A reply", Hook::kTc, BtoA(Tcp(5432, 40000)), OVX_FWD_LOCAL,
       Iface::kHostB);
  Send("A->B again", Hook::kTc, AtoB(Tcp(40000, 5432)), OVX_FWD_LOCAL);
  Send("B->A other port pair", Hook::kTc, BtoA(Tcp(5432, 40001)),
       OVX_DROP_POLICY, Iface::kHostB);
  EXPECT_EQ(ConntrackEntries(), 1);
}

TEST_F(PolicyTest, ReplyThroughConntrackAcrossPaths) {
  // Egress creates the entry, the reply arrives on the underlay.
  Bytes reply = Ingress(kVtep3, kMacD, kIpD, kMacA, kIpA, Tcp(22, 50000));
  Send("D->A before", Hook::kXdp, reply, OVX_DROP_POLICY);
  Send("A->D tcp 22", Hook::kTc,
       Egress(kMacA, kIpA, kMacD, kIpD, Tcp(50000, 22)), OVX_FWD_ENCAP);
  Send("D->A reply", Hook::kXdp, reply, OVX_FWD_DECAP);
  // Ingress creates the entry, the reply leaves through tc_endpoint.
  Bytes back = Egress(kMacB, kIpB, kMacD, kIpD, Udp(53, 41000));
  Send("B->D before", Hook::kTc, back, OVX_DROP_POLICY, Iface::kHostB);
  Send("D->B udp 53", Hook::kXdp, DtoB(Udp(41000, 53)), OVX_FWD_DECAP);
  Send("B->D reply", Hook::kTc, back, OVX_FWD_ENCAP, Iface::kHostB);
}

TEST_F(PolicyTest, IcmpEchoReplyMatchesItsRequest) {
  Send("A->B echo id 77", Hook::kTc, AtoB(Echo(77)), OVX_FWD_LOCAL);
  Send("B->A reply id 77", Hook::kTc, BtoA(EchoReply(77)), OVX_FWD_LOCAL,
       Iface::kHostB);
  Send("B->A reply id 78", Hook::kTc, BtoA(EchoReply(78)), OVX_DROP_POLICY,
       Iface::kHostB);
  Send("B->A request id 77", Hook::kTc, BtoA(Echo(77)), OVX_DROP_POLICY,
       Iface::kHostB);
}

TEST_F(PolicyTest, AllowNetworkSkipsPolicy) {
  SetPolicyMode(0);
  Send("A->B tcp 5433", Hook::kTc, AtoB(Tcp(40000, 5433)), OVX_FWD_LOCAL);
  Send("B->A tcp 22", Hook::kTc, BtoA(Tcp(40000, 22)), OVX_FWD_LOCAL,
       Iface::kHostB);
  Send("D->B udp 54", Hook::kXdp, DtoB(Udp(40000, 54)), OVX_FWD_DECAP);
  // Not even a conntrack entry: policy was not consulted.
  EXPECT_EQ(ConntrackEntries(), 0);
}

TEST_F(PolicyTest, RemovedRuleStopsNewConnectionsOnly) {
  Send("A->B established", Hook::kTc, AtoB(Tcp(40000, 5432)), OVX_FWD_LOCAL);
  RemoveRule(kAtoB5432);
  Send("A->B established continues", Hook::kTc, AtoB(Tcp(40000, 5432)),
       OVX_FWD_LOCAL);
  Send("B->A its replies too", Hook::kTc, BtoA(Tcp(5432, 40000)), OVX_FWD_LOCAL,
       Iface::kHostB);
  Send("A->B new connection", Hook::kTc, AtoB(Tcp(40001, 5432)),
       OVX_DROP_POLICY);
  AddRule(kAtoB5432);
  Send("A->B new connection, rule back", Hook::kTc, AtoB(Tcp(40001, 5432)),
       OVX_FWD_LOCAL);
}

TEST_F(PolicyTest, IdleConntrackEntryExpires) {
  Send("A->C udp 1000", Hook::kTc, AtoC(Udp(40000, 1000)), OVX_FWD_ENCAP);
  RemoveRule(kAtoC1000);
  Send("A->C still established", Hook::kTc, AtoC(Udp(40000, 1000)),
       OVX_FWD_ENCAP);
  // Age the entry past the 60 s idle timeout of non-TCP flows.
  AgeConntrack(61);
  Send("A->C idle flow is new again", Hook::kTc, AtoC(Udp(40000, 1000)),
       OVX_DROP_POLICY);
}

// A FIN from each side closes the connection: its entry then lasts 10 s
// without a packet, not 6 h, and the same ports make a new connection that
// the rules decide. One FIN is a half-close, which may carry data for long.
TEST_F(PolicyTest, FinFromBothSidesEndsTheConnectionsEntry) {
  Send("A->B syn", Hook::kTc, AtoB(Tcp(40000, 5432)), OVX_FWD_LOCAL);
  RemoveRule(kAtoB5432);
  EXPECT_EQ(ConntrackFlags(), 0u);
  AgeConntrack(11);
  Send("A->B open, 11 s idle", Hook::kTc, AtoB(Tcp(40000, 5432, kAck)),
       OVX_FWD_LOCAL);

  Send("A->B fin", Hook::kTc, AtoB(Tcp(40000, 5432, kFinAck)), OVX_FWD_LOCAL);
  EXPECT_EQ(ConntrackFlags(), OVX_CT_F_FIN_ORIG);
  AgeConntrack(11);
  Send("B->A half-closed, 11 s idle", Hook::kTc, BtoA(Tcp(5432, 40000, kAck)),
       OVX_FWD_LOCAL, Iface::kHostB);

  Send("B->A fin", Hook::kTc, BtoA(Tcp(5432, 40000, kFinAck)), OVX_FWD_LOCAL,
       Iface::kHostB);
  EXPECT_EQ(ConntrackFlags(), OVX_CT_F_CLOSED);
  Send("A->B last ack", Hook::kTc, AtoB(Tcp(40000, 5432, kAck)), OVX_FWD_LOCAL);
  AgeConntrack(9);
  Send("A->B fin again, 9 s on", Hook::kTc, AtoB(Tcp(40000, 5432, kFinAck)),
       OVX_FWD_LOCAL);
  AgeConntrack(11);
  Send("A->B same ports, 11 s after the close", Hook::kTc,
       AtoB(Tcp(40000, 5432)), OVX_DROP_POLICY);
}

// A SYN on the ports of a closed connection opens a new one: the rules
// decide at once, not after the closed entry's 10 s.
TEST_F(PolicyTest, SynOnAClosedConnectionsPortsIsDecidedAgain) {
  Send("A->B syn", Hook::kTc, AtoB(Tcp(40000, 5432)), OVX_FWD_LOCAL);
  Send("B->A reset", Hook::kTc, BtoA(Tcp(5432, 40000, kRstAck)), OVX_FWD_LOCAL,
       Iface::kHostB);
  EXPECT_EQ(ConntrackFlags(), OVX_CT_F_CLOSED);
  Send("A->B syn again, rule still there", Hook::kTc, AtoB(Tcp(40000, 5432)),
       OVX_FWD_LOCAL);
  EXPECT_EQ(ConntrackFlags(), 0u);  // a fresh entry
  Send("B->A reset", Hook::kTc, BtoA(Tcp(5432, 40000, kRstAck)), OVX_FWD_LOCAL,
       Iface::kHostB);
  RemoveRule(kAtoB5432);
  Send("A->B ack of the closed one, within 10 s", Hook::kTc,
       AtoB(Tcp(40000, 5432, kAck)), OVX_FWD_LOCAL);
  Send("A->B syn, rule removed", Hook::kTc, AtoB(Tcp(40000, 5432)),
       OVX_DROP_POLICY);
}

TEST_F(PolicyTest, RstFromEitherSideEndsTheConnectionsEntry) {
  Bytes reply = Ingress(kVtep3, kMacD, kIpD, kMacA, kIpA, Tcp(22, 50000, kAck));
  Send("A->D syn", Hook::kTc, Egress(kMacA, kIpA, kMacD, kIpD, Tcp(50000, 22)),
       OVX_FWD_ENCAP);
  RemoveRule(kAtoD22);
  Send("D->A reset", Hook::kXdp,
       Ingress(kVtep3, kMacD, kIpD, kMacA, kIpA, Tcp(22, 50000, kRstAck)),
       OVX_FWD_DECAP);
  EXPECT_EQ(ConntrackFlags(), OVX_CT_F_CLOSED);
  AgeConntrack(11);
  Send("D->A after the reset, 11 s on", Hook::kXdp, reply, OVX_DROP_POLICY);
}

TEST_F(PolicyTest, DropEventCarriesTheFlow) {
  auto ev =
      Send("A->B tcp 5433", Hook::kTc, AtoB(Tcp(40000, 5433)), OVX_DROP_POLICY);
  ASSERT_TRUE(ev.has_value());
  EXPECT_EQ(ev->ifindex, TheWorld().host_a);
  EXPECT_EQ(ev->vni, kVniBlue);
  EXPECT_EQ(ev->src_identity, kIdA);
  EXPECT_EQ(ev->dst_identity, kIdB);
  EXPECT_EQ(ev->family, OVX_AF_INET);
  EXPECT_EQ(ev->proto, IPPROTO_TCP);
  EXPECT_EQ(ev->saddr[0], kIpA.s_addr);
  EXPECT_EQ(ev->daddr[0], kIpB.s_addr);
  EXPECT_EQ(ntohs(ev->sport), 40000);
  EXPECT_EQ(ntohs(ev->dport), 5433);

  ev = Send("D->B udp 54", Hook::kXdp, DtoB(Udp(41000, 54)), OVX_DROP_POLICY);
  ASSERT_TRUE(ev.has_value());
  EXPECT_EQ(ev->ifindex, TheWorld().host_b);
  EXPECT_EQ(ev->vni, kVniBlue);
  EXPECT_EQ(ev->src_identity, kIdD);
  EXPECT_EQ(ev->dst_identity, kIdB);
  EXPECT_EQ(ev->saddr[0], kIpD.s_addr);
  EXPECT_EQ(ev->daddr[0], kIpB.s_addr);
  EXPECT_EQ(ntohs(ev->sport), 41000);
  EXPECT_EQ(ntohs(ev->dport), 54);
}

// The controller marks the endpoints of open networks; the programs then
// allow without reading `networks` at all (its entry is gone here, and the
// network is deny), on both paths. Unmarked endpoints keep reading it.
TEST_F(PolicyTest, EndpointMarkedOpenIsAllowedWithoutTheNetworkLookup) {
  ovx_endpoint_key key = ovx::maps::EndpointKey(kVniBlue, kIpB);
  ovx_endpoint b{};
  ASSERT_EQ(bpf_map_lookup_elem(fds().endpoints, &key, &b), 0);
  ASSERT_EQ(b.flags & OVX_EP_F_NET_ALLOW_ALL, 0u);
  b.flags |= OVX_EP_F_NET_ALLOW_ALL;
  ASSERT_TRUE(PutEndpoint(fds(), kVniBlue, kIpB, b).ok());
  uint32_t vni = kVniBlue;
  ASSERT_EQ(bpf_map_delete_elem(fds().networks, &vni), 0);

  Send("A->B tcp 5433", Hook::kTc, AtoB(Tcp(40000, 5433)), OVX_FWD_LOCAL);
  Send("D->B udp 54", Hook::kXdp, DtoB(Udp(40000, 54)), OVX_FWD_DECAP);
  EXPECT_EQ(ConntrackEntries(), 0);
  Send("A->C unmarked", Hook::kTc, AtoC(Udp(40000, 1000)),
       OVX_DROP_UNKNOWN_VNI);
}

TEST_F(PolicyTest, NetworkMissingFromTheMapDropsOnEgress) {
  uint32_t vni = kVniBlue;
  ASSERT_EQ(bpf_map_delete_elem(fds().networks, &vni), 0);
  Send("A->B", Hook::kTc, AtoB(Tcp(40000, 5432)), OVX_DROP_UNKNOWN_VNI);
}

// ---- VXLAN from a container ----------------------------------------------

TEST_F(PolicyTest, ContainerVxlanIsDropped) {
  SetPolicyMode(0);
  Send("to a neighbour", Hook::kTc, AtoB(Udp(40000, 4789)),
       OVX_DROP_TUNNEL_FROM_ENDPOINT);
  // Not an endpoint: still this reason, not no-endpoint.
  Send("to an underlay address", Hook::kTc,
       Egress(kMacA, kIpA, kVtep2Mac, kVtep2, Udp(40000, 4789)),
       OVX_DROP_TUNNEL_FROM_ENDPOINT);
  Bytes first_fragment = Packet()
                             .Eth(kMacA, kMacB)
                             .Ipv4(kIpA, kIpB, {.mf = true})
                             .Udp(40000, 4789)
                             .Payload("vxlan")
                             .Build();
  Send("first fragment", Hook::kTc, first_fragment,
       OVX_DROP_TUNNEL_FROM_ENDPOINT);
  Send("tcp to 4789 is not VXLAN", Hook::kTc, AtoB(Tcp(40000, 4789)),
       OVX_FWD_LOCAL);
  Send("udp from 4789 is not to the tunnel", Hook::kTc, AtoB(Udp(4789, 53)),
       OVX_FWD_LOCAL);
}

TEST_F(PolicyTest, ContainerVxlanUsesTheConfiguredPort) {
  Load([](ovx_config& c) { c.vxlan_port = 8472; });
  SetPolicyMode(0);
  Send("udp 8472", Hook::kTc, AtoB(Udp(40000, 8472)),
       OVX_DROP_TUNNEL_FROM_ENDPOINT);
  Send("udp 4789", Hook::kTc, AtoB(Udp(40000, 4789)), OVX_FWD_LOCAL);
}

TEST_F(PolicyTest, SpoofingANeighbourIsStillDropped) {
  Send("B's MAC", Hook::kTc, Egress(kMacB, kIpA, kMacB, kIpB, Echo(1)),
       OVX_DROP_SPOOF_MAC);
  Send("B's IP", Hook::kTc, Egress(kMacA, kIpB, kMacB, kIpB, Echo(1)),
       OVX_DROP_SPOOF_IP);
}

// ---- sampled drop events ---------------------------------------------------

TEST_F(PolicyTest, DropEventsAreSampledCountersAreNot) {
  Load([](ovx_config&) {}, /*drop_events_per_sec=*/3);
  auto before = ReadCounters(fds().counters);
  ASSERT_TRUE(before.ok());
  const Bytes in = AtoB(Tcp(40000, 5433));
  // One CPU, so one budget (the budget is per CPU).
  cpu_set_t old_set, one;
  ASSERT_EQ(sched_getaffinity(0, sizeof(old_set), &old_set), 0);
  CPU_ZERO(&one);
  CPU_SET(sched_getcpu(), &one);
  ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
  for (int i = 0; i < 10; ++i) {
    auto run = RunSkb(tc_->prog_fd, in, Resolve(Iface::kHostA));
    ASSERT_TRUE(run.ok());
    ASSERT_EQ(run->retval, static_cast<uint32_t>(TC_ACT_SHOT));
  }
  ASSERT_EQ(sched_setaffinity(0, sizeof(old_set), &old_set), 0);
  auto after = ReadCounters(fds().counters);
  ASSERT_TRUE(after.ok());
  uint32_t idx = OVX_COUNTER_INDEX(OVX_DIR_EGRESS, OVX_DROP_POLICY);
  EXPECT_EQ((*after)[idx].packets - (*before)[idx].packets, 10u);
  auto events = DrainDropEvents(fds().events);
  ASSERT_TRUE(events.ok());
  // The loop runs well inside the one-second window.
  EXPECT_EQ(events->size(), 3u);
}

}  // namespace
}  // namespace ovx::testing
