#include "controller/registry/migrate.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace ovx::controller {
namespace {

// An in-memory backend that, like etcd, refuses an Update writing more than
// `max_writes` records at once.
class MemoryBackend : public RegistryBackend {
 public:
  explicit MemoryBackend(std::string name) : name_(std::move(name)) {}

  absl::StatusOr<Snapshot> Load() override {
    if (!load_error_.ok()) return load_error_;
    return snap_;
  }
  absl::Status Update(
      const std::function<absl::Status(Snapshot&)>& mutate) override {
    Snapshot next = snap_;
    if (absl::Status s = mutate(next); !s.ok()) return s;
    size_t writes = Diff(snap_.networks, next.networks) +
                    Diff(snap_.nodes, next.nodes) +
                    Diff(snap_.endpoints, next.endpoints) +
                    Diff(snap_.policies, next.policies);
    if (writes > max_writes_) {
      return absl::InvalidArgumentError("too many operations in txn request");
    }
    ++updates_;
    next.revision = snap_.revision + 1;
    snap_ = next;
    return absl::OkStatus();
  }
  absl::StatusOr<std::unique_ptr<Watcher>> Watch(int64_t) override {
    return absl::UnimplementedError("no watch");
  }
  std::string Describe() const override { return name_; }

  Snapshot snap_;
  absl::Status load_error_;
  size_t max_writes_ = 30;
  int updates_ = 0;

 private:
  template <typename T>
  static size_t Diff(const std::map<std::string, T>& a,
                     const std::map<std::string, T>& b) {
    size_t n = 0;
    for (const auto& [k, v] : b) n += !a.contains(k) || !(a.at(k) == v);
    for (const auto& [k, v] : a) n += !b.contains(k);
    return n;
  }

  std::string name_;
};

Snapshot Big() {
  Snapshot s;
  s.revision = 42;
  s.networks["blue"] = {.name = "blue", .vni = 100, .subnet = "10.10.0.0/16"};
  s.networks["red"] = {
      .name = "red", .vni = 200, .subnet = "10.20.0.0/24", .policy = "deny"};
  s.nodes["host1"] = {.name = "host1", .vtep = "192.168.50.1"};
  for (int i = 0; i < 120; ++i) {
    std::string name = absl::StrCat("ep", i);
    s.endpoints[name] = {
        .name = name,
        .network = "blue",
        .node = "host1",
        .ip = absl::StrCat("10.10.", i / 200, ".", 1 + i % 200),
        .mac = absl::StrCat("02:00:00:00:00:", i < 16 ? "0" : "", absl::Hex(i)),
        .labels = {{"app", "web"}}};
  }
  s.policies["web"] = {.name = "web",
                       .network = "blue",
                       .from = "*",
                       .to = "app=web",
                       .proto = "tcp",
                       .port = "80"};
  return s;
}

Snapshot Records(Snapshot s) {
  s.revision = 0;
  return s;
}

TEST(MigrateTest, CopiesEveryRecordInBatches) {
  MemoryBackend from("file:/a"), to("etcd://b");
  from.snap_ = Big();
  ASSERT_TRUE(MigrateRegistry(from, to).ok());
  EXPECT_EQ(Records(to.snap_), Records(from.snap_));
  // 2 networks + 1 node + 120 endpoints in batches of 25 + 1 policy.
  EXPECT_EQ(to.updates_, 1 + 1 + 5 + 1);
}

TEST(MigrateTest, RunningAgainIsHarmless) {
  MemoryBackend from("file:/a"), to("etcd://b");
  from.snap_ = Big();
  // An interrupted run: only the networks made it.
  to.snap_.networks = from.snap_.networks;
  ASSERT_TRUE(MigrateRegistry(from, to).ok());
  ASSERT_TRUE(MigrateRegistry(from, to).ok());
  EXPECT_EQ(Records(to.snap_), Records(from.snap_));
}

TEST(MigrateTest, RefusesATargetWithOtherRecords) {
  MemoryBackend from("file:/a"), to("etcd://b");
  from.snap_ = Big();
  to.snap_.nodes["host9"] = {.name = "host9", .vtep = "192.168.50.9"};
  absl::Status status = MigrateRegistry(from, to);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(status.message(), "node host9")) << status;
  EXPECT_TRUE(to.snap_.networks.empty());  // nothing written

  to.snap_ = Snapshot{};
  to.snap_.networks["blue"] = from.snap_.networks["blue"];
  to.snap_.networks["blue"].mtu = 1400;
  status = MigrateRegistry(from, to);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(
      absl::StrContains(status.message(), "network blue, which differs"))
      << status;
}

TEST(MigrateTest, ErrorsNameTheBackend) {
  MemoryBackend from("file:/a"), to("etcd://b");
  from.load_error_ = absl::UnavailableError("gone");
  absl::Status status = MigrateRegistry(from, to);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(status.message(), "file:/a")) << status;

  from.load_error_ = absl::OkStatus();
  from.snap_ = Big();
  to.max_writes_ = 10;  // smaller than a batch
  status = MigrateRegistry(from, to);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(
      absl::StrContains(status.message(), "etcd://b: endpoints 1..25 of 120"))
      << status;
}

}  // namespace
}  // namespace ovx::controller
