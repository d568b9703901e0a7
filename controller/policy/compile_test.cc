#include "controller/policy/compile.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>

#include "controller/policy/rule.h"
#include "controller/registry/validate.h"

namespace ovx::controller {
namespace {

using Labels = std::map<std::string, std::string>;

// --- port ranges
// --------------------------------------------------------------

// Checks that `prefixes` cover exactly [first, last], each port once, and
// that no two are mergeable siblings (so the set is the minimal one).
void ExpectExactCover(uint32_t first, uint32_t last) {
  SCOPED_TRACE(testing::Message() << "range " << first << "-" << last);
  std::vector<PortPrefix> prefixes = PortRangePrefixes(first, last);
  ASSERT_FALSE(prefixes.empty());
  EXPECT_LE(prefixes.size(), 30u);
  // Plain loops, one assertion each: this runs for thousands of ranges.
  static uint8_t covered[65536];
  std::memset(covered, 0, sizeof(covered));
  size_t total = 0, twice = 0, unaligned = 0;
  for (const PortPrefix& p : prefixes) {
    ASSERT_LE(p.bits, 16);
    const uint32_t size = 1u << (16 - p.bits);
    unaligned += p.port % size != 0;
    for (uint32_t port = p.port; port < p.port + size; ++port) {
      twice += covered[port];
      covered[port] = 1;
    }
    total += size;
  }
  EXPECT_EQ(unaligned, 0u);
  EXPECT_EQ(twice, 0u) << "ports covered twice";
  EXPECT_EQ(total, last - first + 1);
  size_t inside = 0;
  for (uint32_t port = first; port <= last; ++port) inside += covered[port];
  EXPECT_EQ(inside, last - first + 1) << "ports of the range not covered";
  for (size_t i = 0; i < prefixes.size(); ++i) {
    for (size_t j = i + 1; j < prefixes.size(); ++j) {
      const PortPrefix& a = prefixes[i];
      const PortPrefix& b = prefixes[j];
      if (a.bits != b.bits || a.bits == 0) continue;
      const uint32_t size = 1u << (16 - a.bits);
      EXPECT_FALSE((a.port ^ b.port) == size)
          << "siblings " << a.port << " and " << b.port << " /" << int(a.bits)
          << " should be one prefix";
    }
  }
}

TEST(PortRangeTest, EdgeCases) {
  EXPECT_EQ(PortRangePrefixes(5432, 5432),
            (std::vector<PortPrefix>{{5432, 16}}));
  EXPECT_EQ(PortRangePrefixes(80, 81), (std::vector<PortPrefix>{{80, 15}}));
  EXPECT_EQ(PortRangePrefixes(0x8000, 0xffff),
            (std::vector<PortPrefix>{{0x8000, 1}}));
  EXPECT_EQ(PortRangePrefixes(0x7fff, 0x8000),
            (std::vector<PortPrefix>{{0x7fff, 16}, {0x8000, 16}}));
  EXPECT_EQ(PortRangePrefixes(65535, 65535),
            (std::vector<PortPrefix>{{65535, 16}}));
  // 1..65535: 1, 2-3, 4-7, ..., 32768-65535.
  std::vector<PortPrefix> all = PortRangePrefixes(1, 65535);
  ASSERT_EQ(all.size(), 16u);
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(all[i].port, 1u << i);
    EXPECT_EQ(all[i].bits, 16 - i);
  }
  // The worst case: 2 x 15.
  EXPECT_EQ(PortRangePrefixes(1, 65534).size(), 30u);
  for (auto [first, last] :
       {std::pair(1, 65535), std::pair(1, 65534), std::pair(0x7fff, 0x8000),
        std::pair(0x7fff, 0xffff), std::pair(0x8000, 0xffff),
        std::pair(0x8001, 0xfffe), std::pair(1, 0x7fff), std::pair(1, 0x8000),
        std::pair(5432, 5432), std::pair(1024, 65535), std::pair(1, 1023),
        std::pair(8000, 8999), std::pair(65535, 65535), std::pair(1, 1)}) {
    ExpectExactCover(first, last);
  }
}

TEST(PortRangeTest, ExactCoverForManyRanges) {
  std::mt19937 rng(12345);
  std::uniform_int_distribution<uint32_t> port(1, 65535);
  for (int i = 0; i < 1000; ++i) {
    uint32_t a = port(rng), b = port(rng);
    if (i % 3 == 0) b = std::min<uint32_t>(65535, a + (b % 300));  // short
    ExpectExactCover(std::min(a, b), std::max(a, b));
    if (HasFatalFailure()) return;
  }
  // Every range within [1, 40] and every range touching 65535 from a
  // power-of-two neighbourhood.
  for (uint32_t a = 1; a <= 40; ++a) {
    for (uint32_t b = a; b <= 40; ++b) ExpectExactCover(a, b);
  }
  for (int bit = 1; bit < 16; ++bit) {
    for (int d : {-1, 0, 1}) {
      uint32_t a = (1u << bit) + d;
      ExpectExactCover(a, 65535);
      ExpectExactCover(1, a);
    }
  }
}

// --- compilation ------------------------------------------------------------

// red (deny, vni 200): web1, web2 app=web (256), db1 app=db (257),
// front1 app=web,tier=front (258); blue (allow, vni 100): web9 app=web (259).
Snapshot Cluster() {
  Snapshot s;
  EXPECT_TRUE(AddNetwork(s, {.name = "red",
                             .vni = 200,
                             .subnet = "10.20.0.0/24",
                             .policy = "deny"})
                  .ok());
  EXPECT_TRUE(
      AddNetwork(s, {.name = "blue", .vni = 100, .subnet = "10.10.0.0/24"})
          .ok());
  EXPECT_TRUE(AddNode(s, {.name = "host1", .vtep = "192.168.50.1"}).ok());
  auto ep = [&](const char* name, const char* net, Labels labels) {
    absl::StatusOr<Endpoint> e = AddEndpoint(
        s, {.name = name, .network = net, .node = "host1", .labels = labels});
    EXPECT_TRUE(e.ok()) << e.status();
  };
  ep("web1", "red", {{"app", "web"}});
  ep("web2", "red", {{"app", "web"}});
  ep("db1", "red", {{"app", "db"}});
  ep("front1", "red", {{"app", "web"}, {"tier", "front"}});
  ep("web9", "blue", {{"app", "web"}});
  return s;
}

void AddRule(Snapshot& s, const std::string& name, const std::string& from,
             const std::string& to, const std::string& proto = "any",
             const std::string& port = "", const std::string& net = "red") {
  absl::StatusOr<Policy> p = AddPolicy(s, {.name = name,
                                           .network = net,
                                           .from = from,
                                           .to = to,
                                           .proto = proto,
                                           .port = port});
  ASSERT_TRUE(p.ok()) << p.status();
}

ovx_policy Allow(const char* rule) {
  ovx_policy v;
  std::memset(&v, 0, sizeof(v));
  v.flags = OVX_POLICY_F_ALLOW;
  v.rule_id = RuleId(rule);
  return v;
}

std::string Describe(const ovx_policy_key& k) {
  return absl::StrCat("/", k.prefixlen, " vni=", k.vni, " ", k.src_identity,
                      "->", k.dst_identity, " proto=", k.proto,
                      " port=", ntohs(k.port));
}

void ExpectEntries(const CompiledPolicy& got,
                   const std::vector<PolicyEntry>& want) {
  std::string got_text, want_text;
  for (const PolicyEntry& e : got.entries)
    absl::StrAppend(&got_text, Describe(e.key), " rule=", e.value.rule_id,
                    "\n");
  for (const PolicyEntry& e : want)
    absl::StrAppend(&want_text, Describe(e.key), " rule=", e.value.rule_id,
                    "\n");
  ASSERT_EQ(got.entries.size(), want.size()) << "got:\n"
                                             << got_text << "want:\n"
                                             << want_text;
  // Sorted by key bytes on both sides, compared byte for byte.
  std::vector<PolicyEntry> sorted = want;
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return std::memcmp(&a.key, &b.key, sizeof(a.key)) < 0;
  });
  for (size_t i = 0; i < sorted.size(); ++i) {
    EXPECT_EQ(std::memcmp(&got.entries[i].key, &sorted[i].key,
                          sizeof(ovx_policy_key)),
              0)
        << "got:\n"
        << got_text << "want:\n"
        << want_text;
    EXPECT_EQ(std::memcmp(&got.entries[i].value, &sorted[i].value,
                          sizeof(ovx_policy)),
              0);
  }
}

