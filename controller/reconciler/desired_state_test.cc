#include "controller/reconciler/desired_state.h"

#include <gtest/gtest.h>

#include "absl/strings/str_format.h"
#include "controller/policy/compile.h"
#include "controller/policy/rule.h"
#include "controller/reconciler/test_util.h"
#include "maps/dataplane_maps.h"

namespace ovx::controller {
namespace {

using testing::AddEndpoint;
using testing::AddNetwork;
using testing::AddNode;
using testing::FakeResolver;

in_addr Ip(const char* text) { return *maps::ParseIpv4(text); }
maps::Mac Mac(const char* text) { return *maps::ParseMac(text); }

ovx_network Net(uint32_t flags, uint16_t mtu) {
  ovx_network n;
  std::memset(&n, 0, sizeof(n));
  n.flags = flags;
  n.mtu = mtu;
  return n;
}

ovx_vtep Vtep(const char* node) {
  ovx_vtep v;
  std::memset(&v, 0, sizeof(v));
  v.node_id = NodeId(node);
  return v;
}

// Two nodes, one network: web1 here, db1 on host2.
Snapshot TwoNodes() {
  Snapshot s;
  s.revision = 7;
  AddNetwork(s, "blue", 100);
  AddNode(s, "host1", "192.168.50.1");
  AddNode(s, "host2", "192.168.50.2");
  AddEndpoint(s, "web1", "blue", "host1", "10.10.0.5", "02:00:00:00:00:05",
              "veth-web1");
  AddEndpoint(s, "db1", "blue", "host2", "10.10.0.6", "02:00:00:00:00:06",
              "veth-db1");
  return s;
}

#define EXPECT_STATE_EQ(want, got)                                \
  EXPECT_TRUE((want) == (got)) << "want:\n"                       \
                               << DescribeState(want) << "got:\n" \
                               << DescribeState(got)

TEST(DesiredStateTest, LocalAndRemoteEndpoints) {
  DesiredState d = ComputeDesiredState(TwoNodes(), {"host1", 0},
                                       FakeResolver({{"veth-web1", 7}}));
  DataplaneState want;
  want.networks[100] = Net(0, 1450);
  want.vteps[maps::VtepKey(Ip("192.168.50.2"))] = Vtep("host2");
  want.vtep_vnis[maps::VtepVniKey(Ip("192.168.50.2"), 100)] = {1};
  want.interfaces[7] =
      maps::Interface(100, Ip("10.10.0.5"), Mac("02:00:00:00:00:05"), 0);
  want.endpoints[maps::EndpointKey(100, Ip("10.10.0.5"))] = maps::InNetwork(
      maps::LocalEndpoint(7, Mac("02:00:00:00:00:05"), 0), want.networks[100]);
  want.endpoints[maps::EndpointKey(100, Ip("10.10.0.6"))] = maps::InNetwork(
      maps::RemoteEndpoint(Ip("192.168.50.2"), Mac("02:00:00:00:00:06"), 0),
      want.networks[100]);
  EXPECT_TRUE(d.node_known);
  EXPECT_STATE_EQ(want, d.maps);
  EXPECT_EQ(d.interfaces,
            (std::vector<LocalInterface>{{"web1", "veth-web1", 7}}));
  EXPECT_TRUE(d.waiting.empty());
  EXPECT_TRUE(d.skipped.empty());
}

TEST(DesiredStateTest, TheOtherNodeSeesTheMirrorImage) {
  DesiredState d = ComputeDesiredState(TwoNodes(), {"host2", 0},
                                       FakeResolver({{"veth-db1", 9}}));
  ASSERT_EQ(d.maps.endpoints.size(), 2u);
  const ovx_endpoint& web1 =
      d.maps.endpoints.at(maps::EndpointKey(100, Ip("10.10.0.5")));
  EXPECT_EQ(web1.flags, OVX_EP_F_REMOTE | OVX_EP_F_NET_ALLOW_ALL);
  EXPECT_EQ(web1.vtep[0], Ip("192.168.50.1").s_addr);
  EXPECT_EQ(
      d.maps.endpoints.at(maps::EndpointKey(100, Ip("10.10.0.6"))).ifindex, 9u);
  ASSERT_EQ(d.maps.vteps.size(), 1u);
  EXPECT_TRUE(d.maps.vteps.contains(maps::VtepKey(Ip("192.168.50.1"))));
}

TEST(DesiredStateTest, OnlyNetworksPresentHereAreWritten) {
  Snapshot s = TwoNodes();
  AddNetwork(s, "red", 200);
  AddNode(s, "host3", "192.168.50.3");
  AddEndpoint(s, "red2", "red", "host2", "10.20.0.2", "02:00:00:00:01:02");
  AddEndpoint(s, "red3", "red", "host3", "10.20.0.3", "02:00:00:00:01:03");
  DesiredState d =
      ComputeDesiredState(s, {"host1", 0}, FakeResolver({{"veth-web1", 7}}));
  EXPECT_EQ(d.maps.networks.size(), 1u);
  EXPECT_TRUE(d.maps.networks.contains(100));
  EXPECT_FALSE(
      d.maps.endpoints.contains(maps::EndpointKey(200, Ip("10.20.0.2"))));
  // host3 only hosts red: it is not allowed to send us VXLAN.
  EXPECT_FALSE(d.maps.vteps.contains(maps::VtepKey(Ip("192.168.50.3"))));
  EXPECT_FALSE(
      d.maps.vtep_vnis.contains(maps::VtepVniKey(Ip("192.168.50.2"), 200)));
  EXPECT_EQ(d.maps.size(), 6u);
}

TEST(DesiredStateTest, VtepVnisCountEndpointsPerNodeAndNetwork) {
  Snapshot s = TwoNodes();
  AddNetwork(s, "green", 300);
  AddNode(s, "host3", "192.168.50.3");
  AddEndpoint(s, "db2", "blue", "host2", "10.10.0.7", "02:00:00:00:00:07");
  AddEndpoint(s, "db3", "blue", "host3", "10.10.0.8", "02:00:00:00:00:08");
  AddEndpoint(s, "g1", "green", "host1", "10.30.0.1", "02:00:00:00:03:01",
              "veth-g1");
  AddEndpoint(s, "g2", "green", "host2", "10.30.0.2", "02:00:00:00:03:02");
  DesiredState d = ComputeDesiredState(
      s, {"host1", 0}, FakeResolver({{"veth-web1", 7}, {"veth-g1", 8}}));
  Table<ovx_vtep_vni_key, ovx_vtep_vni> want;
  want[maps::VtepVniKey(Ip("192.168.50.2"), 100)] = {2};
  want[maps::VtepVniKey(Ip("192.168.50.2"), 300)] = {1};
  want[maps::VtepVniKey(Ip("192.168.50.3"), 100)] = {1};
  ASSERT_EQ(d.maps.vtep_vnis.size(), want.size());
  for (const auto& [key, value] : want) {
    ASSERT_TRUE(d.maps.vtep_vnis.contains(key)) << FormatVtepVniKey(key);
    EXPECT_EQ(d.maps.vtep_vnis.at(key).endpoints, value.endpoints)
        << FormatVtepVniKey(key);
  }
  EXPECT_EQ(d.maps.vteps.size(), 2u);
  EXPECT_EQ(d.maps.vteps.at(maps::VtepKey(Ip("192.168.50.3"))).node_id,
            NodeId("host3"));
  EXPECT_EQ(d.maps.networks.size(), 2u);
}

TEST(DesiredStateTest, LocalEndpointWaitsForItsInterface) {
  DesiredState d =
      ComputeDesiredState(TwoNodes(), {"host1", 0}, FakeResolver({}));
  EXPECT_EQ(d.waiting, (std::vector<LocalInterface>{{"web1", "veth-web1", 0}}));
  EXPECT_TRUE(d.interfaces.empty());
  EXPECT_TRUE(d.maps.interfaces.empty());
  EXPECT_FALSE(
      d.maps.endpoints.contains(maps::EndpointKey(100, Ip("10.10.0.5"))));
  // The network is here already: the remote side is ready when it appears.
  EXPECT_TRUE(d.maps.networks.contains(100));
  EXPECT_TRUE(
      d.maps.endpoints.contains(maps::EndpointKey(100, Ip("10.10.0.6"))));
}

TEST(DesiredStateTest, LocalEndpointWithoutInterfaceIsLeftOut) {
  Snapshot s = TwoNodes();
  s.endpoints["web1"].iface = "";
  DesiredState d = ComputeDesiredState(s, {"host1", 0}, FakeResolver({}));
  EXPECT_EQ(d.maps.size(), 0u) << DescribeState(d.maps);
  ASSERT_EQ(d.skipped.size(), 1u);
  EXPECT_NE(d.skipped[0].find("web1"), std::string::npos);
}

TEST(DesiredStateTest, PolicyDenyAndDefaultMtu) {
  Snapshot s = TwoNodes();
  s.networks["blue"].policy = "deny";
  s.networks["blue"].mtu = 0;
  DesiredState d =
      ComputeDesiredState(s, {"host1", 1450}, FakeResolver({{"veth-web1", 7}}));
  ASSERT_TRUE(d.maps.networks.contains(100));
  EXPECT_EQ(d.maps.networks.at(100).flags, OVX_NET_F_POLICY_DENY);
  EXPECT_EQ(d.maps.networks.at(100).mtu, 1450);
}

// Endpoints of an open network carry OVX_EP_F_NET_ALLOW_ALL (the programs
// then skip the networks lookup); turning the network to deny takes it off
// every one of them, local and remote.
TEST(DesiredStateTest, OnlyOpenNetworksMarkTheirEndpoints) {
  Snapshot s = TwoNodes();
  auto resolve = FakeResolver({{"veth-web1", 7}});
  DesiredState open = ComputeDesiredState(s, {"host1", 0}, resolve);
  s.networks["blue"].policy = "deny";
  DesiredState deny = ComputeDesiredState(s, {"host1", 0}, resolve);
  ASSERT_EQ(open.maps.endpoints.size(), 2u);
  ASSERT_EQ(deny.maps.endpoints.size(), 2u);
  for (const auto& [key, ep] : open.maps.endpoints) {
    EXPECT_TRUE(ep.flags & OVX_EP_F_NET_ALLOW_ALL) << FormatEndpoint(ep);
  }
  for (const auto& [key, ep] : deny.maps.endpoints) {
    EXPECT_FALSE(ep.flags & OVX_EP_F_NET_ALLOW_ALL) << FormatEndpoint(ep);
  }
}

TEST(DesiredStateTest, NodeWithNoEndpointsHoldsNothing) {
  Snapshot s = TwoNodes();
  AddNode(s, "host9", "192.168.50.9");
  DesiredState d =
      ComputeDesiredState(s, {"host9", 0}, FakeResolver({{"veth-web1", 7}}));
  EXPECT_TRUE(d.node_known);
  EXPECT_EQ(d.maps.size(), 0u) << DescribeState(d.maps);
}

TEST(DesiredStateTest, UnknownNodeIsReported) {
  DesiredState d =
      ComputeDesiredState(TwoNodes(), {"nosuch", 0}, FakeResolver({}));
  EXPECT_FALSE(d.node_known);
  EXPECT_EQ(d.maps.size(), 0u);
}

TEST(DesiredStateTest, BadRecordsAreSkippedNotFatal) {
  Snapshot s = TwoNodes();
  AddEndpoint(s, "bad-ip", "blue", "host2", "10.10.0.300", "02:00:00:00:00:09");
  AddEndpoint(s, "dup-ip", "blue", "host2", "10.10.0.6", "02:00:00:00:00:0a");
  AddEndpoint(s, "no-node", "blue", "host7", "10.10.0.11", "02:00:00:00:00:0b");
  DesiredState d =
      ComputeDesiredState(s, {"host1", 0}, FakeResolver({{"veth-web1", 7}}));
  EXPECT_EQ(d.skipped.size(), 3u);
  EXPECT_EQ(d.maps.endpoints.size(), 2u);
}

TEST(DesiredStateTest, IdentitiesAndPolicyOfDenyNetworksPresentHere) {
  Snapshot s;
  AddNetwork(s, "red", 200, 1450, "deny");
  AddNetwork(s, "blue", 100);
  AddNode(s, "host1", "192.168.50.1");
  AddNode(s, "host2", "192.168.50.2");
  AddNode(s, "host3", "192.168.50.3");
  AddEndpoint(s, "web1", "red", "host1", "10.20.0.5", "02:00:00:00:00:05",
              "veth-web1");
  AddEndpoint(s, "db1", "red", "host2", "10.20.0.6", "02:00:00:00:00:06",
              "veth-db1");
  AddEndpoint(s, "b1", "blue", "host1", "10.10.0.7", "02:00:00:00:00:07",
              "veth-b1");
  AddEndpoint(s, "b2", "blue", "host3", "10.10.0.8", "02:00:00:00:00:08",
              "veth-b2");
  s.endpoints["web1"].labels = {{"app", "web"}};
  s.endpoints["web1"].identity = 256;
  s.endpoints["db1"].labels = {{"app", "db"}};
  s.endpoints["db1"].identity = 257;
  s.endpoints["b1"].identity = 258;
  s.endpoints["b2"].identity = 258;
  s.policies["web-db"] = Policy{.name = "web-db",
                                .network = "red",
                                .from = "app=web",
                                .to = "app=db",
                                .proto = "tcp",
                                .port = "5432-5433"};
  // On an allow network (refused by ovxctl, possible by hand): ignored.
  s.policies["blue-all"] =
      Policy{.name = "blue-all", .network = "blue", .from = "*", .to = "*"};

  DesiredState d = ComputeDesiredState(
      s, {"host1", 0}, FakeResolver({{"veth-web1", 7}, {"veth-b1", 8}}));
  EXPECT_TRUE(d.skipped.empty());
  EXPECT_EQ(d.maps.interfaces.at(7).identity, 256u);
  EXPECT_EQ(d.maps.interfaces.at(8).identity, 258u);
  EXPECT_EQ(
      d.maps.endpoints.at(maps::EndpointKey(200, Ip("10.20.0.5"))).identity,
      256u);
  EXPECT_EQ(
      d.maps.endpoints.at(maps::EndpointKey(200, Ip("10.20.0.6"))).identity,
      257u);
  EXPECT_EQ(d.maps.networks.at(200).flags, OVX_NET_F_POLICY_DENY);
  ovx_policy allow;
  std::memset(&allow, 0, sizeof(allow));
  allow.flags = OVX_POLICY_F_ALLOW;
  allow.rule_id = RuleId("web-db");
  DataplaneState want_policy;
  want_policy.policy[PolicyKey(200, 256, 257, IPPROTO_TCP, 5432, 15)] = allow;
  EXPECT_EQ(DescribeState(DataplaneState{.policy = d.maps.policy}),
            "policy: vni=200 256->257 tcp/5432/15 -> allow rule_id=" +
                absl::StrFormat("%08x", RuleId("web-db")) + "\n");
  EXPECT_TRUE(DataplaneState{.policy = d.maps.policy} == want_policy);

  // host3 has no red endpoint: no red policy there.
  DesiredState d3 =
      ComputeDesiredState(s, {"host3", 0}, FakeResolver({{"veth-b2", 9}}));
  EXPECT_TRUE(d3.maps.policy.empty());
  EXPECT_EQ(d3.maps.networks.size(), 1u);
}

TEST(DesiredStateTest, NodeIdIsStable) {
  // FNV-1a test vectors: the value is visible in dumps and events.
  EXPECT_EQ(NodeId(""), 0x811c9dc5u);
  EXPECT_EQ(NodeId("a"), 0xe40c292cu);
}

}  // namespace
}  // namespace ovx::controller
