#include "controller/registry/etcd/etcd_layout.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "controller/registry/record_json.h"

namespace ovx::controller::etcd {
namespace {

using nlohmann::json;

Network Blue() {
  return {.name = "blue", .vni = 100, .subnet = "10.10.0.0/24"};
}
Node Host1() { return {.name = "host1", .vtep = "192.168.50.1"}; }
Endpoint Web1() {
  return {.name = "web1",
          .network = "blue",
          .node = "host1",
          .ip = "10.10.0.5",
          .mac = "02:00:00:00:00:05"};
}

// blue, host1 and web1 in it.
Snapshot WithWeb1() {
  Snapshot s;
  s.networks["blue"] = Blue();
  s.nodes["host1"] = Host1();
  s.endpoints["web1"] = Web1();
  return s;
}

KeyValue Kv(const std::string& key, const std::string& value, int64_t rev) {
  return {
      .key = key, .value = value, .create_revision = rev, .mod_revision = rev};
}

// The range etcd would return for `snap` with its index keys, every key at
// revision 7.
RangeResult RangeOf(const Snapshot& snap) {
  RangeResult r;
  r.revision = 7;
  for (const auto& [n, v] : snap.networks)
    r.kvs.push_back(
        Kv(RecordKey(RecordKind::kNetwork, n), ToJson(v).dump(), 7));
  for (const auto& [n, v] : snap.nodes)
    r.kvs.push_back(Kv(RecordKey(RecordKind::kNode, n), ToJson(v).dump(), 7));
  for (const auto& [n, v] : snap.endpoints)
    r.kvs.push_back(
        Kv(RecordKey(RecordKind::kEndpoint, n), ToJson(v).dump(), 7));
  absl::StatusOr<std::map<std::string, std::string>> index =
      IndexKeys(snap, {});
  EXPECT_TRUE(index.ok()) << index.status();
  if (index.ok()) {
    for (const auto& [key, owner] : *index) r.kvs.push_back(Kv(key, owner, 7));
  }
  return r;
}

// The txn Update() builds: `range` as read, the change's index keys.
absl::StatusOr<std::optional<json>> UpdateTxn(const RangeResult& range,
                                              const Snapshot& before,
                                              const Snapshot& after) {
  return BuildUpdateTxn(range, before, after, IndexKeysOfChange(before, after));
}

// Decoded txn: compares as "TARGET key value", ops as "put key" / "del key".
std::vector<std::string> Compares(const json& txn) {
  std::vector<std::string> out;
  for (const json& c : txn["compare"]) {
    std::string target = c["target"];
    std::string value =
        target == "MOD" ? c["mod_revision"] : c["create_revision"];
    std::string key = *Unbase64(c["key"].get<std::string>());
    if (c.contains("range_end")) key += "*";
    out.push_back(target + " " + c["result"].get<std::string>() + " " + key +
                  " " + value);
  }
  return out;
}
std::vector<std::string> Ops(const json& txn) {
  std::vector<std::string> out;
  for (const json& op : txn["success"]) {
    if (op.contains("request_put")) {
      out.push_back("put " +
                    *Unbase64(op["request_put"]["key"].get<std::string>()));
    } else {
      out.push_back(
          "del " +
          *Unbase64(op["request_delete_range"]["key"].get<std::string>()));
    }
  }
  return out;
}

TEST(EtcdLayoutTest, RecordKeysRoundTrip) {
  EXPECT_EQ(RecordKey(RecordKind::kEndpoint, "web1"), "/ovx/endpoints/web1");
  EXPECT_EQ(RecordKey(RecordKind::kPolicy, "p"), "/ovx/policies/p");
  auto parsed = ParseRecordKey("/ovx/networks/blue");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->first, RecordKind::kNetwork);
  EXPECT_EQ(parsed->second, "blue");
  EXPECT_FALSE(ParseRecordKey("/ovx/index/ip/blue/10.10.0.5").has_value());
  EXPECT_FALSE(ParseRecordKey("/ovx/networks/").has_value());
  EXPECT_FALSE(ParseRecordKey("/other/networks/blue").has_value());
}

TEST(EtcdLayoutTest, PrefixEnd) {
  EXPECT_EQ(PrefixEnd("/ovx/"), "/ovx0");
  EXPECT_EQ(PrefixEnd(std::string("a\xff", 2)), "b");
}

TEST(EtcdLayoutTest, DecodeSkipsBadRecordsAndNamesTheKey) {
  Snapshot snap;
  snap.networks["blue"] = Blue();
  RangeResult r = RangeOf(snap);
  r.kvs.push_back(Kv("/ovx/endpoints/bad", "not json", 8));
  r.kvs.push_back(
      Kv("/ovx/nodes/future", R"({"schema":99,"name":"future"})", 8));
  r.kvs.push_back(
      Kv("/ovx/nodes/other", ToJson(Host1()).dump(), 8));  // wrong name
  std::vector<std::string> problems;
  Snapshot got = DecodeSnapshot(r, &problems);
  EXPECT_EQ(got.revision, 7);
  EXPECT_EQ(got.networks, snap.networks);
  EXPECT_TRUE(got.endpoints.empty());
  EXPECT_TRUE(got.nodes.empty());
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_NE(problems[0].find("/ovx/endpoints/bad"), std::string::npos)
      << problems[0];
  EXPECT_NE(problems[1].find("/ovx/nodes/future"), std::string::npos)
      << problems[1];
  EXPECT_NE(problems[1].find("newer"), std::string::npos) << problems[1];
  EXPECT_NE(problems[2].find("/ovx/nodes/other"), std::string::npos)
      << problems[2];
}

TEST(EtcdLayoutTest, NewEndpointCreatesIndexKeysGuardedByCreateRevision) {
  Snapshot before;
  before.networks["blue"] = Blue();
  before.nodes["host1"] = Host1();
  Snapshot after = before;
  after.endpoints["web1"] = Web1();
  auto txn = UpdateTxn(RangeOf(before), before, after);
  ASSERT_TRUE(txn.ok()) << txn.status();
  ASSERT_TRUE(txn->has_value());
  EXPECT_EQ(Ops(**txn), (std::vector<std::string>{
                            "put /ovx/endpoints/web1",
                            "put /ovx/index/ip/blue/10.10.0.5",
                            "put /ovx/index/mac/02:00:00:00:00:05",
                        }));
  EXPECT_EQ(Compares(**txn),
            (std::vector<std::string>{
                "CREATE EQUAL /ovx/endpoints/web1 0",
                "MOD EQUAL /ovx/networks/blue 7",
                "MOD EQUAL /ovx/nodes/host1 7",
                "CREATE EQUAL /ovx/index/ip/blue/10.10.0.5 0",
                "CREATE EQUAL /ovx/index/mac/02:00:00:00:00:05 0",
            }));
}

TEST(EtcdLayoutTest, DeletingANetworkGuardsAgainstNewMembers) {
  Snapshot before;
  before.networks["blue"] = Blue();
  Snapshot after;
  auto txn = UpdateTxn(RangeOf(before), before, after);
  ASSERT_TRUE(txn.ok()) << txn.status();
  EXPECT_EQ(Ops(**txn), (std::vector<std::string>{"del /ovx/networks/blue",
                                                  "del /ovx/index/vni/100"}));
  EXPECT_EQ(Compares(**txn), (std::vector<std::string>{
                                 "MOD EQUAL /ovx/networks/blue 7",
                                 "MOD LESS /ovx/endpoints/* 8",
                                 "MOD LESS /ovx/policies/* 8",
                                 "MOD EQUAL /ovx/index/vni/100 7",
                             }));
}

TEST(EtcdLayoutTest, NoChangeNoTxn) {
  Snapshot snap;
  snap.networks["blue"] = Blue();
  auto txn = UpdateTxn(RangeOf(snap), snap, snap);
  ASSERT_TRUE(txn.ok());
  EXPECT_FALSE(txn->has_value());
}

TEST(EtcdLayoutTest, ChangedRecordClaimingATakenIpIsRefused) {
  const Snapshot before = WithWeb1();
  Snapshot after = before;
  Endpoint web2 = Web1();
  web2.name = "web2";
  web2.mac = "02:00:00:00:00:06";
  after.endpoints["web2"] = web2;
  auto txn = UpdateTxn(RangeOf(before), before, after);
  EXPECT_EQ(txn.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(txn.status().message().find("IP 10.10.0.5 in network blue"),
            std::string::npos)
      << txn.status();
}

TEST(EtcdLayoutTest, IndexKeysOfChangeAreTheChangedRecordsOldAndNew) {
  const Snapshot before = WithWeb1();
  Snapshot after = before;
  after.endpoints["web1"].ip = "10.10.0.6";
  EXPECT_EQ(IndexKeysOfChange(before, after),
            (std::set<std::string>{"/ovx/index/ip/blue/10.10.0.5",
                                   "/ovx/index/ip/blue/10.10.0.6",
                                   "/ovx/index/mac/02:00:00:00:00:05"}));
  // The untouched network's and node's keys are missing from etcd here:
  // not this change's to write.
  RangeResult r = RangeOf(before);
  std::erase_if(r.kvs, [](const KeyValue& kv) {
    return kv.key == "/ovx/index/vni/100" ||
           kv.key == "/ovx/index/vtep/192.168.50.1";
  });
  auto txn = UpdateTxn(r, before, after);
  ASSERT_TRUE(txn.ok()) << txn.status();
  EXPECT_EQ(Ops(**txn), (std::vector<std::string>{
                            "put /ovx/endpoints/web1",
                            "put /ovx/index/ip/blue/10.10.0.6",
                            "del /ovx/index/ip/blue/10.10.0.5",
                        }));
}

TEST(EtcdLayoutTest, StaleIndexKeyIsTakenOverByTheRecordThatClaimsIt) {
  Snapshot snap;
  snap.networks["blue"] = Blue();
  snap.nodes["host1"] = Host1();
  RangeResult r = RangeOf(snap);
  // Left by a record deleted by hand.
  r.kvs.push_back(Kv("/ovx/index/ip/blue/10.10.0.5", "/ovx/endpoints/gone", 5));

  Snapshot other = snap;
  other.networks["blue"].mtu = 1400;
  auto txn = UpdateTxn(r, snap, other);
  ASSERT_TRUE(txn.ok()) << txn.status();
  EXPECT_EQ(Ops(**txn), (std::vector<std::string>{"put /ovx/networks/blue"}));

  Snapshot claims = snap;
  claims.endpoints["web1"] = Web1();
  txn = UpdateTxn(r, snap, claims);
  ASSERT_TRUE(txn.ok()) << txn.status();
  EXPECT_EQ(Ops(**txn), (std::vector<std::string>{
                            "put /ovx/endpoints/web1",
                            "put /ovx/index/ip/blue/10.10.0.5",
                            "put /ovx/index/mac/02:00:00:00:00:05",
                        }));
  std::vector<std::string> compares = Compares(**txn);
  EXPECT_NE(std::find(compares.begin(), compares.end(),
                      "MOD EQUAL /ovx/index/ip/blue/10.10.0.5 5"),
            compares.end());
}

}  // namespace
}  // namespace ovx::controller::etcd