TEST(CompileTest, PortRuleIsOneFullPrefixEntry) {
  Snapshot s = Cluster();
  AddRule(s, "web-db", "app=web", "app=db", "tcp", "5432");
  CompiledPolicy c = CompilePolicies(s, {"red", "blue"});
  EXPECT_TRUE(c.skipped.empty());
  ASSERT_EQ(c.entries.size(), 2u);  // app=web selects 256 and 258
  // Built by hand, byte by byte: zero padding, port in network order.
  ovx_policy_key want;
  std::memset(&want, 0, sizeof(want));
  want.prefixlen = OVX_POLICY_PREFIX_FULL;
  want.vni = 200;
  want.src_identity = 256;
  want.dst_identity = 257;
  want.proto = IPPROTO_TCP;
  want.port = htons(5432);
  EXPECT_EQ(std::memcmp(&c.entries[0].key, &want, sizeof(want)), 0);
  const uint8_t* bytes = reinterpret_cast<const uint8_t*>(&c.entries[0].key);
  EXPECT_EQ(bytes[17], 0);     // pad
  EXPECT_EQ(bytes[18], 0x15);  // 5432 = 0x1538, big endian
  EXPECT_EQ(bytes[19], 0x38);
  EXPECT_EQ(c.entries[0].value.flags, OVX_POLICY_F_ALLOW);
  EXPECT_EQ(c.entries[0].value.rule_id, RuleId("web-db"));
  EXPECT_EQ(c.entries[1].key.src_identity, 258u);
}

