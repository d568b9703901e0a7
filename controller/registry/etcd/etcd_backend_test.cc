// The etcd backend against real etcd processes (label e2e): CRUD, racing
// writers in separate processes, watch with compaction, outage and restart,
// a three-member cluster losing a member, and bad input.
#include "controller/registry/etcd/etcd_backend.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "controller/registry/etcd/etcd_client.h"
#include "controller/registry/etcd/etcd_layout.h"
#include "controller/registry/etcd/etcd_test_cluster.h"
#include "controller/registry/migrate.h"
#include "controller/registry/record_json.h"
#include "controller/registry/validate.h"

namespace ovx::controller {
namespace {

using etcd::EtcdTestCluster;

bool InCi() {
  const char* ci = getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

// The records without the revision, to compare what two readers saw.
Snapshot Records(Snapshot s) {
  s.revision = 0;
  return s;
}

Network Blue() {
  return {.name = "blue", .vni = 100, .subnet = "10.10.0.0/30"};
}
Node Host1() { return {.name = "host1", .vtep = "192.168.50.1"}; }

// Adds endpoint `name` to blue on host1 through the real validation, which
// allocates the lowest free IP of 10.10.0.0/30 (.1, then .2) and a MAC.
absl::Status AddEp(Snapshot& s, const std::string& name) {
  return AddEndpoint(s,
                     Endpoint{.name = name, .network = "blue", .node = "host1"})
      .status();
}

absl::Status AddNetworkWithVni(Snapshot& s, int i, uint32_t vni) {
  return AddNetwork(s,
                    Network{.name = absl::StrCat("net", i),
                            .vni = vni,
                            .subnet = absl::StrCat("10.", 20 + i, ".0.0/24")})
      .status();
}

// The index keys a snapshot implies.
std::map<std::string, std::string> IndexOf(const Snapshot& s) {
  auto index = etcd::IndexKeys(s, {});
  EXPECT_TRUE(index.ok()) << index.status();
  return index.ok() ? *index : std::map<std::string, std::string>{};
}

// Applies watch events to `state` until it matches what `backend` serves.
::testing::AssertionResult Converges(Watcher& watcher, RegistryBackend& backend,
                                     Snapshot& state, absl::Duration timeout,
                                     int* snapshots = nullptr) {
  absl::Time deadline = absl::Now() + timeout;
  Snapshot want;
  while (absl::Now() < deadline) {
    absl::StatusOr<WatchEvent> event = watcher.Next(absl::Milliseconds(200));
    if (event.ok()) {
      if (event->snapshot.has_value()) {
        state = *event->snapshot;
        if (snapshots != nullptr) ++*snapshots;
      }
      ApplyChanges(event->changes, state);
      state.revision = event->revision;
    } else if (!absl::IsDeadlineExceeded(event.status()) &&
               !absl::IsUnavailable(event.status())) {
      return ::testing::AssertionFailure() << event.status();
    }
    absl::StatusOr<Snapshot> loaded = backend.Load();
    if (!loaded.ok()) continue;
    want = *loaded;
    if (Records(state) == Records(want)) return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "watch state " << SnapshotToJson(state).dump() << " never matched "
         << SnapshotToJson(want).dump();
}

class EtcdBackendTest : public ::testing::Test {
 protected:
  void StartCluster(int members, bool tls = false) {
    if (etcd::FindEtcdBinary().empty()) {
      if (InCi())
        FAIL()
            << "no etcd binary: install etcd-server (scripts/install-deps.sh)";
      GTEST_SKIP() << "no etcd binary";
    }
    auto cluster = EtcdTestCluster::Start(members, tls);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
  }

  void SetUp() override { StartCluster(1); }

  std::unique_ptr<RegistryBackend> Open(const std::string& url = "") {
    RegistryOptions options;
    options.url = url.empty() ? cluster_->Url() : url;
    auto backend = OpenEtcdRegistry(options);
    EXPECT_TRUE(backend.ok()) << backend.status();
    return backend.ok() ? *std::move(backend) : nullptr;
  }

  // Raw keys under /ovx/index/, key -> owner.
  std::map<std::string, std::string> IndexKeys() {
    etcd::EtcdClient client({.members = {cluster_->Url().substr(7)}});
    auto range = client.RangePrefix(etcd::kIndexPrefix);
    EXPECT_TRUE(range.ok()) << range.status();
    std::map<std::string, std::string> out;
    if (range.ok()) {
      for (const auto& kv : range->kvs) out[kv.key] = kv.value;
    }
    return out;
  }

  etcd::EtcdClient Client() {
    return etcd::EtcdClient({.members = {cluster_->Url().substr(7)}});
  }

  std::unique_ptr<EtcdTestCluster> cluster_;
};

absl::Status AddBlueAndHost1(RegistryBackend& backend) {
  return backend.Update([](Snapshot& s) {
    s.networks["blue"] = Blue();
    s.nodes["host1"] = Host1();
    return absl::OkStatus();
  });
}

TEST_F(EtcdBackendTest, UpdateLoadRoundTripAndRevisionGrows) {
  auto backend = Open();
  ASSERT_NE(backend, nullptr);
  EXPECT_EQ(backend->Describe(), cluster_->Url());
  auto empty = backend->Load();
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(Records(*empty), Snapshot{});

  ASSERT_TRUE(AddBlueAndHost1(*backend).ok());
  ASSERT_TRUE(
      backend->Update([](Snapshot& s) { return AddEp(s, "web1"); }).ok());
  auto loaded = backend->Load();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_GT(loaded->revision, empty->revision);
  EXPECT_EQ(loaded->networks.at("blue"), Blue());
  EXPECT_EQ(loaded->nodes.at("host1"), Host1());
  EXPECT_EQ(loaded->endpoints.at("web1").ip, "10.10.0.1");
  EXPECT_EQ(IndexKeys(), IndexOf(*loaded));
  EXPECT_EQ(IndexKeys()["/ovx/index/ip/blue/10.10.0.1"], "/ovx/endpoints/web1");
  EXPECT_EQ(IndexKeys()["/ovx/index/vni/100"], "/ovx/networks/blue");
  EXPECT_EQ(IndexKeys()["/ovx/index/vtep/192.168.50.1"], "/ovx/nodes/host1");
  EXPECT_EQ(IndexKeys()[absl::StrCat("/ovx/index/mac/",
                                     loaded->endpoints.at("web1").mac)],
            "/ovx/endpoints/web1");

  // A mutate error writes nothing.
  absl::Status refused = backend->Update(
      [](Snapshot&) { return absl::InvalidArgumentError("no"); });
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  auto same = backend->Load();
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->revision, loaded->revision);

  ASSERT_TRUE(backend
                  ->Update([](Snapshot& s) {
                    s.endpoints.erase("web1");
                    return absl::OkStatus();
                  })
                  .ok());
  auto after = backend->Load();
  ASSERT_TRUE(after.ok());
  EXPECT_GT(after->revision, loaded->revision);
  EXPECT_TRUE(after->endpoints.empty());
  EXPECT_EQ(IndexKeys(), IndexOf(*after));
  EXPECT_FALSE(IndexKeys().contains("/ovx/index/ip/blue/10.10.0.1"));
}

// Long enough that racing processes all read the same revision.
constexpr absl::Duration kOverlap = absl::Milliseconds(200);

// Forks `n` processes that wait at a barrier, then each run `update`;
// returns their exit codes (0 = update OK, 3 = the expected error).
std::vector<int> RaceProcesses(
    int n, const std::string& url,
    const std::function<absl::Status(RegistryBackend&, int)>& update,
    absl::string_view expected_error) {
  int barrier[2];
  if (pipe(barrier) != 0) return {};
  std::vector<pid_t> children;
  for (int i = 0; i < n; ++i) {
    pid_t pid = fork();
    if (pid == 0) {
      close(barrier[1]);
      char c;
      (void)!read(barrier[0], &c, 1);  // returns at EOF: everyone starts
      auto backend = OpenEtcdRegistry({.url = url});
      if (!backend.ok()) _exit(2);
      absl::Status status = update(**backend, i);
      if (status.ok()) _exit(0);
      if (absl::StrContains(status.message(), expected_error)) _exit(3);
      std::cerr << "child " << i << ": " << status << "\n";
      _exit(1);
    }
    children.push_back(pid);
  }
  close(barrier[0]);
  close(barrier[1]);
  std::vector<int> codes;
  for (pid_t pid : children) {
    int status = 0;
    waitpid(pid, &status, 0);
    codes.push_back(WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  }
  return codes;
}

TEST_F(EtcdBackendTest, ProcessesRacingForTheLastFreeIpExactlyOneWins) {
  auto backend = Open();
  ASSERT_TRUE(AddBlueAndHost1(*backend).ok());
  ASSERT_TRUE(
      backend->Update([](Snapshot& s) { return AddEp(s, "first"); }).ok());

  constexpr int kRacers = 6;
  std::vector<int> codes = RaceProcesses(
      kRacers, cluster_->Url(),
      [](RegistryBackend& b, int i) {
        // Different names: only the index key makes the IP unique.
        return b.Update([i](Snapshot& s) {
          absl::SleepFor(kOverlap);  // everyone reads before anyone commits
          return AddEp(s, absl::StrCat("ep", i));
        });
      },
      "network blue: subnet 10.10.0.0/30 has no free address left");
  ASSERT_EQ(codes.size(), static_cast<size_t>(kRacers));
  EXPECT_EQ(std::count(codes.begin(), codes.end(), 0), 1);
  EXPECT_EQ(std::count(codes.begin(), codes.end(), 3), kRacers - 1);

  auto loaded = backend->Load();
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->endpoints.size(), 2u);
  std::string winner;
  for (const auto& [name, ep] : loaded->endpoints) {
    if (name != "first") winner = name;
  }
  EXPECT_EQ(loaded->endpoints.at(winner).ip, "10.10.0.2");
  EXPECT_EQ(IndexKeys(), IndexOf(*loaded));
  EXPECT_EQ(IndexKeys()["/ovx/index/ip/blue/10.10.0.2"],
            absl::StrCat("/ovx/endpoints/", winner));
}

// An update reads the index keys it writes after its records, at their
// revision: a key another writer created in between must look absent, so
// that the create guard refuses the second claim.
TEST_F(EtcdBackendTest, IpClaimedBetweenReadAndWriteIsRefused) {
  auto backend = Open();
  auto other = Open();
  ASSERT_TRUE(AddBlueAndHost1(*backend).ok());
  auto with_ip = [](Snapshot& s, const std::string& name) {
    return AddEndpoint(s, Endpoint{.name = name,
                                   .network = "blue",
                                   .node = "host1",
                                   .ip = "10.10.0.2"})
        .status();
  };
  int attempts = 0;
  absl::Status status = backend->Update([&](Snapshot& s) {
    if (++attempts == 1) {
      absl::Status meanwhile =
          other->Update([&](Snapshot& o) { return with_ip(o, "web2"); });
      if (!meanwhile.ok()) return meanwhile;
    }
    return with_ip(s, "web3");
  });
  EXPECT_EQ(attempts, 2);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("10.10.0.2"), std::string::npos) << status;

  auto loaded = backend->Load();
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->endpoints.size(), 1u);
  EXPECT_TRUE(loaded->endpoints.contains("web2"));
  EXPECT_EQ(IndexKeys(), IndexOf(*loaded));
}

TEST_F(EtcdBackendTest, ProcessesRacingForIdentitiesGetOnePerLabelSet) {
  auto backend = Open();
  ASSERT_TRUE(backend
                  ->Update([](Snapshot& s) {
                    s.networks["big"] = Network{
                        .name = "big", .vni = 300, .subnet = "10.30.0.0/24"};
                    s.nodes["host1"] = Host1();
                    return absl::OkStatus();
                  })
                  .ok());
  // Racers 0..2 share labels, 3..5 each have their own: everyone reads the
  // same (empty) revision, so all would pick 256 without the index key.
  constexpr int kRacers = 6;
  std::vector<int> codes = RaceProcesses(
      kRacers, cluster_->Url(),
      [](RegistryBackend& b, int i) {
        return b.Update([i](Snapshot& s) {
          absl::SleepFor(kOverlap);
          std::string app = i < 3 ? "same" : absl::StrCat("own", i);
          // Own IPs (and so MACs): only the identity key orders them.
          return AddEndpoint(s, Endpoint{.name = absl::StrCat("ep", i),
                                         .network = "big",
                                         .node = "host1",
                                         .ip = absl::StrCat("10.30.0.", 10 + i),
                                         .labels = {{"app", app}}})
              .status();
        });
      },
      "(no error expected)");
  EXPECT_EQ(codes, std::vector<int>(kRacers, 0));
  auto loaded = backend->Load();
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->endpoints.size(), static_cast<size_t>(kRacers));
  std::set<uint32_t> ids;
  for (const auto& [name, ep] : loaded->endpoints) {
    EXPECT_GE(ep.identity, 256u) << name;
    ids.insert(ep.identity);
  }
  EXPECT_EQ(ids, (std::set<uint32_t>{256, 257, 258, 259}));
  const uint32_t same = loaded->endpoints.at("ep0").identity;
  EXPECT_EQ(loaded->endpoints.at("ep1").identity, same);
  EXPECT_EQ(loaded->endpoints.at("ep2").identity, same);
  EXPECT_EQ(IndexKeys(), IndexOf(*loaded));
  EXPECT_EQ(IndexKeys()[absl::StrCat("/ovx/index/identity/", same)],
            "big/app=same");
}