namespace ovx::controller::etcd {
namespace {

TEST(EtcdLayoutTest, IdentityIndexKeyIsCreatedOnceAndGuardedOnReuse) {
  Snapshot before;
  before.networks["blue"] = Blue();
  before.nodes["host1"] = Host1();
  Snapshot after = before;
  Endpoint web1 = Web1();
  web1.labels = {{"app", "web"}};
  web1.identity = 256;
  after.endpoints["web1"] = web1;
  auto txn = UpdateTxn(RangeOf(before), before, after);
  ASSERT_TRUE(txn.ok()) << txn.status();
  EXPECT_EQ(Ops(**txn), (std::vector<std::string>{
                            "put /ovx/endpoints/web1",
                            "put /ovx/index/identity/256",
                            "put /ovx/index/ip/blue/10.10.0.5",
                            "put /ovx/index/mac/02:00:00:00:00:05",
                        }));
  auto index = IndexKeys(after, {});
  ASSERT_TRUE(index.ok());
  EXPECT_EQ(index->at("/ovx/index/identity/256"), "blue/app=web");
  std::vector<std::string> compares = Compares(**txn);
  EXPECT_NE(std::find(compares.begin(), compares.end(),
                      "CREATE EQUAL /ovx/index/identity/256 0"),
            compares.end());

  // A second endpoint with the same labels reuses 256: nothing to put for
  // the key, but the txn fails if it changed meanwhile.
  Snapshot reuse = after;
  Endpoint web2 = web1;
  web2.name = "web2";
  web2.ip = "10.10.0.6";
  web2.mac = "02:00:00:00:00:06";
  reuse.endpoints["web2"] = web2;
  txn = UpdateTxn(RangeOf(after), after, reuse);
  ASSERT_TRUE(txn.ok()) << txn.status();
  EXPECT_EQ(Ops(**txn), (std::vector<std::string>{
                            "put /ovx/endpoints/web2",
                            "put /ovx/index/ip/blue/10.10.0.6",
                            "put /ovx/index/mac/02:00:00:00:00:06",
                        }));
  compares = Compares(**txn);
  EXPECT_NE(std::find(compares.begin(), compares.end(),
                      "MOD EQUAL /ovx/index/identity/256 7"),
            compares.end());

  // The last holder leaves: the key goes.
  txn = UpdateTxn(RangeOf(after), after, before);
  ASSERT_TRUE(txn.ok()) << txn.status();
  EXPECT_EQ(Ops(**txn), (std::vector<std::string>{
                            "del /ovx/endpoints/web1",
                            "del /ovx/index/identity/256",
                            "del /ovx/index/ip/blue/10.10.0.5",
                            "del /ovx/index/mac/02:00:00:00:00:05",
                        }));
}

TEST(EtcdLayoutTest, ChangedEndpointClaimingAnotherLabelSetsIdentityIsRefused) {
  Snapshot before;
  before.networks["blue"] = Blue();
  before.nodes["host1"] = Host1();
  Endpoint web1 = Web1();
  web1.labels = {{"app", "web"}};
  web1.identity = 256;
  before.endpoints["web1"] = web1;
  Snapshot after = before;
  Endpoint db1 = Web1();
  db1.name = "db1";
  db1.ip = "10.10.0.7";
  db1.mac = "02:00:00:00:00:07";
  db1.labels = {{"app", "db"}};
  db1.identity = 256;
  after.endpoints["db1"] = db1;
  auto txn = UpdateTxn(RangeOf(before), before, after);
  EXPECT_EQ(txn.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(txn.status().message(),
            "identity 256 is used by both blue/app=db and blue/app=web");
}

}  // namespace
}  // namespace ovx::controller::etcd