TEST(CompileTest, ProtocolAndPortShapes) {
  Snapshot s = Cluster();
  AddRule(s, "a-any", "app=db", "app=db");
  AddRule(s, "b-tcp", "app=db", "tier=front", "tcp");
  AddRule(s, "c-icmp", "tier=front", "app=db", "icmp");
  AddRule(s, "d-range", "app=db", "app=db", "udp", "80-81");
  AddRule(s, "e-star", "*", "app=db", "tcp", "443");
  AddRule(s, "f-star2", "app=db", "*");
  CompiledPolicy c = CompilePolicies(s, {"red"});
  ExpectEntries(
      c, {{PolicyKey(200, 257, 257, 0, 0, 0), Allow("a-any")},
          {PolicyKey(200, 257, 258, IPPROTO_TCP, 0, 0), Allow("b-tcp")},
          {PolicyKey(200, 258, 257, IPPROTO_ICMP, 0, 0), Allow("c-icmp")},
          {PolicyKey(200, 257, 257, IPPROTO_UDP, 80, 15), Allow("d-range")},
          {PolicyKey(200, OVX_IDENTITY_ANY, 257, IPPROTO_TCP, 443, 16),
           Allow("e-star")},
          {PolicyKey(200, 257, OVX_IDENTITY_ANY, 0, 0, 0), Allow("f-star2")}});
  const ovx_policy_key any = PolicyKey(200, 257, 257, 0, 0, 0);
  EXPECT_EQ(any.prefixlen, OVX_POLICY_PREFIX_ANY_PROTO);
  EXPECT_EQ(any.proto, 0);
  EXPECT_EQ(any.port, 0);
  const ovx_policy_key tcp = PolicyKey(200, 257, 258, IPPROTO_TCP, 0, 0);
  EXPECT_EQ(tcp.prefixlen, OVX_POLICY_PREFIX_ANY_PORT);
  EXPECT_EQ(tcp.port, 0);
  // The bits after the prefix are cleared.
  const ovx_policy_key range = PolicyKey(200, 1, 2, IPPROTO_UDP, 81, 15);
  EXPECT_EQ(range.prefixlen, 127u);
  EXPECT_EQ(range.port, htons(80));
}

TEST(CompileTest, OnlyDenyNetworksPresentHere) {
  Snapshot s = Cluster();
  AddRule(s, "web-db", "app=web", "app=db", "tcp", "5432");
  EXPECT_TRUE(CompilePolicies(s, {}).entries.empty());
  EXPECT_TRUE(CompilePolicies(s, {"blue"}).entries.empty());
  // A rule recorded on an allow network (validation refuses it; a document
  // edited by hand might hold one) compiles to nothing.
  s.policies["hand"] = Policy{.name = "hand",
                              .network = "blue",
                              .from = "*",
                              .to = "*",
                              .proto = "any"};
  EXPECT_EQ(CompilePolicies(s, {"red", "blue"}).entries.size(), 2u);
}

