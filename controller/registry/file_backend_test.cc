#include "controller/registry/file_backend.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "controller/registry/validate.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace ovx::controller {
namespace {

using ::testing::HasSubstr;

class FileBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ovx-registry-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/sub/registry.json";  // parent created on first Update
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  FileBackend Backend() { return FileBackend({.path = path_}); }

  std::string ReadFile() {
    std::ifstream in(path_, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  void WriteFile(const std::string& text) {
    std::filesystem::create_directories(dir_ + "/sub");
    std::ofstream(path_, std::ios::binary) << text;
  }

  static std::function<absl::Status(Snapshot&)> AddNet(std::string name,
                                                       uint32_t vni) {
    return [name, vni](Snapshot& s) {
      return AddNetwork(
                 s, Network{.name = name, .vni = vni, .subnet = "10.0.0.0/16"})
          .status();
    };
  }

  std::string dir_;
  std::string path_;
};

TEST_F(FileBackendTest, MissingFileIsEmptyAtRevisionZero) {
  absl::StatusOr<Snapshot> s = Backend().Load();
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(*s, Snapshot{});
  EXPECT_EQ(Backend().Describe(), "file:" + path_);
}

TEST_F(FileBackendTest, UpdateThenLoad) {
  FileBackend b = Backend();
  ASSERT_TRUE(b.Update(AddNet("blue", 100)).ok());
  ASSERT_TRUE(b.Update(AddNet("red", 200)).ok());
  absl::StatusOr<Snapshot> s = FileBackend({.path = path_}).Load();
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->revision, 2);
  EXPECT_EQ(s->networks.at("red").vni, 200u);
  nlohmann::json doc = nlohmann::json::parse(ReadFile());
  EXPECT_EQ(doc["schema"], 1);
  EXPECT_EQ(doc["revision"], 2);
  EXPECT_EQ(doc["networks"]["blue"]["vni"], 100);
  // Only the document and its lock file remain: no tmp file left behind.
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir_ + "/sub")) {
    names.push_back(e.path().filename());
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names,
            (std::vector<std::string>{"registry.json", "registry.json.lock"}));
}

TEST_F(FileBackendTest, FailedOrNoOpMutateWritesNothing) {
  FileBackend b = Backend();
  ASSERT_TRUE(b.Update(AddNet("blue", 100)).ok());
  const std::string before = ReadFile();
  absl::Status st = b.Update(AddNet("blue", 101));  // duplicate name
  EXPECT_EQ(st.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ReadFile(), before);
  EXPECT_TRUE(b.Update([](Snapshot&) { return absl::OkStatus(); }).ok());
  EXPECT_EQ(ReadFile(), before);
  EXPECT_EQ(b.Load()->revision, 1);
}

TEST_F(FileBackendTest, WriteReplacesTheFileAtomically) {
  FileBackend b = Backend();
  ASSERT_TRUE(b.Update(AddNet("blue", 100)).ok());
  struct stat before, after;
  ASSERT_EQ(::stat(path_.c_str(), &before), 0);
  ASSERT_TRUE(b.Update(AddNet("red", 200)).ok());
  ASSERT_EQ(::stat(path_.c_str(), &after), 0);
  // A new inode renamed over the old one, never a rewrite in place, so an
  // open reader keeps a complete old document.
  EXPECT_NE(before.st_ino, after.st_ino);
}

TEST_F(FileBackendTest, InvalidJsonIsRefusedAndLeftUntouched) {
  const std::string bad = "{\n  \"schema\": 1,\n  \"revision\": oops\n}\n";
  WriteFile(bad);
  FileBackend b = Backend();
  absl::StatusOr<Snapshot> s = b.Load();
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(),
              HasSubstr("registry " + path_ + ": not valid JSON at line 3"));
  EXPECT_EQ(s.status().message().find('\n'), std::string::npos);
  absl::Status st = b.Update(AddNet("blue", 100));
  EXPECT_EQ(st.message(), s.status().message());
  EXPECT_EQ(ReadFile(), bad);

  WriteFile("");
  EXPECT_THAT(b.Load().status().message(), HasSubstr("not valid JSON"));
}

