#include "controller/ovxctl/commands.h"

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace ovx::controller {
namespace {

using ::testing::HasSubstr;

// In-memory backend that, like etcd on a conflict, runs every mutate twice:
// the first result is thrown away after another writer "wins".
class RetryingBackend : public RegistryBackend {
 public:
  absl::StatusOr<Snapshot> Load() override { return snap_; }
  absl::Status Update(
      const std::function<absl::Status(Snapshot&)>& mutate) override {
    Snapshot first = snap_;
    if (absl::Status s = mutate(first); !s.ok()) return s;
    // A concurrent writer takes an address first.
    if (snap_.networks.contains("blue") && snap_.nodes.contains("h")) {
      Endpoint other{.name = "other" + std::to_string(++conflicts_),
                     .network = "blue",
                     .node = "h",
                     .ip = "10.1.0." + std::to_string(conflicts_),
                     .mac = "02:ff:00:00:00:0" + std::to_string(conflicts_)};
      snap_.endpoints[other.name] = other;
    }
    Snapshot second = snap_;
    if (absl::Status s = mutate(second); !s.ok()) return s;
    second.revision = snap_.revision + 1;
    snap_ = second;
    return absl::OkStatus();
  }
  absl::StatusOr<std::unique_ptr<Watcher>> Watch(int64_t) override {
    return absl::UnimplementedError("no watch");
  }
  std::string Describe() const override { return "fake"; }

  Snapshot snap_;
  int conflicts_ = 0;
};

absl::StatusOr<std::string> Exec(RegistryBackend& r,
                                 std::vector<std::string> words,
                                 std::map<std::string, std::string> flags = {},
                                 bool json = true) {
  return RunCommand(r, Invocation{.words = std::move(words),
                                  .flags = std::move(flags),
                                  .json = json});
}

TEST(Commands, OutputMatchesWhatARetriedMutateStored) {
  RetryingBackend r;
  ASSERT_TRUE(Exec(r, {"network", "create", "blue"},
                   {{"vni", "1"}, {"subnet", "10.1.0.0/24"}})
                  .ok());
  ASSERT_TRUE(Exec(r, {"node", "add", "h"}, {{"vtep", "192.0.2.1"}}).ok());
  // The first attempt allocates 10.1.0.1, which another writer then takes;
  // what is printed must be the retry's record, the one stored.
  absl::StatusOr<std::string> out =
      Exec(r, {"endpoint", "add", "e1"}, {{"network", "blue"}, {"node", "h"}});
  ASSERT_TRUE(out.ok()) << out.status();
  nlohmann::json printed = nlohmann::json::parse(*out);
  const Endpoint& stored = r.snap_.endpoints.at("e1");
  EXPECT_EQ(printed["ip"], "10.1.0.2");
  EXPECT_EQ(printed["ip"], stored.ip);
  EXPECT_EQ(printed["mac"], stored.mac);
  EXPECT_EQ(r.snap_.endpoints.at("other1").ip, "10.1.0.1");
}

TEST(Commands, WordsAndFlagsAreChecked) {
  RetryingBackend r;
  EXPECT_THAT(Exec(r, {"network"}).status().message(),
              HasSubstr("unknown command \"network\""));
  EXPECT_THAT(Exec(r, {"network", "ls", "x"}).status().message(),
              HasSubstr("network ls: takes no NAME, got 1"));
  EXPECT_THAT(
      Exec(r, {"endpoint", "ls"}, {{"ip", "1.2.3.4"}}).status().message(),
      HasSubstr("endpoint ls: --ip does not apply"));
  EXPECT_EQ(r.snap_, Snapshot{});
  for (const std::string& flag : CommandFlagNames()) {
    EXPECT_THAT(Usage(), HasSubstr("--" + flag + "=")) << flag;
  }
}

TEST(Commands, TableOutput) {
  RetryingBackend r;
  absl::StatusOr<std::string> out =
      Exec(r, {"node", "add", "h"}, {{"vtep", "192.0.2.1"}}, /*json=*/false);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out,
            "NAME  VTEP       ENDPOINTS\n"
            "h     192.0.2.1  0\n");
  EXPECT_EQ(*Exec(r, {"endpoint", "ls"}, {}, false),
            "NAME  NETWORK  NODE  IP  MAC  IFACE  LABELS  IDENTITY\n");
  EXPECT_EQ(*Exec(r, {"policy", "ls"}, {}, false),
            "NAME  NETWORK  FROM  TO  PROTO  PORT\n");
  EXPECT_EQ(*Exec(r, {"node", "rm", "h"}, {}, false), "removed node h\n");
}

}  // namespace
}  // namespace ovx::controller
