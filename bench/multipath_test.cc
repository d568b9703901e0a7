// Unit tier: --targets parsing of the bench tools, SocketInNetns' error for
// a namespace that does not exist (no root needed), and TakeTurns' order.
#include "bench/multipath.h"

#include <sys/socket.h>

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "maps/dataplane_maps.h"

namespace ovx::bench {
namespace {

using ::testing::HasSubstr;

TEST(ParseTargetsTest, NamesNamespacesAndAddressesInOrder) {
  auto t = ParseTargets(
      "plain=ovxb-1-plain-c1/10.20.2.2,ovx=ovxb-1-ovx-c1/10.40.0.2");
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->size(), 2u);
  EXPECT_EQ((*t)[0].name, "plain");
  EXPECT_EQ((*t)[0].netns, "ovxb-1-plain-c1");
  EXPECT_EQ(maps::FormatIpv4((*t)[0].ip), "10.20.2.2");
  EXPECT_EQ((*t)[1].name, "ovx");
  EXPECT_EQ(maps::FormatIpv4((*t)[1].ip), "10.40.0.2");
}

TEST(ParseTargetsTest, OneSentenceErrors) {
  for (const char* bad : {"plain", "plain=ns", "=ns/10.0.0.1",
                          "plain=/10.0.0.1", "a=b=c/10.0.0.1"}) {
    auto t = ParseTargets(bad);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_EQ(t.status().message(),
              std::string("--targets: '") + bad + "' is not NAME=NETNS/IP");
  }
  EXPECT_FALSE(ParseTargets("plain=ns/10.0.0").ok());
  EXPECT_EQ(ParseTargets("").status().message(), "--targets is empty");
}

TEST(SocketInNetnsTest, AMissingNamespaceIsNamed) {
  auto fd = SocketInNetns("ovx-no-such-netns", SOCK_DGRAM);
  ASSERT_FALSE(fd.ok());
  EXPECT_THAT(fd.status().message(), HasSubstr("open netns ovx-no-such-netns"));
}

TEST(TakeTurnsTest, EachCycleStartsOnePathLater) {
  std::vector<size_t> order;
  absl::Status s = TakeTurns(3, 0.02, 10, [&](size_t path, int64_t end) {
    EXPECT_GT(end, MonotonicNs() - 1000000000LL);
    order.push_back(path);
    return absl::OkStatus();
  });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(order, (std::vector<size_t>{0, 1, 2, 1, 2, 0}));
}

TEST(TakeTurnsTest, TheFirstErrorStops) {
  int calls = 0;
  absl::Status s = TakeTurns(2, 1, 10, [&](size_t, int64_t) {
    return ++calls == 3 ? absl::DataLossError("echo differs")
                        : absl::OkStatus();
  });
  EXPECT_EQ(s.message(), "echo differs");
  EXPECT_EQ(calls, 3);
}

}  // namespace
}  // namespace ovx::bench