TEST_F(EtcdBackendTest, ProcessesCreatingTheSameVniExactlyOneWins) {
  constexpr int kRacers = 6;
  std::vector<int> codes = RaceProcesses(
      kRacers, cluster_->Url(),
      [](RegistryBackend& b, int i) {
        return b.Update([i](Snapshot& s) {
          absl::SleepFor(kOverlap);
          return AddNetworkWithVni(s, i, 200);
        });
      },
      "--vni=200 is already used by network net");
  ASSERT_EQ(codes.size(), static_cast<size_t>(kRacers));
  EXPECT_EQ(std::count(codes.begin(), codes.end(), 0), 1);
  EXPECT_EQ(std::count(codes.begin(), codes.end(), 3), kRacers - 1);
  auto backend = Open();
  auto loaded = backend->Load();
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->networks.size(), 1u);
  EXPECT_EQ(IndexKeys(), IndexOf(*loaded));
  EXPECT_EQ(IndexKeys()["/ovx/index/vni/200"],
            absl::StrCat("/ovx/networks/", loaded->networks.begin()->first));
}

TEST_F(EtcdBackendTest, WatchDeliversAnotherClientsChangesIncrementally) {
  auto reader = Open();
  auto writer = Open();
  auto start = reader->Load();
  ASSERT_TRUE(start.ok());
  auto watcher = reader->Watch(start->revision);
  ASSERT_TRUE(watcher.ok()) << watcher.status();

  auto quiet = (*watcher)->Next(absl::Milliseconds(300));
  EXPECT_EQ(quiet.status().code(), absl::StatusCode::kDeadlineExceeded)
      << quiet.status();

  ASSERT_TRUE(AddBlueAndHost1(*writer).ok());
  auto event = (*watcher)->Next(absl::Seconds(5));
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_FALSE(event->snapshot.has_value());
  // One txn, one event: both records, index keys filtered out.
  ASSERT_EQ(event->changes.size(), 2u);
  EXPECT_EQ(event->changes[0].name, "blue");
  EXPECT_EQ(std::get<Network>(event->changes[0].value), Blue());
  EXPECT_EQ(event->changes[1].kind, RecordKind::kNode);
  auto now = writer->Load();
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(event->revision, now->revision);

  ASSERT_TRUE(writer
                  ->Update([](Snapshot& s) {
                    s.nodes.erase("host1");
                    return absl::OkStatus();
                  })
                  .ok());
  event = (*watcher)->Next(absl::Seconds(5));
  ASSERT_TRUE(event.ok()) << event.status();
  ASSERT_EQ(event->changes.size(), 1u);
  EXPECT_EQ(event->changes[0].kind, RecordKind::kNode);
  EXPECT_EQ(event->changes[0].name, "host1");
  EXPECT_TRUE(event->changes[0].deleted);
}

