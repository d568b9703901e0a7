#include "controller/reconciler/reconciler.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "absl/strings/str_format.h"
#include "controller/policy/rule.h"
#include "controller/reconciler/desired_state.h"
#include "controller/reconciler/test_util.h"
#include "maps/dataplane_maps.h"

namespace ovx::controller {
namespace {

using testing::AddEndpoint;
using testing::AddNetwork;
using testing::AddNode;
using testing::FakeMapWriter;
using testing::FakeResolver;

in_addr Ip(const char* text) { return *maps::ParseIpv4(text); }

Snapshot Cluster() {
  Snapshot s;
  s.revision = 3;
  AddNetwork(s, "blue", 100);
  AddNode(s, "host1", "192.168.50.1");
  AddNode(s, "host2", "192.168.50.2");
  AddEndpoint(s, "web1", "blue", "host1", "10.10.0.5", "02:00:00:00:00:05",
              "veth-web1");
  AddEndpoint(s, "db1", "blue", "host2", "10.10.0.6", "02:00:00:00:00:06");
  return s;
}

DataplaneState Desired(const Snapshot& s,
                       std::map<std::string, uint32_t> links = {
                           {"veth-web1", 7}}) {
  return ComputeDesiredState(s, {"host1", 0}, FakeResolver(links)).maps;
}

class ReconcilerTest : public ::testing::Test {
 protected:
  Reconciler MakeReconciler() {
    return Reconciler(
        writer_, [this](absl::string_view line) { log_.emplace_back(line); });
  }
  // Index of the last put and first delete in the op log.
  void ExpectPutsBeforeDeletes() {
    auto first_delete = std::find_if(
        writer_.ops.begin(), writer_.ops.end(),
        [](const std::string& op) { return op.starts_with("delete"); });
    auto last_put = std::find_if(
        writer_.ops.rbegin(), writer_.ops.rend(),
        [](const std::string& op) { return op.starts_with("put"); });
    if (first_delete == writer_.ops.end() || last_put == writer_.ops.rend()) {
      return;
    }
    EXPECT_LT(writer_.ops.rend() - last_put - 1,
              first_delete - writer_.ops.begin())
        << "a delete came before a put";
  }

