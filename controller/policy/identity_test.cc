#include "controller/policy/identity.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "controller/registry/validate.h"
#include "maps/abi/ovx_abi.h"

namespace ovx::controller {
namespace {

using Labels = std::map<std::string, std::string>;

// Two networks, one node, registered the way ovxctl does.
Snapshot TwoNetworks() {
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
  return s;
}

uint32_t Add(Snapshot& s, const std::string& name, const std::string& network,
             Labels labels) {
  absl::StatusOr<Endpoint> e = AddEndpoint(
      s, {.name = name, .network = network, .node = "host1", .labels = labels});
  EXPECT_TRUE(e.ok()) << e.status();
  if (!e.ok()) return 0;
  EXPECT_EQ(s.endpoints.at(name).identity, e->identity);
  return e->identity;
}

TEST(IdentityTest, SameLabelsShareNewLabelsGetTheNextId) {
  Snapshot s = TwoNetworks();
  EXPECT_EQ(Add(s, "web1", "red", {{"app", "web"}}), OVX_IDENTITY_FIRST);
  EXPECT_EQ(Add(s, "web2", "red", {{"app", "web"}}), OVX_IDENTITY_FIRST);
  EXPECT_EQ(Add(s, "db1", "red", {{"app", "db"}}), OVX_IDENTITY_FIRST + 1);
  // Exactly the same labels: a superset is another identity.
  EXPECT_EQ(Add(s, "web3", "red", {{"app", "web"}, {"tier", "front"}}),
            OVX_IDENTITY_FIRST + 2);
  // No labels is an identity too.
  EXPECT_EQ(Add(s, "bare", "red", {}), OVX_IDENTITY_FIRST + 3);
  EXPECT_EQ(Add(s, "bare2", "red", {}), OVX_IDENTITY_FIRST + 3);
}

TEST(IdentityTest, UniqueAcrossNetworks) {
  Snapshot s = TwoNetworks();
  uint32_t red_web = Add(s, "web1", "red", {{"app", "web"}});
  uint32_t blue_web = Add(s, "web2", "blue", {{"app", "web"}});
  EXPECT_NE(red_web, blue_web);
  EXPECT_EQ(blue_web, OVX_IDENTITY_FIRST + 1);
  EXPECT_EQ(Add(s, "web3", "blue", {{"app", "web"}}), blue_web);
}

TEST(IdentityTest, RemovalFreesTheIdOnceNobodyHoldsIt) {
  Snapshot s = TwoNetworks();
  Add(s, "web1", "red", {{"app", "web"}});
  Add(s, "web2", "red", {{"app", "web"}});
  uint32_t db = Add(s, "db1", "red", {{"app", "db"}});
  Add(s, "cache1", "red", {{"app", "cache"}});
  ASSERT_TRUE(RemoveEndpoint(s, "web1").ok());
  // web2 still holds 256: a new label set must not get it.
  EXPECT_EQ(Add(s, "mq1", "red", {{"app", "mq"}}), OVX_IDENTITY_FIRST + 3);
  ASSERT_TRUE(RemoveEndpoint(s, "web2").ok());
  EXPECT_EQ(AllocateIdentity(s, "red", {{"app", "new"}}), OVX_IDENTITY_FIRST);
  EXPECT_EQ(Add(s, "log1", "red", {{"app", "log"}}), OVX_IDENTITY_FIRST);
  // The freed id went to other labels; web comes back with a new one.
  EXPECT_EQ(Add(s, "web4", "red", {{"app", "web"}}), OVX_IDENTITY_FIRST + 4);
  EXPECT_EQ(s.endpoints.at("db1").identity, db);
}

TEST(IdentityTest, CallerCannotChooseAnIdentity) {
  Snapshot s = TwoNetworks();
  Add(s, "web1", "red", {{"app", "web"}});
  absl::StatusOr<Endpoint> e = AddEndpoint(s, {.name = "db1",
                                               .network = "red",
                                               .node = "host1",
                                               .labels = {{"app", "db"}},
                                               .identity = 256});
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->identity, OVX_IDENTITY_FIRST + 1);
}

TEST(IdentityTest, OldRecordsWithoutIdentityGetOneOnTheNextWrite) {
  Snapshot s = TwoNetworks();
  Add(s, "web1", "red", {{"app", "web"}});  // 256
  // As read from a document written before identities: 0.
  for (auto [name, labels] : {std::pair("a-old-web", Labels{{"app", "web"}}),
                              std::pair("b-old-db", Labels{{"app", "db"}}),
                              std::pair("c-old-db", Labels{{"app", "db"}})}) {
    s.endpoints[name] = Endpoint{.name = name,
                                 .network = "red",
                                 .node = "host1",
                                 .ip = "10.20.0.99",
                                 .labels = labels};
  }
  s.endpoints["d-old-blue"] = Endpoint{
      .name = "d-old-blue", .network = "blue", .labels = {{"app", "web"}}};
  Snapshot copy = s;
  EXPECT_EQ(AssignIdentities(copy), 4);
  EXPECT_EQ(copy.endpoints.at("a-old-web").identity, OVX_IDENTITY_FIRST);
  EXPECT_EQ(copy.endpoints.at("b-old-db").identity, OVX_IDENTITY_FIRST + 1);
  EXPECT_EQ(copy.endpoints.at("c-old-db").identity, OVX_IDENTITY_FIRST + 1);
  EXPECT_EQ(copy.endpoints.at("d-old-blue").identity, OVX_IDENTITY_FIRST + 2);
  EXPECT_EQ(AssignIdentities(copy), 0);
  // Any write does it, e.g. adding a node.
  ASSERT_TRUE(AddNode(s, {.name = "host2", .vtep = "192.168.50.2"}).ok());
  EXPECT_EQ(s.endpoints, copy.endpoints);
}

TEST(IdentityTest, EachWriteMigratesABoundedNumberOfOldRecords) {
  Snapshot s = TwoNetworks();
  for (int i = 0; i < 20; ++i) {
    std::string name = absl::StrCat("old", i < 10 ? "0" : "", i);
    s.endpoints[name] =
        Endpoint{.name = name, .network = "red", .labels = {{"app", "web"}}};
  }
  auto without = [&] {
    int n = 0;
    for (const auto& [name, e] : s.endpoints) n += e.identity == 0;
    return n;
  };
  // The new endpoint has the same labels: the old ones will reuse its id.
  EXPECT_EQ(Add(s, "web1", "red", {{"app", "web"}}), OVX_IDENTITY_FIRST);
  EXPECT_EQ(without(), 20 - static_cast<int>(kIdentityMigrationsPerWrite));
  ASSERT_TRUE(AddNode(s, {.name = "host2", .vtep = "192.168.50.2"}).ok());
  EXPECT_EQ(without(), 0);
  for (const auto& [name, e] : s.endpoints) {
    EXPECT_EQ(e.identity, OVX_IDENTITY_FIRST) << name;
  }
}

TEST(IdentityTest, OwnerNamesNetworkAndLabels) {
  EXPECT_EQ(IdentityOwner("red", {{"tier", "front"}, {"app", "web"}}),
            "red/app=web,tier=front");
  EXPECT_EQ(IdentityOwner("red", {}), "red/");
}

}  // namespace
}  // namespace ovx::controller