TEST_F(EtcdBackendTest, WatchFromACompactedRevisionRelists) {
  auto backend = Open();
  auto start = backend->Load();
  ASSERT_TRUE(start.ok());
  ASSERT_TRUE(AddBlueAndHost1(*backend).ok());
  ASSERT_TRUE(
      backend->Update([](Snapshot& s) { return AddEp(s, "web1"); }).ok());
  ASSERT_TRUE(
      backend->Update([](Snapshot& s) { return AddEp(s, "web2"); }).ok());
  auto now = backend->Load();
  ASSERT_TRUE(now.ok());
  etcd::EtcdClient client = Client();
  ASSERT_TRUE(client.Compact(now->revision).ok());

  // History since `start` is gone: the first event is a full snapshot.
  auto watcher = backend->Watch(start->revision);
  ASSERT_TRUE(watcher.ok());
  auto event = (*watcher)->Next(absl::Seconds(5));
  ASSERT_TRUE(event.ok()) << event.status();
  ASSERT_TRUE(event->snapshot.has_value());
  EXPECT_EQ(*event->snapshot, *now);
  EXPECT_EQ(event->revision, now->revision);

  // And it keeps following incrementally after the relist.
  Snapshot state = *event->snapshot;
  ASSERT_TRUE(backend
                  ->Update([](Snapshot& s) {
                    s.endpoints.erase("web1");
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_TRUE(Converges(**watcher, *backend, state, absl::Seconds(10)));
}

TEST_F(EtcdBackendTest, CompactionUnderARunningWatchKeepsItsSnapshotRight) {
  auto backend = Open();
  auto writer = Open();
  auto start = backend->Load();
  ASSERT_TRUE(start.ok());
  auto watcher = backend->Watch(start->revision);
  ASSERT_TRUE(watcher.ok());
  Snapshot state = *start;
  ASSERT_TRUE(AddBlueAndHost1(*writer).ok());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(writer
                    ->Update([i](Snapshot& s) {
                      s.networks["blue"].mtu = 1400 + i;
                      return absl::OkStatus();
                    })
                    .ok());
    if (i == 2) {
      EXPECT_EQ(
          cluster_->Etcdctl(absl::StrCat("compact ", writer->Load()->revision)),
          0);
    }
  }
  EXPECT_TRUE(Converges(**watcher, *backend, state, absl::Seconds(10)));
  EXPECT_EQ(state.networks.at("blue").mtu, 1404u);
}

TEST_F(EtcdBackendTest, OutageGivesUnavailableAndRestartResyncs) {
  auto backend = Open();
  ASSERT_TRUE(AddBlueAndHost1(*backend).ok());
  auto start = backend->Load();
  ASSERT_TRUE(start.ok());
  auto watcher = backend->Watch(start->revision);
  ASSERT_TRUE(watcher.ok());
  Snapshot state = *start;
  EXPECT_EQ((*watcher)->Next(absl::Milliseconds(300)).status().code(),
            absl::StatusCode::kDeadlineExceeded);

  cluster_->Kill(0);
  absl::Status status;
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    status = (*watcher)->Next(absl::Milliseconds(500)).status();
    if (absl::IsUnavailable(status)) break;
  }
  EXPECT_TRUE(absl::IsUnavailable(status)) << status;
  auto failed = backend->Load();
  EXPECT_TRUE(absl::IsUnavailable(failed.status())) << failed.status();
  EXPECT_TRUE(absl::StrContains(failed.status().message(), cluster_->Url()))
      << failed.status();
  EXPECT_TRUE(
      absl::IsUnavailable((*watcher)->Next(absl::Milliseconds(100)).status()));

  ASSERT_TRUE(cluster_->Restart(0).ok());
  ASSERT_TRUE(
      backend->Update([](Snapshot& s) { return AddEp(s, "web1"); }).ok());
  int snapshots = 0;
  EXPECT_TRUE(
      Converges(**watcher, *backend, state, absl::Seconds(15), &snapshots));
  EXPECT_GE(snapshots, 1);
  EXPECT_EQ(state.endpoints.at("web1").ip, "10.10.0.1");
}

TEST_F(EtcdBackendTest, UnreachableAndMalformedUrlsGiveClearErrors) {
  // A port nobody listens on: a fresh cluster member's port, now stopped.
  std::string url = cluster_->MemberUrl(0);
  cluster_->Kill(0);
  auto backend = Open(url);
  ASSERT_NE(backend, nullptr);
  auto loaded = backend->Load();
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(loaded.status().message(), url))
      << loaded.status();
  absl::Status update =
      backend->Update([](Snapshot&) { return absl::OkStatus(); });
  EXPECT_EQ(update.code(), absl::StatusCode::kUnavailable) << update;

  for (const char* bad :
       {"etcd://", "etcd://host", "etcd://host:99999", "http://h:1"}) {
    auto opened = OpenEtcdRegistry({.url = bad});
    EXPECT_EQ(opened.status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
  }
  auto no_ca = OpenEtcdRegistry(
      {.url = "etcd://127.0.0.1:2379", .ca_file = "/nonexistent"});
  EXPECT_EQ(no_ca.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(no_ca.status().message(), "/nonexistent"));
}

TEST_F(EtcdBackendTest, BadRecordIsReportedByKeyAndSkipped) {
  auto backend = Open();
  ASSERT_TRUE(AddBlueAndHost1(*backend).ok());
  auto start = backend->Load();
  ASSERT_TRUE(start.ok());
  auto watcher = backend->Watch(start->revision);
  ASSERT_TRUE(watcher.ok());

  ASSERT_EQ(cluster_->Etcdctl("put /ovx/endpoints/bad 'not json'"), 0);
  auto event = (*watcher)->Next(absl::Seconds(5));
  ASSERT_TRUE(event.ok()) << event.status();
  ASSERT_EQ(event->changes.size(), 1u);
  EXPECT_EQ(event->changes[0].name, "bad");
  EXPECT_TRUE(event->changes[0].deleted);  // not served, like Load()

  ::testing::internal::CaptureStderr();
  auto loaded = backend->Load();
  std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(absl::StrContains(log, "/ovx/endpoints/bad")) << log;
  EXPECT_EQ(Records(*loaded), Records(*start));

  // Updates still work and can replace the bad record.
  ASSERT_TRUE(
      backend->Update([](Snapshot& s) { return AddEp(s, "bad"); }).ok());
  loaded = backend->Load();
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->endpoints.at("bad").ip, "10.10.0.1");
}

