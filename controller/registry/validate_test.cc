#include "controller/registry/validate.h"

#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "gtest/gtest.h"

namespace ovx::controller {
namespace {

using absl::StatusCode;

// blue 10.10.0.0/24 gw .1 with web1 (.5) on host1; red 10.20.0.0/30.
Snapshot Base() {
  Snapshot s;
  s.networks["blue"] = Network{.name = "blue",
                               .vni = 100,
                               .subnet = "10.10.0.0/24",
                               .gateway = "10.10.0.1"};
  s.networks["red"] =
      Network{.name = "red", .vni = 200, .subnet = "10.20.0.0/30"};
  s.nodes["host1"] = Node{.name = "host1", .vtep = "192.168.50.1"};
  s.nodes["host2"] = Node{.name = "host2", .vtep = "192.168.50.2"};
  s.endpoints["web1"] = Endpoint{.name = "web1",
                                 .network = "blue",
                                 .node = "host1",
                                 .ip = "10.10.0.5",
                                 .mac = "02:00:00:00:00:05",
                                 .iface = "veth-web1"};
  return s;
}

struct Bad {
  const char* label;
  StatusCode code;
  std::string message;
};

struct BadNetwork : Bad {
  Network record;
};

TEST(Validate, NetworkRejections) {
  const BadNetwork cases[] = {
      {{"empty name", StatusCode::kInvalidArgument, "network: name is empty"},
       {.name = "", .vni = 1, .subnet = "10.1.0.0/24"}},
      {{"bad name", StatusCode::kInvalidArgument,
        "network \"a b\": name must be 1..63 characters of [a-zA-Z0-9._-]"},
       {.name = "a b", .vni = 1, .subnet = "10.1.0.0/24"}},
      {{"long name", StatusCode::kInvalidArgument,
        "network \"" + std::string(64, 'x') +
            "\": name must be 1..63 characters of [a-zA-Z0-9._-]"},
       {.name = std::string(64, 'x'), .vni = 1, .subnet = "10.1.0.0/24"}},
      {{"dup name", StatusCode::kAlreadyExists, "network blue already exists"},
       {.name = "blue", .vni = 1, .subnet = "10.1.0.0/24"}},
      {{"vni 0", StatusCode::kInvalidArgument,
        "network n: --vni=0 is out of range 1..16777215"},
       {.name = "n", .vni = 0, .subnet = "10.1.0.0/24"}},
      {{"vni too big", StatusCode::kInvalidArgument,
        "network n: --vni=16777216 is out of range 1..16777215"},
       {.name = "n", .vni = 16777216, .subnet = "10.1.0.0/24"}},
      {{"dup vni", StatusCode::kAlreadyExists,
        "network n: --vni=100 is already used by network blue"},
       {.name = "n", .vni = 100, .subnet = "10.1.0.0/24"}},
      {{"no subnet", StatusCode::kInvalidArgument,
        "network n: --subnet is required (e.g. 10.10.0.0/24)"},
       {.name = "n", .vni = 1}},
      {{"subnet garbage", StatusCode::kInvalidArgument,
        "network n: --subnet=banana is not an IPv4 CIDR (want A.B.C.D/N)"},
       {.name = "n", .vni = 1, .subnet = "banana"}},
      {{"subnet no prefix", StatusCode::kInvalidArgument,
        "network n: --subnet=10.1.0.0 is not an IPv4 CIDR (want A.B.C.D/N)"},
       {.name = "n", .vni = 1, .subnet = "10.1.0.0"}},
      {{"subnet octet", StatusCode::kInvalidArgument,
        "network n: --subnet=10.256.0.0/16 is not an IPv4 CIDR (want "
        "A.B.C.D/N)"},
       {.name = "n", .vni = 1, .subnet = "10.256.0.0/16"}},
      {{"subnet /31", StatusCode::kInvalidArgument,
        "network n: --subnet=10.1.0.0/31 has prefix /31; want /8 to /30"},
       {.name = "n", .vni = 1, .subnet = "10.1.0.0/31"}},
      {{"subnet /7", StatusCode::kInvalidArgument,
        "network n: --subnet=10.0.0.0/7 has prefix /7; want /8 to /30"},
       {.name = "n", .vni = 1, .subnet = "10.0.0.0/7"}},
      {{"subnet /33", StatusCode::kInvalidArgument,
        "network n: --subnet=10.0.0.0/33 is not an IPv4 CIDR (want "
        "A.B.C.D/N)"},
       {.name = "n", .vni = 1, .subnet = "10.0.0.0/33"}},
      {{"subnet host bits", StatusCode::kInvalidArgument,
        "network n: --subnet=10.1.0.7/24 is not a network address (did you "
        "mean 10.1.0.0/24?)"},
       {.name = "n", .vni = 1, .subnet = "10.1.0.7/24"}},
      {{"gateway garbage", StatusCode::kInvalidArgument,
        "network n: --gateway=10.1.0 is not an IPv4 address"},
       {.name = "n", .vni = 1, .subnet = "10.1.0.0/24", .gateway = "10.1.0"}},
      {{"gateway outside", StatusCode::kInvalidArgument,
        "network n: --gateway=10.2.0.1 is outside --subnet=10.1.0.0/24"},
       {.name = "n", .vni = 1, .subnet = "10.1.0.0/24", .gateway = "10.2.0.1"}},
      {{"gateway broadcast", StatusCode::kInvalidArgument,
        "network n: --gateway=10.1.0.255 is the broadcast address of "
        "10.1.0.0/24"},
       {.name = "n",
        .vni = 1,
        .subnet = "10.1.0.0/24",
        .gateway = "10.1.0.255"}},
      {{"gateway network", StatusCode::kInvalidArgument,
        "network n: --gateway=10.1.0.0 is the network address of "
        "10.1.0.0/24"},
       {.name = "n", .vni = 1, .subnet = "10.1.0.0/24", .gateway = "10.1.0.0"}},
      {{"mtu small", StatusCode::kInvalidArgument,
        "network n: --mtu=500 is out of range 576..9000 (or 0: underlay MTU "
        "- 50)"},
       {.name = "n", .vni = 1, .subnet = "10.1.0.0/24", .mtu = 500}},
      {{"mtu big", StatusCode::kInvalidArgument,
        "network n: --mtu=9001 is out of range 576..9000 (or 0: underlay MTU "
        "- 50)"},
       {.name = "n", .vni = 1, .subnet = "10.1.0.0/24", .mtu = 9001}},
      {{"policy", StatusCode::kInvalidArgument,
        "network n: --policy=maybe must be allow or deny"},
       {.name = "n", .vni = 1, .subnet = "10.1.0.0/24", .policy = "maybe"}},
  };
  for (const BadNetwork& c : cases) {
    SCOPED_TRACE(c.label);
    Snapshot s = Base();
    const Snapshot before = s;
    absl::StatusOr<Network> r = AddNetwork(s, c.record);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), c.code);
    EXPECT_EQ(r.status().message(), c.message);
    EXPECT_EQ(s, before);
  }
}