TEST(CompileTest, SelectorsFollowEndpoints) {
  Snapshot s = Cluster();
  AddRule(s, "mq", "app=web", "app=mq", "tcp", "5672");
  EXPECT_TRUE(CompilePolicies(s, {"red"}).entries.empty());  // no mq yet
  ASSERT_TRUE(AddEndpoint(s, {.name = "mq1",
                              .network = "red",
                              .node = "host1",
                              .labels = {{"app", "mq"}}})
                  .ok());
  CompiledPolicy c = CompilePolicies(s, {"red"});
  ASSERT_EQ(c.entries.size(), 2u);
  EXPECT_EQ(c.entries[0].key.dst_identity, 260u);
  // Endpoints of another network with matching labels are not selected, and
  // endpoints still without identity (0) are left out.
  s.endpoints["old"] =
      Endpoint{.name = "old", .network = "red", .labels = {{"app", "mq"}}};
  EXPECT_EQ(CompilePolicies(s, {"red"}).entries.size(), 2u);
  ASSERT_TRUE(RemoveEndpoint(s, "mq1").ok());  // also gives "old" an id
  c = CompilePolicies(s, {"red"});
  ASSERT_EQ(c.entries.size(), 2u);
  EXPECT_EQ(c.entries[0].key.dst_identity, s.endpoints.at("old").identity);
}

TEST(CompileTest, DuplicateKeysKeepTheFirstRuleByName) {
  Snapshot s = Cluster();
  AddRule(s, "b-second", "app=db", "app=db", "tcp", "80");
  AddRule(s, "a-first", "app=db", "app=db", "tcp", "80");
  CompiledPolicy c = CompilePolicies(s, {"red"});
  ExpectEntries(
      c, {{PolicyKey(200, 257, 257, IPPROTO_TCP, 80, 16), Allow("a-first")}});
}

TEST(CompileTest, SizeOfAThousandRulesWithPortRanges) {
  // 100 services a0..a99 in one deny network, 2 endpoints each (one
  // identity per service); 1,000 rules from service i to service (i+k)%100,
  // tcp, each on a random port range.
  Snapshot s;
  ASSERT_TRUE(AddNetwork(s, {.name = "red",
                             .vni = 200,
                             .subnet = "10.20.0.0/16",
                             .policy = "deny"})
                  .ok());
  ASSERT_TRUE(AddNode(s, {.name = "host1", .vtep = "192.168.50.1"}).ok());
  for (int i = 0; i < 100; ++i) {
    for (int r = 0; r < 2; ++r) {
      ASSERT_TRUE(AddEndpoint(s, {.name = absl::StrCat("a", i, "-", r),
                                  .network = "red",
                                  .node = "host1",
                                  .labels = {{"app", absl::StrCat("a", i)}}})
                      .ok());
    }
  }
  std::mt19937 rng(7);
  std::uniform_int_distribution<uint32_t> port(1, 65535);
  size_t ports = 0;
  for (int i = 0; i < 1000; ++i) {
    uint32_t a = port(rng), b = port(rng);
    if (a > b) std::swap(a, b);
    Policy p{.name = absl::StrCat("r", i),
             .network = "red",
             .from = absl::StrCat("app=a", i % 100),
             .to = absl::StrCat("app=a", (i % 100 + 1 + i / 100) % 100),
             .proto = "tcp",
             .port = absl::StrCat(a, "-", b)};
    ports += PortRangePrefixes(a, b).size();
    ASSERT_TRUE(AddPolicy(s, p).ok());
  }
  const auto start = std::chrono::steady_clock::now();
  CompiledPolicy c = CompilePolicies(s, {"red"});
  const double ms = std::chrono::duration<double, std::milli>(
                        std::chrono::steady_clock::now() - start)
                        .count();
  EXPECT_TRUE(c.skipped.empty());
  EXPECT_EQ(c.entries.size(), ports);  // one (src, dst) pair per rule
  EXPECT_LE(c.entries.size(), static_cast<size_t>(OVX_MAX_POLICY));
  std::printf(
      "policy compile: 1000 tcp rules with random port ranges -> %zu entries "
      "(%.1f per rule, %zu bytes of keys+values; map max %d), compiled in "
      "%.1f ms\n",
      c.entries.size(), c.entries.size() / 1000.0,
      c.entries.size() * (sizeof(ovx_policy_key) + sizeof(ovx_policy)),
      OVX_MAX_POLICY, ms);
  testing::Test::RecordProperty("policy_entries_1000_rules",
                                static_cast<int>(c.entries.size()));
}

}  // namespace
}  // namespace ovx::controller
