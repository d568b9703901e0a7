// Paged ranges on a real etcd: every key once, in order, all pages read at
// the revision of the first one (a write between pages is not seen).
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "controller/registry/etcd/etcd_client.h"
#include "controller/registry/etcd/etcd_test_cluster.h"

namespace ovx::controller::etcd {
namespace {

bool InCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

TEST(EtcdPagingTest, PagesCoverTheRangeAtOneRevision) {
  if (FindEtcdBinary().empty()) {
    if (InCi()) FAIL() << "no etcd binary (scripts/install-deps.sh)";
    GTEST_SKIP() << "no etcd binary";
  }
  auto cluster = EtcdTestCluster::Start(1);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  EtcdClient client({.members = {(*cluster)->Url().substr(7)}});
  std::vector<std::string> want;
  for (int i = 0; i < 25; ++i) {
    std::string key = absl::StrFormat("/p/k%02d", i);
    ASSERT_TRUE(client.Put(key, absl::StrCat("v", i)).ok());
    want.push_back(key);
  }
  ASSERT_TRUE(client.Put("/q/outside", "x").ok());

  int64_t revision = 0;
  std::vector<std::string> got;
  int pages = 0;
  absl::Status s = client.RangePaged("/p/", PrefixEnd("/p/"), 10, &revision,
                                     [&](std::vector<KeyValue>& kvs) {
                                       ++pages;
                                       EXPECT_LE(kvs.size(), 10u);
                                       for (const KeyValue& kv : kvs)
                                         got.push_back(kv.key);
                                       // Written after the first page: must not
                                       // show up in later ones.
                                       if (pages == 1)
                                         return client.Put("/p/k99", "late");
                                       return absl::OkStatus();
                                     });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(got, want);
  EXPECT_EQ(pages, 3);
  EXPECT_GT(revision, 0);

  // Read again at the current revision: now k99 is there.
  int64_t now = 0;
  got.clear();
  ASSERT_TRUE(client
                  .RangePaged("/p/", PrefixEnd("/p/"), 10, &now,
                              [&](std::vector<KeyValue>& kvs) {
                                for (const KeyValue& kv : kvs)
                                  got.push_back(kv.key);
                                return absl::OkStatus();
                              })
                  .ok());
  EXPECT_EQ(got.size(), 26u);
  EXPECT_GT(now, revision);
}

TEST(EtcdPagingTest, ErrorFromACallbackStopsTheRange) {
  if (FindEtcdBinary().empty()) {
    if (InCi()) FAIL() << "no etcd binary (scripts/install-deps.sh)";
    GTEST_SKIP() << "no etcd binary";
  }
  auto cluster = EtcdTestCluster::Start(1);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  EtcdClient client({.members = {(*cluster)->Url().substr(7)}});
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(client.Put(absl::StrCat("/p/", i), "v").ok());
  int64_t revision = 0;
  int calls = 0;
  absl::Status s = client.RangePaged("/p/", PrefixEnd("/p/"), 2, &revision,
                                     [&](std::vector<KeyValue>&) {
                                       ++calls;
                                       return absl::DataLossError("stop");
                                     });
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace ovx::controller::etcd