TEST_F(FileBackendTest, NewerSchemaIsRefusedAndLeftUntouched) {
  const std::string newer = R"({"schema": 7, "revision": 3, "networks": {}})";
  WriteFile(newer);
  FileBackend b = Backend();
  absl::StatusOr<Snapshot> s = b.Load();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(),
            "registry " + path_ + ": schema 7 is newer than this ovx (1)");
  EXPECT_FALSE(b.Update(AddNet("blue", 100)).ok());
  EXPECT_EQ(ReadFile(), newer);
}

TEST_F(FileBackendTest, BadRecordIsRefusedNamingIt) {
  const std::string bad =
      R"({"schema":1,"revision":1,"nodes":{"h":{"name":"h","vtep":5}}})";
  WriteFile(bad);
  FileBackend b = Backend();
  EXPECT_EQ(b.Load().status().message(),
            "registry " + path_ +
                ": node h: field \"vtep\" must be a string, got number");
  EXPECT_FALSE(b.Update(AddNet("blue", 100)).ok());
  EXPECT_EQ(ReadFile(), bad);
}

// Runs fn in a child process; returns its exit status.
template <typename Fn>
pid_t Fork(Fn fn) {
  pid_t pid = ::fork();
  if (pid == 0) _exit(fn());
  return pid;
}

int Wait(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST_F(FileBackendTest, WatchSeesAnotherProcessWrite) {
  FileBackend b = Backend();
  absl::StatusOr<std::unique_ptr<Watcher>> w = b.Watch(0);
  ASSERT_TRUE(w.ok()) << w.status();
  // Nothing yet.
  absl::StatusOr<WatchEvent> e = (*w)->Next(absl::Milliseconds(50));
  EXPECT_EQ(e.status().code(), absl::StatusCode::kDeadlineExceeded);

  const std::string path = path_;
  pid_t child = Fork([path] {
    ::usleep(100 * 1000);
    return FileBackend({.path = path}).Update(AddNet("blue", 100)).ok() ? 0 : 1;
  });
  const absl::Time start = absl::Now();
  e = (*w)->Next(absl::Seconds(5));
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(Wait(child), 0);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->revision, 1);
  ASSERT_TRUE(e->snapshot.has_value());
  EXPECT_EQ(e->snapshot->networks.at("blue").vni, 100u);
  EXPECT_LT(took, absl::Seconds(2));  // woken by inotify, not the timeout
  EXPECT_EQ((*w)->Next(absl::Milliseconds(20)).status().code(),
            absl::StatusCode::kDeadlineExceeded);
}

TEST_F(FileBackendTest, WatchReportsChangesBetweenLoadAndWatch) {
  FileBackend b = Backend();
  ASSERT_TRUE(b.Update(AddNet("blue", 100)).ok());
  int64_t rev = b.Load()->revision;
  ASSERT_TRUE(b.Update(AddNet("red", 200)).ok());  // before Watch()
  auto w = b.Watch(rev);
  ASSERT_TRUE(w.ok());
  absl::StatusOr<WatchEvent> e = (*w)->Next(absl::Milliseconds(100));
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->revision, 2);
  EXPECT_TRUE(e->snapshot->networks.contains("red"));
}