TEST(Validate, NetworkAccepted) {
  Snapshot s = Base();
  absl::StatusOr<Network> n = AddNetwork(s, Network{.name = "green_1.x",
                                                    .vni = kMaxVni,
                                                    .subnet = "172.16.0.0/12",
                                                    .gateway = "172.16.0.1",
                                                    .mtu = 1450,
                                                    .policy = ""});
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(n->policy, "allow");
  EXPECT_EQ(s.networks.at("green_1.x"), *n);
}

struct BadNode : Bad {
  Node record;
};

TEST(Validate, NodeRejections) {
  const BadNode cases[] = {
      {{"bad name", StatusCode::kInvalidArgument,
        "node \"h/1\": name must be 1..63 characters of [a-zA-Z0-9._-]"},
       {.name = "h/1", .vtep = "1.2.3.4"}},
      {{"dup name", StatusCode::kAlreadyExists, "node host1 already exists"},
       {.name = "host1", .vtep = "1.2.3.4"}},
      {{"no vtep", StatusCode::kInvalidArgument,
        "node h: --vtep is required (the node's underlay IPv4 address)"},
       {.name = "h"}},
      {{"vtep garbage", StatusCode::kInvalidArgument,
        "node h: --vtep=1.2.3.4.5 is not an IPv4 address"},
       {.name = "h", .vtep = "1.2.3.4.5"}},
      {{"vtep leading zero", StatusCode::kInvalidArgument,
        "node h: --vtep=1.2.3.04 is not an IPv4 address"},
       {.name = "h", .vtep = "1.2.3.04"}},
      {{"vtep sign", StatusCode::kInvalidArgument,
        "node h: --vtep=1.2.3.+4 is not an IPv4 address"},
       {.name = "h", .vtep = "1.2.3.+4"}},
      {{"vtep zero", StatusCode::kInvalidArgument,
        "node h: --vtep=0.0.0.0 is not a unicast address another host can "
        "reach"},
       {.name = "h", .vtep = "0.0.0.0"}},
      {{"vtep multicast", StatusCode::kInvalidArgument,
        "node h: --vtep=239.1.1.1 is not a unicast address another host can "
        "reach"},
       {.name = "h", .vtep = "239.1.1.1"}},
      {{"vtep loopback", StatusCode::kInvalidArgument,
        "node h: --vtep=127.0.0.1 is not a unicast address another host can "
        "reach"},
       {.name = "h", .vtep = "127.0.0.1"}},
      {{"dup vtep", StatusCode::kAlreadyExists,
        "node h: --vtep=192.168.50.2 is already used by node host2"},
       {.name = "h", .vtep = "192.168.50.2"}},
  };
  for (const BadNode& c : cases) {
    SCOPED_TRACE(c.label);
    Snapshot s = Base();
    const Snapshot before = s;
    absl::StatusOr<Node> r = AddNode(s, c.record);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), c.code);
    EXPECT_EQ(r.status().message(), c.message);
    EXPECT_EQ(s, before);
  }
}