TEST_F(EtcdBackendTest, OversizedChangeIsRefusedWithAHint) {
  auto backend = Open();
  absl::Status status = backend->Update([](Snapshot& s) {
    for (int i = 0; i < 200; ++i) {
      std::string name = absl::StrCat("n", i);
      s.nodes[name] = {
          .name = name,
          .vtep = absl::StrCat("192.168.", i / 250, ".", 1 + i % 250)};
    }
    return absl::OkStatus();
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "--max-txn-ops")) << status;
  auto loaded = backend->Load();
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(loaded->nodes.empty());
}

TEST_F(EtcdBackendTest, MigrateCopiesAFileRegistryIntoEtcd) {
  char dir[] = "/tmp/ovx-migrate-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  struct Cleanup {
    std::string dir;
    ~Cleanup() { std::filesystem::remove_all(dir); }
  } cleanup{dir};

  // Both through OpenRegistry, the way ovxctl gets them.
  auto file =
      OpenRegistry({.url = absl::StrCat("file:", dir, "/registry.json")});
  ASSERT_TRUE(file.ok()) << file.status();
  auto etcd = OpenRegistry({.url = cluster_->Url()});
  ASSERT_TRUE(etcd.ok()) << etcd.status();
  ASSERT_TRUE(
      (*file)
          ->Update([](Snapshot& s) -> absl::Status {
            if (auto n = AddNetwork(
                    s, {.name = "blue", .vni = 100, .subnet = "10.10.0.0/24"});
                !n.ok()) {
              return n.status();
            }
            if (auto n = AddNode(s, Host1()); !n.ok()) return n.status();
            for (int i = 0; i < 70; ++i) {
              auto ep = AddEndpoint(s, {.name = absl::StrCat("ep", i),
                                        .network = "blue",
                                        .node = "host1",
                                        .iface = absl::StrCat("veth", i)});
              if (!ep.ok()) return ep.status();
            }
            s.policies["web"] = {.name = "web",
                                 .network = "blue",
                                 .from = "*",
                                 .to = "app=web",
                                 .proto = "tcp",
                                 .port = "80"};
            return absl::OkStatus();
          })
          .ok());

  absl::Status migrated = MigrateRegistry(**file, **etcd);
  ASSERT_TRUE(migrated.ok()) << migrated;
  auto from = (*file)->Load();
  auto to = (*etcd)->Load();
  ASSERT_TRUE(from.ok() && to.ok());
  EXPECT_EQ(to->endpoints.size(), 70u);
  EXPECT_EQ(Records(*to), Records(*from));
  EXPECT_EQ(IndexKeys(), IndexOf(*to));
  // Uniqueness holds on the copy: a clashing write is refused by etcd's
  // index keys even without validation.
  absl::Status clash = (*etcd)->Update([](Snapshot& s) {
    Endpoint dup = s.endpoints.at("ep1");
    dup.name = "dup";
    s.endpoints["dup"] = dup;
    return absl::OkStatus();
  });
  EXPECT_EQ(clash.code(), absl::StatusCode::kAlreadyExists) << clash;
  // Running it again changes nothing.
  EXPECT_TRUE(MigrateRegistry(**file, **etcd).ok());
  EXPECT_EQ((*etcd)->Load()->revision, to->revision);
}