TEST_F(FileBackendTest, WatchSurvivesABadDocument) {
  FileBackend b = Backend();
  ASSERT_TRUE(b.Update(AddNet("blue", 100)).ok());
  auto w = b.Watch(1);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ((*w)->Next(absl::Milliseconds(10)).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  std::string tmp = dir_ + "/sub/edit";
  std::ofstream(tmp) << "{broken";
  std::filesystem::rename(tmp, path_);
  absl::StatusOr<WatchEvent> e = (*w)->Next(absl::Seconds(2));
  EXPECT_EQ(e.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(e.status().message(), HasSubstr("not valid JSON"));
  // No spinning on the same bad file...
  EXPECT_EQ((*w)->Next(absl::Milliseconds(50)).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  // ...and a good document is picked up again.
  std::ofstream(tmp) << R"({"schema":1,"revision":5})";
  std::filesystem::rename(tmp, path_);
  e = (*w)->Next(absl::Seconds(2));
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->revision, 5);
}

// Several processes add endpoints while others Load and Watch: the document
// always parses, no update is lost and revisions only go up.
TEST_F(FileBackendTest, Hammer) {
  FileBackend b = Backend();
  ASSERT_TRUE(
      b.Update([](Snapshot& s) {
         absl::Status st = AddNetwork(s, Network{.name = "blue",
                                                 .vni = 100,
                                                 .subnet = "10.10.0.0/16"})
                               .status();
         if (st.ok()) {
           st = AddNode(s, Node{.name = "h", .vtep = "192.0.2.1"}).status();
         }
         return st;
       }).ok());
  const std::string path = path_;
  const absl::Time end = absl::Now() + absl::Seconds(3);
  constexpr int kWriters = 4;
  int counts[kWriters][2];
  std::vector<pid_t> writers, readers;
  for (int i = 0; i < kWriters; ++i) {
    ASSERT_EQ(::pipe(counts[i]), 0);
    writers.push_back(Fork([&, i] {
      ::close(counts[i][0]);
      FileBackend mine({.path = path});
      int ok = 0;
      for (int n = 0; absl::Now() < end; ++n) {
        absl::Status st = mine.Update([&](Snapshot& s) {
          return AddEndpoint(s, Endpoint{.name = absl::StrCat("w", i, "-", n),
                                         .network = "blue",
                                         .node = "h"})
              .status();
        });
        if (!st.ok()) return 2;
        ++ok;
      }
      return ::write(counts[i][1], &ok, sizeof(ok)) == sizeof(ok) ? 0 : 3;
    }));
    ::close(counts[i][1]);
  }
  for (int i = 0; i < 2; ++i) {
    readers.push_back(Fork([&] {
      FileBackend mine({.path = path});
      int64_t last = 0;
      while (absl::Now() < end) {
        absl::StatusOr<Snapshot> s = mine.Load();
        if (!s.ok() || s->revision < last) return 4;
        // Each write adds one endpoint: revision = endpoints + 1 setup write.
        if (s->revision != static_cast<int64_t>(s->endpoints.size()) + 1) {
          return 5;
        }
        last = s->revision;
      }
      return 0;
    }));
    readers.push_back(Fork([&] {
      FileBackend mine({.path = path});
      auto w = mine.Watch(0);
      if (!w.ok()) return 6;
      int64_t last = 0;
      int events = 0;
      while (absl::Now() < end) {
        absl::StatusOr<WatchEvent> e = (*w)->Next(absl::Milliseconds(100));
        if (absl::IsDeadlineExceeded(e.status())) continue;
        if (!e.ok() || e->revision <= last || !e->snapshot ||
            e->snapshot->revision != e->revision) {
          return 7;
        }
        last = e->revision;
        ++events;
      }
      return events > 1 ? 0 : 8;
    }));
  }
  int total = 0;
  for (int i = 0; i < kWriters; ++i) {
    EXPECT_EQ(Wait(writers[i]), 0) << "writer " << i;
    int ok = 0;
    EXPECT_EQ(::read(counts[i][0], &ok, sizeof(ok)),
              static_cast<ssize_t>(sizeof(ok)));
    ::close(counts[i][0]);
    total += ok;
  }
  for (pid_t r : readers) EXPECT_EQ(Wait(r), 0) << "reader/watcher " << r;
  absl::StatusOr<Snapshot> s = b.Load();
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_GT(total, kWriters);
  EXPECT_EQ(static_cast<int>(s->endpoints.size()), total);
  EXPECT_EQ(s->revision, total + 1);
  std::set<std::string> ips;
  for (const auto& [name, e] : s->endpoints) ips.insert(e.ip);
  EXPECT_EQ(static_cast<int>(ips.size()), total);
}

}  // namespace
}  // namespace ovx::controller

namespace ovx::controller {
namespace {

TEST(OpenRegistry, Schemes) {
  auto b = OpenRegistry({.url = "file:/tmp/x/registry.json"});
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ((*b)->Describe(), "file:/tmp/x/registry.json");
  b = OpenRegistry({.url = "file:///tmp/y.json"});
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ((*b)->Describe(), "file:/tmp/y.json");
  EXPECT_EQ(OpenRegistry({.url = "file:"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::Status st = OpenRegistry({.url = "http://x"}).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(),
            "registry URL \"http://x\" is not supported (want file:PATH or "
            "etcd://HOST:PORT[,HOST:PORT...])");
}

}  // namespace
}  // namespace ovx::controller