struct BadEndpoint : Bad {
  Endpoint record;
};

TEST(Validate, EndpointRejections) {
  auto ep = [](std::string ip, std::string mac = "") {
    return Endpoint{.name = "web2",
                    .network = "blue",
                    .node = "host1",
                    .ip = std::move(ip),
                    .mac = std::move(mac)};
  };
  Endpoint bad_iface = ep("");
  bad_iface.iface = "veth-web1";
  Endpoint long_iface = ep("");
  long_iface.iface = "0123456789abcdef";
  Endpoint slash_iface = ep("");
  slash_iface.iface = "a/b";
  Endpoint bad_label = ep("");
  bad_label.labels = {{"a b", "x"}};
  Endpoint bad_value = ep("");
  bad_value.labels = {{"app", "w,eb"}};
  Endpoint no_network = ep("");
  no_network.network = "";
  Endpoint unknown_network = ep("");
  unknown_network.network = "green";
  Endpoint no_node = ep("");
  no_node.node = "";
  Endpoint unknown_node = ep("");
  unknown_node.node = "host9";
  Endpoint dup_name = ep("");
  dup_name.name = "web1";
  Endpoint bad_name = ep("");
  bad_name.name = "web 2";
  const BadEndpoint cases[] = {
      {{"bad name", StatusCode::kInvalidArgument,
        "endpoint \"web 2\": name must be 1..63 characters of [a-zA-Z0-9._-]"},
       bad_name},
      {{"dup name", StatusCode::kAlreadyExists,
        "endpoint web1 already exists (network blue, ip 10.10.0.5)"},
       dup_name},
      {{"no network", StatusCode::kInvalidArgument,
        "endpoint web2: --network is required"},
       no_network},
      {{"unknown network", StatusCode::kNotFound,
        "endpoint web2: --network=green does not exist"},
       unknown_network},
      {{"no node", StatusCode::kInvalidArgument,
        "endpoint web2: --node is required"},
       no_node},
      {{"unknown node", StatusCode::kNotFound,
        "endpoint web2: --node=host9 does not exist"},
       unknown_node},
      {{"ip garbage", StatusCode::kInvalidArgument,
        "endpoint web2: --ip=10.10.0.x is not an IPv4 address"},
       ep("10.10.0.x")},
      {{"ip outside", StatusCode::kInvalidArgument,
        "endpoint web2: --ip=10.20.0.5 is outside network blue's subnet "
        "10.10.0.0/24"},
       ep("10.20.0.5")},
      {{"ip network", StatusCode::kInvalidArgument,
        "endpoint web2: --ip=10.10.0.0 is network blue's network address"},
       ep("10.10.0.0")},
      {{"ip broadcast", StatusCode::kInvalidArgument,
        "endpoint web2: --ip=10.10.0.255 is network blue's broadcast address"},
       ep("10.10.0.255")},
      {{"ip gateway", StatusCode::kInvalidArgument,
        "endpoint web2: --ip=10.10.0.1 is network blue's gateway"},
       ep("10.10.0.1")},
      {{"dup ip", StatusCode::kAlreadyExists,
        "endpoint web2: --ip=10.10.0.5 is already used by endpoint web1 in "
        "network blue"},
       ep("10.10.0.5")},
      {{"mac garbage", StatusCode::kInvalidArgument,
        "endpoint web2: --mac=02:00:00:00:00 is not a MAC address (want "
        "xx:xx:xx:xx:xx:xx)"},
       ep("", "02:00:00:00:00")},
      {{"mac bad hex", StatusCode::kInvalidArgument,
        "endpoint web2: --mac=02:00:00:00:00:zz is not a MAC address (want "
        "xx:xx:xx:xx:xx:xx)"},
       ep("", "02:00:00:00:00:zz")},
      {{"mac multicast", StatusCode::kInvalidArgument,
        "endpoint web2: --mac=01:00:5e:00:00:01 is a multicast address"},
       ep("", "01:00:5e:00:00:01")},
      {{"mac broadcast", StatusCode::kInvalidArgument,
        "endpoint web2: --mac=ff:ff:ff:ff:ff:ff is a multicast address"},
       ep("", "ff:ff:ff:ff:ff:ff")},
      {{"mac zero", StatusCode::kInvalidArgument,
        "endpoint web2: --mac=00:00:00:00:00:00 is the zero address"},
       ep("", "00:00:00:00:00:00")},
      {{"dup mac (case)", StatusCode::kAlreadyExists,
        "endpoint web2: --mac=02:00:00:00:00:05 is already used by endpoint "
        "web1"},
       ep("", "02:00:00:00:00:05")},
      {{"dup iface on node", StatusCode::kAlreadyExists,
        "endpoint web2: --iface=veth-web1 is already used by endpoint web1 on "
        "node host1"},
       bad_iface},
      {{"long iface", StatusCode::kInvalidArgument,
        "endpoint web2: --iface=0123456789abcdef is not an interface name "
        "(1..15 characters, no '/', ':' or spaces)"},
       long_iface},
      {{"slash iface", StatusCode::kInvalidArgument,
        "endpoint web2: --iface=a/b is not an interface name (1..15 "
        "characters, no '/', ':' or spaces)"},
       slash_iface},
      {{"label key", StatusCode::kInvalidArgument,
        "endpoint web2: label key \"a b\" must be 1..63 characters of "
        "[a-zA-Z0-9._/-]"},
       bad_label},
      {{"label value", StatusCode::kInvalidArgument,
        "endpoint web2: label app=w,eb: value must be 0..63 characters of "
        "[a-zA-Z0-9._-]"},
       bad_value},
  };
  for (const BadEndpoint& c : cases) {
    SCOPED_TRACE(c.label);
    Snapshot s = Base();
    const Snapshot before = s;
    absl::StatusOr<Endpoint> r = AddEndpoint(s, c.record);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), c.code);
    EXPECT_EQ(r.status().message(), c.message);
    EXPECT_EQ(s, before);
  }
}