  FakeMapWriter writer_;
  std::vector<std::string> log_;
};

TEST_F(ReconcilerTest, LargeDiffLogsAtMostMaxChangeLinesThenCounts) {
  Snapshot s = Cluster();
  for (int i = 0; i < 1500; ++i) {
    AddEndpoint(s, absl::StrFormat("many%d", i), "blue", "host2",
                absl::StrFormat("10.10.%d.%d", 10 + i / 200, i % 200 + 1),
                absl::StrFormat("02:00:00:01:%02x:%02x", i >> 8, i & 0xff));
  }
  Reconciler r = MakeReconciler();
  ASSERT_TRUE(r.ReadCurrent().ok());
  DataplaneState desired = Desired(s);
  ReconcileResult result = r.Apply(desired, 3);
  EXPECT_TRUE(result.status.ok()) << result.status;
  EXPECT_EQ(result.added, 1506);
  EXPECT_TRUE(writer_.maps == desired);
  ASSERT_EQ(log_.size(), static_cast<size_t>(kMaxChangeLines) + 1);
  EXPECT_EQ(log_.back(),
            "reconciled revision=3: +1506 ~0 -0 (506 change lines not shown)");
}

TEST_F(ReconcilerTest, FillsEmptyMapsInDependencyOrder) {
  Reconciler r = MakeReconciler();
  ASSERT_TRUE(r.ReadCurrent().ok());
  DataplaneState desired = Desired(Cluster());
  ReconcileResult result = r.Apply(desired, 3);
  EXPECT_TRUE(result.status.ok()) << result.status;
  EXPECT_EQ(result.added, 6);
  EXPECT_EQ(result.updated + result.removed + result.failed, 0);
  EXPECT_TRUE(writer_.maps == desired);
  EXPECT_TRUE(r.current() == desired);
  EXPECT_EQ(writer_.ops,
            (std::vector<std::string>{"put networks", "put vteps",
                                      "put vtep_vnis", "put interfaces",
                                      "put endpoints", "put endpoints"}));
  // One line per change, then the summary.
  ASSERT_EQ(log_.size(), 7u);
  EXPECT_NE(
      std::find(log_.begin(), log_.end(),
                "endpoints: add vni=100 10.10.0.6 -> remote "
                "192.168.50.2 02:00:00:00:00:06 identity=0 net=allow-all"),
      log_.end());
  EXPECT_EQ(log_.back(), "reconciled revision=3: +6 ~0 -0");
}

TEST_F(ReconcilerTest, PolicyGoesInFirstAndLeavesLast) {
  Snapshot s = Cluster();
  s.networks["blue"].policy = "deny";
  s.endpoints["web1"].labels = {{"app", "web"}};
  s.endpoints["web1"].identity = 256;
  s.endpoints["db1"].labels = {{"app", "db"}};
  s.endpoints["db1"].identity = 257;
  s.policies["web-db"] = Policy{.name = "web-db",
                                .network = "blue",
                                .from = "app=web",
                                .to = "app=db",
                                .proto = "udp",
                                .port = "53"};
  Reconciler r = MakeReconciler();
  ASSERT_TRUE(r.ReadCurrent().ok());
  DataplaneState desired = Desired(s);
  ASSERT_EQ(desired.policy.size(), 1u);
  ReconcileResult result = r.Apply(desired, 3);
  EXPECT_TRUE(result.status.ok()) << result.status;
  EXPECT_EQ(result.added, 7);
  EXPECT_TRUE(writer_.maps == desired);
  ASSERT_FALSE(writer_.ops.empty());
  EXPECT_EQ(writer_.ops.front(), "put policy");
  EXPECT_NE(std::find(log_.begin(), log_.end(),
                      "policy: add vni=100 256->257 udp/53 -> allow rule_id=" +
                          absl::StrFormat("%08x", RuleId("web-db"))),
            log_.end());

  // The rule goes: only its entry is deleted. Then everything goes: policy
  // is deleted last.
  writer_.ops.clear();
  s.policies.clear();
  s.policies["web-db-tcp"] = Policy{.name = "web-db-tcp",
                                    .network = "blue",
                                    .from = "app=web",
                                    .to = "app=db",
                                    .proto = "tcp"};
  result = r.Apply(Desired(s), 4);
  EXPECT_EQ(result.added, 1);
  EXPECT_EQ(result.removed, 1);
  EXPECT_EQ(writer_.ops,
            (std::vector<std::string>{"put policy", "delete policy"}));
  writer_.ops.clear();
  s.endpoints.clear();
  result = r.Apply(Desired(s), 5);
  EXPECT_TRUE(result.status.ok()) << result.status;
  EXPECT_EQ(writer_.ops.back(), "delete policy");
  EXPECT_EQ(writer_.maps.size(), 0u);
}

TEST_F(ReconcilerTest, SecondReconcileWritesNothing) {
  Reconciler r = MakeReconciler();
  ASSERT_TRUE(r.ReadCurrent().ok());
  DataplaneState desired = Desired(Cluster());
  r.Apply(desired, 3);
  writer_.ops.clear();
  log_.clear();
  ReconcileResult again = r.Apply(desired, 4);
  EXPECT_EQ(again.writes(), 0);
  EXPECT_TRUE(writer_.ops.empty());
  EXPECT_EQ(log_,
            (std::vector<std::string>{"reconciled revision=4: +0 ~0 -0"}));
}

TEST_F(ReconcilerTest, QuietWhenNothingChangedIfAsked) {
  Reconciler r = MakeReconciler();
  ASSERT_TRUE(r.ReadCurrent().ok());
  r.Apply(DataplaneState{}, 1, /*summarize_noop=*/false);
  EXPECT_TRUE(log_.empty());
}

TEST_F(ReconcilerTest, RestartWithCorrectMapsWritesNothing) {
  DataplaneState desired = Desired(Cluster());
  writer_.maps = desired;  // what a previous run left pinned
  Reconciler r = MakeReconciler();
  ASSERT_TRUE(r.ReadCurrent().ok());
  ReconcileResult result = r.Apply(desired, 3);
  EXPECT_EQ(result.writes(), 0);
  EXPECT_TRUE(writer_.ops.empty());
  EXPECT_EQ(log_.back(), "reconciled revision=3: +0 ~0 -0");
}

TEST_F(ReconcilerTest, RestartRepairsWhatChangedWhileDown) {
  Snapshot before = Cluster();
  writer_.maps = Desired(before);
  Snapshot after = before;
  AddEndpoint(after, "db2", "blue", "host2", "10.10.0.7", "02:00:00:00:00:07");
  after.endpoints["db1"].mac = "02:00:00:00:00:66";
  Reconciler r = MakeReconciler();
  ASSERT_TRUE(r.ReadCurrent().ok());
  ReconcileResult result = r.Apply(Desired(after), 4);
  EXPECT_EQ(result.added, 1);    // db2
  EXPECT_EQ(result.updated, 2);  // db1's MAC, host2's endpoint count
  EXPECT_EQ(result.removed, 0);
  EXPECT_TRUE(writer_.maps == Desired(after));
}

TEST_F(ReconcilerTest, EndpointRemovalRemovesItsEntries) {
  Reconciler r = MakeReconciler();
  ASSERT_TRUE(r.ReadCurrent().ok());
  Snapshot s = Cluster();
  r.Apply(Desired(s), 3);
  writer_.ops.clear();
  s.endpoints.erase("db1");
  ReconcileResult result = r.Apply(Desired(s), 4);
  // Its endpoint entry, and host2 is no longer a VTEP of ours.
  EXPECT_EQ(result.removed, 3);
  EXPECT_EQ(result.added + result.updated, 0);
  EXPECT_EQ(writer_.ops,
            (std::vector<std::string>{"delete endpoints", "delete vtep_vnis",
                                      "delete vteps"}));
  EXPECT_FALSE(
      writer_.maps.endpoints.contains(maps::EndpointKey(100, Ip("10.10.0.6"))));
  EXPECT_TRUE(writer_.maps.vteps.empty());
  EXPECT_TRUE(writer_.maps.vtep_vnis.empty());
  EXPECT_EQ(writer_.maps.size(), 3u);  // network, interface, web1
}

TEST_F(ReconcilerTest, EveryPutComesBeforeAnyDelete) {
  Reconciler r = MakeReconciler();
  ASSERT_TRUE(r.ReadCurrent().ok());
  Snapshot s = Cluster();
  r.Apply(Desired(s), 3);
  writer_.ops.clear();
  // db1 moves to host3 and web1 to a new interface; blue gets a new VNI's
  // neighbour network.
  AddNode(s, "host3", "192.168.50.3");
  s.endpoints["db1"].node = "host3";
  s.networks["blue"].vni = 101;
  ReconcileResult result = r.Apply(Desired(s, {{"veth-web1", 8}}), 4);
  EXPECT_TRUE(result.status.ok());
  EXPECT_GT(result.added, 0);
  EXPECT_GT(result.removed, 0);
  ExpectPutsBeforeDeletes();
  // Deletes in reverse dependency order.
  std::vector<std::string> deletes;
  for (const std::string& op : writer_.ops) {
    if (op.starts_with("delete") && (deletes.empty() || deletes.back() != op)) {
      deletes.push_back(op);
    }
  }
  EXPECT_EQ(deletes,
            (std::vector<std::string>{"delete endpoints", "delete interfaces",
                                      "delete vtep_vnis", "delete vteps",
                                      "delete networks"}));
  EXPECT_TRUE(writer_.maps == Desired(s, {{"veth-web1", 8}}));
}

TEST_F(ReconcilerTest, InterfaceGoneRemovesItsEntries) {
  Reconciler r = MakeReconciler();
  ASSERT_TRUE(r.ReadCurrent().ok());
  r.Apply(Desired(Cluster()), 3);
  r.Apply(Desired(Cluster(), {}), 3);
  EXPECT_TRUE(writer_.maps.interfaces.empty());
  EXPECT_FALSE(
      writer_.maps.endpoints.contains(maps::EndpointKey(100, Ip("10.10.0.5"))));
  EXPECT_EQ(writer_.maps.endpoints.size(), 1u);  // db1 stays
}

TEST_F(ReconcilerTest, NodeWithNoEndpointsEmptiesTheMaps) {
  Reconciler r = MakeReconciler();
  writer_.maps = Desired(Cluster());
  ASSERT_TRUE(r.ReadCurrent().ok());
  Snapshot s = Cluster();
  s.endpoints.erase("web1");
  ReconcileResult result = r.Apply(Desired(s), 5);
  EXPECT_EQ(result.removed, 6);
  EXPECT_EQ(writer_.maps.size(), 0u);
}

TEST_F(ReconcilerTest, FailedWriteIsCountedAndRetried) {
  Reconciler r = MakeReconciler();
  ASSERT_TRUE(r.ReadCurrent().ok());
  writer_.fail_next = {"vteps"};
  DataplaneState desired = Desired(Cluster());
  ReconcileResult first = r.Apply(desired, 3);
  EXPECT_EQ(first.failed, 1);
  EXPECT_EQ(first.added, 5);  // the others still went in
  EXPECT_FALSE(first.status.ok());
  EXPECT_NE(first.status.message().find("vteps: add 192.168.50.2"),
            std::string::npos)
      << first.status;
  EXPECT_EQ(log_.back(),
            "reconciled revision=3: +5 ~0 -0 (1 failed, will retry)");
  ReconcileResult second = r.Apply(desired, 3);
  EXPECT_TRUE(second.status.ok());
  EXPECT_EQ(second.added, 1);
  EXPECT_TRUE(writer_.maps == desired);
}

TEST_F(ReconcilerTest, ReadFailureIsReported) {
  writer_.fail_read = true;
  Reconciler r = MakeReconciler();
  EXPECT_FALSE(r.ReadCurrent().ok());
}

}  // namespace
}  // namespace ovx::controller