class EtcdClusterTest : public EtcdBackendTest {
 protected:
  void SetUp() override { StartCluster(3); }
};

TEST_F(EtcdClusterTest, WritesAndWatchSurviveLosingAMember) {
  auto backend = Open();
  ASSERT_TRUE(AddBlueAndHost1(*backend).ok());
  auto start = backend->Load();
  ASSERT_TRUE(start.ok());
  auto watcher = backend->Watch(start->revision);
  ASSERT_TRUE(watcher.ok());
  Snapshot state = *start;

  // Member 0 is the one the client talks to first.
  cluster_->Kill(0);
  ASSERT_TRUE(
      backend->Update([](Snapshot& s) { return AddEp(s, "web1"); }).ok());
  EXPECT_TRUE(Converges(**watcher, *backend, state, absl::Seconds(15)));
  EXPECT_EQ(state.endpoints.at("web1").ip, "10.10.0.1");

  // A second client, fresh, also finds its way past the dead member.
  auto other = Open();
  auto loaded = other->Load();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(Records(*loaded), Records(state));
  // Once member 0 is back, nothing breaks either.
  ASSERT_TRUE(cluster_->Restart(0).ok());
  ASSERT_TRUE(other->Update([](Snapshot& s) { return AddEp(s, "web2"); }).ok());
  EXPECT_TRUE(Converges(**watcher, *backend, state, absl::Seconds(15)));

  // Losing the raft leader: an election, then business as usual.
  auto leader = cluster_->Leader();
  ASSERT_TRUE(leader.ok()) << leader.status();
  cluster_->Kill(*leader);
  ASSERT_TRUE(backend
                  ->Update([](Snapshot& s) {
                    s.endpoints.erase("web1");
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_TRUE(Converges(**watcher, *backend, state, absl::Seconds(15)));
  EXPECT_FALSE(state.endpoints.contains("web1"));
}

}  // namespace
}  // namespace ovx::controller

namespace ovx::controller {
namespace {

class EtcdTlsTest : public EtcdBackendTest {
 protected:
  void SetUp() override { StartCluster(1, /*tls=*/true); }
};

TEST_F(EtcdTlsTest, ClientCertificatesOverHttps) {
  RegistryOptions options{.url = cluster_->Url(),
                          .ca_file = cluster_->ca_file(),
                          .cert_file = cluster_->cert_file(),
                          .key_file = cluster_->key_file()};
  auto backend = OpenRegistry(options);
  ASSERT_TRUE(backend.ok()) << backend.status();
  ASSERT_TRUE(AddBlueAndHost1(**backend).ok());
  auto start = (*backend)->Load();
  ASSERT_TRUE(start.ok()) << start.status();
  EXPECT_EQ(start->networks.at("blue"), Blue());
  auto watcher = (*backend)->Watch(start->revision);
  ASSERT_TRUE(watcher.ok());
  Snapshot state = *start;
  ASSERT_TRUE(
      (*backend)->Update([](Snapshot& s) { return AddEp(s, "web1"); }).ok());
  EXPECT_TRUE(Converges(**watcher, **backend, state, absl::Seconds(10)));

  // Without a client certificate the cluster refuses us, and says where.
  options.cert_file.clear();
  options.key_file.clear();
  auto anonymous = OpenRegistry(options);
  ASSERT_TRUE(anonymous.ok());
  auto refused = (*anonymous)->Load();
  EXPECT_FALSE(refused.ok());
  EXPECT_TRUE(absl::StrContains(refused.status().message(), cluster_->Url()))
      << refused.status();
}

}  // namespace
}  // namespace ovx::controller