TEST(Validate, SameIpAndIfaceAllowedElsewhere) {
  Snapshot s = Base();
  // Same iface name on another node, and the same address in another network.
  s.networks["green"] =
      Network{.name = "green", .vni = 300, .subnet = "10.10.0.0/24"};
  absl::StatusOr<Endpoint> e = AddEndpoint(s, Endpoint{.name = "g1",
                                                       .network = "green",
                                                       .node = "host2",
                                                       .ip = "10.10.0.5",
                                                       .iface = "veth-web1"});
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_NE(e->mac, s.endpoints.at("web1").mac);
}

TEST(Allocate, SkipsNetworkBroadcastGatewayAndUsed) {
  Snapshot s = Base();  // blue: gateway .1, web1 .5
  std::vector<std::string> got;
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<Endpoint> e =
        AddEndpoint(s, Endpoint{.name = "e" + std::to_string(i),
                                .network = "blue",
                                .node = "host1"});
    ASSERT_TRUE(e.ok()) << e.status();
    got.push_back(e->ip);
  }
  EXPECT_EQ(got,
            (std::vector<std::string>{"10.10.0.2", "10.10.0.3", "10.10.0.4",
                                      "10.10.0.6", "10.10.0.7"}));
  // A freed address is the lowest again.
  ASSERT_TRUE(RemoveEndpoint(s, "e1").ok());
  EXPECT_EQ(*AllocateIp(s, s.networks.at("blue")), "10.10.0.3");
}

TEST(Allocate, ExhaustsASlash30) {
  Snapshot s = Base();  // red: 10.20.0.0/30, no gateway: .1 and .2 usable
  s.networks["red"].gateway = "10.20.0.2";  // leaves exactly one address
  absl::StatusOr<Endpoint> a =
      AddEndpoint(s, Endpoint{.name = "a", .network = "red", .node = "host1"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->ip, "10.20.0.1");
  const Snapshot before = s;
  absl::StatusOr<Endpoint> b =
      AddEndpoint(s, Endpoint{.name = "b", .network = "red", .node = "host1"});
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(b.status().message(),
            "endpoint b: network red: subnet 10.20.0.0/30 has no free address "
            "left");
  EXPECT_EQ(s, before);

  s.networks["red"].gateway = "";
  absl::StatusOr<Endpoint> c =
      AddEndpoint(s, Endpoint{.name = "c", .network = "red", .node = "host1"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->ip, "10.20.0.2");
  EXPECT_FALSE(AllocateIp(s, s.networks.at("red")).ok());
}

TEST(Allocate, MacIsStableLocalUnicastAndUnique) {
  Snapshot s = Base();
  const Network& blue = s.networks.at("blue");
  std::string m1 = *AllocateMac(s, blue, "10.10.0.9");
  EXPECT_EQ(m1, *AllocateMac(Base(), blue, "10.10.0.9"));  // stable
  Mac mac = *ParseMac(m1);
  EXPECT_EQ(mac[0], 0x02);  // locally administered, unicast
  EXPECT_EQ(m1.substr(5), ":0a:0a:00:09");
  EXPECT_NE(m1, *AllocateMac(s, blue, "10.10.0.10"));
  EXPECT_NE(m1, *AllocateMac(s, s.networks.at("red"), "10.10.0.9"));

  // Taken by someone else: the next one, still unique.
  s.endpoints["x"] = Endpoint{.name = "x",
                              .network = "red",
                              .node = "host1",
                              .ip = "10.20.0.1",
                              .mac = absl::AsciiStrToUpper(m1)};
  std::string m2 = *AllocateMac(s, blue, "10.10.0.9");
  EXPECT_NE(m2, m1);
  EXPECT_EQ(m2.substr(5), ":0a:0a:00:09");

  // Many endpoints: all MACs distinct.
  Snapshot big = Base();
  big.networks["big"] =
      Network{.name = "big", .vni = 9, .subnet = "10.10.0.0/22"};
  std::set<std::string> macs;
  for (int i = 0; i < 300; ++i) {
    absl::StatusOr<Endpoint> e =
        AddEndpoint(big, Endpoint{.name = "b" + std::to_string(i),
                                  .network = i % 2 ? "big" : "blue",
                                  .node = "host2"});
    ASSERT_TRUE(e.ok()) << e.status();
    EXPECT_TRUE(macs.insert(e->mac).second) << e->mac;
  }
}

TEST(Validate, ExplicitMacIsNormalized) {
  Snapshot s = Base();
  absl::StatusOr<Endpoint> e =
      AddEndpoint(s, Endpoint{.name = "w",
                              .network = "blue",
                              .node = "host1",
                              .ip = "10.10.0.200",
                              .mac = "0A:BB:CC:DD:EE:FF"});
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->mac, "0a:bb:cc:dd:ee:ff");
}

TEST(Remove, RefusesWhileInUseAndNamesUsers) {
  Snapshot s = Base();
  const Snapshot before = s;
  absl::Status st = RemoveNetwork(s, "blue");
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(st.message(),
            "network blue still has endpoints (web1): remove them first");
  st = RemoveNode(s, "host1");
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(st.message(),
            "node host1 still has endpoints (web1): remove them first");
  EXPECT_EQ(RemoveNetwork(s, "nope").message(), "network nope does not exist");
  EXPECT_EQ(RemoveNode(s, "nope").code(), StatusCode::kNotFound);
  EXPECT_EQ(RemoveEndpoint(s, "nope").message(),
            "endpoint nope does not exist");
  EXPECT_EQ(s, before);

  ASSERT_TRUE(RemoveEndpoint(s, "web1").ok());
  EXPECT_TRUE(RemoveNetwork(s, "blue").ok());
  EXPECT_TRUE(RemoveNode(s, "host1").ok());
  EXPECT_FALSE(s.networks.contains("blue"));
  EXPECT_FALSE(s.nodes.contains("host1"));
}

struct BadPolicy : Bad {
  Policy record;
};

TEST(Validate, PolicyRejections) {
  auto rule = [](std::string proto = "tcp", std::string port = "5432") {
    return Policy{.name = "web-db",
                  .network = "deny1",
                  .from = "app=web",
                  .to = "app=db",
                  .proto = std::move(proto),
                  .port = std::move(port)};
  };
  Policy bad_name = rule();
  bad_name.name = "web db";
  Policy dup = rule();
  dup.name = "old";
  Policy no_network = rule();
  no_network.network = "";
  Policy unknown_network = rule();
  unknown_network.network = "green";
  Policy allow_network = rule();
  allow_network.network = "blue";
  Policy bad_from = rule();
  bad_from.from = "app";
  Policy bad_to = rule();
  bad_to.to = "app=db,*";
  Policy no_from = rule();
  no_from.from = "";
  const BadPolicy cases[] = {
      {{"bad name", StatusCode::kInvalidArgument,
        "policy \"web db\": name must be 1..63 characters of [a-zA-Z0-9._-]"},
       bad_name},
      {{"duplicate", StatusCode::kAlreadyExists,
        "policy old already exists (network deny1)"},
       dup},
      {{"no network", StatusCode::kInvalidArgument,
        "policy web-db: --network is required"},
       no_network},
      {{"unknown network", StatusCode::kNotFound,
        "policy web-db: --network=green does not exist"},
       unknown_network},
      {{"allow network", StatusCode::kFailedPrecondition,
        "policy web-db: --network=blue has --policy=allow, where everything "
        "is allowed and rules are ignored; rules apply to networks created "
        "with --policy=deny (ovxctl network create NAME --vni=N "
        "--subnet=CIDR --policy=deny)"},
       allow_network},
      {{"from syntax", StatusCode::kInvalidArgument,
        "policy web-db: --from=app is not a selector: \"app\" is not "
        "key=value (want k=v[,k=v...] or *)"},
       bad_from},
      {{"to syntax", StatusCode::kInvalidArgument,
        "policy web-db: --to=app=db,* is not a selector: mixes * with labels "
        "(want k=v[,k=v...] or *)"},
       bad_to},
      {{"from missing", StatusCode::kInvalidArgument,
        "policy web-db: --from is required (a selector such as app=web, or * "
        "for all)"},
       no_from},
      {{"port 0", StatusCode::kInvalidArgument,
        "policy web-db: --port=0 is out of range 1..65535"},
       rule("tcp", "0")},
      {{"port too big", StatusCode::kInvalidArgument,
        "policy web-db: --port=65536 is out of range 1..65535"},
       rule("udp", "65536")},
      {{"range reversed", StatusCode::kInvalidArgument,
        "policy web-db: --port=9000-8000 is an empty range: 9000 > 8000"},
       rule("tcp", "9000-8000")},
      {{"range end too big", StatusCode::kInvalidArgument,
        "policy web-db: --port=1-65536: \"65536\" is out of range "
        "1..65535"},
       rule("tcp", "1-65536")},
      {{"port with icmp", StatusCode::kInvalidArgument,
        "policy web-db: --port=5432 needs --proto=tcp or --proto=udp (icmp "
        "has no ports)"},
       rule("icmp")},
      {{"port with any", StatusCode::kInvalidArgument,
        "policy web-db: --port=5432 needs --proto=tcp or --proto=udp (any "
        "has no ports)"},
       rule("any")},
      {{"bad proto", StatusCode::kInvalidArgument,
        "policy web-db: --proto=sctp must be tcp, udp, icmp or any"},
       rule("sctp", "")},
  };
  for (const BadPolicy& c : cases) {
    SCOPED_TRACE(c.label);
    Snapshot s = Base();
    s.networks["deny1"] = Network{.name = "deny1",
                                  .vni = 300,
                                  .subnet = "10.30.0.0/24",
                                  .policy = "deny"};
    s.policies["old"] =
        Policy{.name = "old", .network = "deny1", .from = "*", .to = "*"};
    // Identities already assigned, so a failed write must change nothing.
    s.endpoints["web1"].identity = 256;
    const Snapshot before = s;
    absl::StatusOr<Policy> r = AddPolicy(s, c.record);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), c.code);
    EXPECT_EQ(r.status().message(), c.message);
    EXPECT_EQ(s, before);
  }
}

TEST(Validate, PolicyAcceptedAndRemoved) {
  Snapshot s = Base();
  s.networks["deny1"] = Network{
      .name = "deny1", .vni = 300, .subnet = "10.30.0.0/24", .policy = "deny"};
  absl::StatusOr<Policy> p =
      AddPolicy(s, {.name = "all", .network = "deny1", .from = "*", .to = "*"});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->proto, "any");
  EXPECT_EQ(s.policies.at("all"), *p);
  // Selectors that match nothing today are fine.
  EXPECT_TRUE(AddPolicy(s, {.name = "db",
                            .network = "deny1",
                            .from = "app=nobody",
                            .to = "app=db,tier=back",
                            .proto = "udp",
                            .port = "1-65535"})
                  .ok());
  EXPECT_EQ(RemoveNetwork(s, "deny1").message(),
            "network deny1 still has policies (all, db): remove them first");
  EXPECT_TRUE(RemovePolicy(s, "all").ok());
  EXPECT_EQ(RemovePolicy(s, "all").code(), StatusCode::kNotFound);
  EXPECT_EQ(RemovePolicy(s, "all").message(), "policy all does not exist");
  EXPECT_TRUE(RemovePolicy(s, "db").ok());
  EXPECT_TRUE(RemoveNetwork(s, "deny1").ok());
}

TEST(Parse, Labels) {
  auto l = ParseLabels("app=web,tier=front,empty=");
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(FormatLabels(*l), "app=web,empty=,tier=front");
  EXPECT_TRUE(ParseLabels("")->empty());
  EXPECT_EQ(ParseLabels("app").status().message(),
            "--labels=app: \"app\" is not key=value");
  EXPECT_EQ(ParseLabels("a=1,a=2").status().message(),
            "--labels=a=1,a=2: label key \"a\" is repeated");
  EXPECT_EQ(ParseLabels("=x").status().message(),
            "--labels==x: label key \"\" must be 1..63 characters of "
            "[a-zA-Z0-9._/-]");
}

TEST(Parse, AddressesAndFormats) {
  EXPECT_EQ(*ParseIpv4("10.1.2.3"), 0x0a010203u);
  EXPECT_EQ(FormatIpv4(0x0a010203u), "10.1.2.3");
  EXPECT_FALSE(ParseIpv4("").ok());
  EXPECT_FALSE(ParseIpv4("1.2.3").ok());
  EXPECT_FALSE(ParseIpv4("1.2.3.256").ok());
  EXPECT_FALSE(ParseIpv4("1..2.3").ok());
  EXPECT_EQ(ParseIpv4("x").status().message(), "\"x\" is not an IPv4 address");
  Ipv4Cidr c = *ParseCidr("10.10.0.0/24");
  EXPECT_EQ(FormatIpv4(c.Broadcast()), "10.10.0.255");
  EXPECT_EQ(c.ToString(), "10.10.0.0/24");
  EXPECT_EQ(FormatMac(*ParseMac("AA:bb:0c:0d:0e:0f")), "aa:bb:0c:0d:0e:0f");
}

}  // namespace
}  // namespace ovx::controller
