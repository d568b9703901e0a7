// The run loop over fakes: registry backend, map writer, interface resolver
// and TC attach. Shows the restart and outage semantics without a kernel.
#include "controller/reconciler/controller.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "absl/strings/match.h"
#include "controller/reconciler/test_util.h"

namespace ovx::controller {
namespace {

using testing::AddEndpoint;
using testing::AddNetwork;
using testing::AddNode;
using testing::FakeMapWriter;
using testing::FakeResolver;

constexpr absl::Duration kWait = absl::Seconds(5);

Snapshot Cluster(int64_t revision) {
  Snapshot s;
  s.revision = revision;
  AddNetwork(s, "blue", 100);
  AddNode(s, "host1", "192.168.50.1");
  AddNode(s, "host2", "192.168.50.2");
  AddEndpoint(s, "web1", "blue", "host1", "10.10.0.5", "02:00:00:00:00:05",
              "veth-web1");
  AddEndpoint(s, "db1", "blue", "host2", "10.10.0.6", "02:00:00:00:00:06");
  return s;
}

DataplaneState Desired(const Snapshot& s) {
  return ComputeDesiredState(s, {"host1", 0}, FakeResolver({{"veth-web1", 7}}))
      .maps;
}

// Scripted registry: Load fails `load_failures` times, then returns
// `snapshot`; watchers deliver what Push() queues.
class FakeRegistry : public RegistryBackend {
 public:
  explicit FakeRegistry(Snapshot snapshot) : snapshot_(std::move(snapshot)) {}

  void FailLoads(int n) {
    std::lock_guard<std::mutex> lock(mu_);
    load_failures_ = n;
  }
  void Push(WatchEvent event) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (event.snapshot.has_value()) snapshot_ = *event.snapshot;
      events_.push_back(std::move(event));
    }
    cv_.notify_all();
  }
  int loads() {
    std::lock_guard<std::mutex> lock(mu_);
    return loads_;
  }

  absl::StatusOr<Snapshot> Load() override {
    std::lock_guard<std::mutex> lock(mu_);
    ++loads_;
    if (load_failures_ > 0) {
      --load_failures_;
      return absl::UnavailableError("connection refused");
    }
    return snapshot_;
  }
  absl::Status Update(const std::function<absl::Status(Snapshot&)>&) override {
    return absl::UnimplementedError("read-only fake");
  }
  absl::StatusOr<std::unique_ptr<Watcher>> Watch(int64_t) override {
    return std::unique_ptr<Watcher>(new FakeWatcher(*this));
  }
  std::string Describe() const override { return "fake:"; }

 private:
  class FakeWatcher : public Watcher {
   public:
    explicit FakeWatcher(FakeRegistry& registry) : registry_(registry) {}
    absl::StatusOr<WatchEvent> Next(absl::Duration timeout) override {
      std::unique_lock<std::mutex> lock(registry_.mu_);
      if (!registry_.cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                                  [&] { return !registry_.events_.empty(); })) {
        return absl::DeadlineExceededError("nothing new");
      }
      WatchEvent event = std::move(registry_.events_.front());
      registry_.events_.pop_front();
      return event;
    }

   private:
    FakeRegistry& registry_;
  };

  std::mutex mu_;
  std::condition_variable cv_;
  Snapshot snapshot_;
  int load_failures_ = 0;
  int loads_ = 0;
  std::deque<WatchEvent> events_;
};

// FakeMapWriter behind a mutex: the loop writes on its thread, tests read.
class LockedWriter : public MapWriter {
 public:
  explicit LockedWriter(DataplaneState initial) { fake_.maps = initial; }
  DataplaneState maps() {
    std::lock_guard<std::mutex> lock(mu_);
    return fake_.maps;
  }
  size_t writes() {
    std::lock_guard<std::mutex> lock(mu_);
    return fake_.ops.size();
  }
  void set_policy_supported(bool supported) {
    std::lock_guard<std::mutex> lock(mu_);
    fake_.policy_supported = supported;
  }

#define OVX_LOCKED(call)                 \
  std::lock_guard<std::mutex> lock(mu_); \
  return fake_.call
  absl::StatusOr<DataplaneState> ReadAll() override { OVX_LOCKED(ReadAll()); }
  absl::Status PutNetwork(uint32_t k, const ovx_network& v) override {
    OVX_LOCKED(PutNetwork(k, v));
  }
  absl::Status DeleteNetwork(uint32_t k) override {
    OVX_LOCKED(DeleteNetwork(k));
  }
  absl::Status PutVtep(const ovx_vtep_key& k, const ovx_vtep& v) override {
    OVX_LOCKED(PutVtep(k, v));
  }
  absl::Status DeleteVtep(const ovx_vtep_key& k) override {
    OVX_LOCKED(DeleteVtep(k));
  }
  absl::Status PutVtepVni(const ovx_vtep_vni_key& k,
                          const ovx_vtep_vni& v) override {
    OVX_LOCKED(PutVtepVni(k, v));
  }
  absl::Status DeleteVtepVni(const ovx_vtep_vni_key& k) override {
    OVX_LOCKED(DeleteVtepVni(k));
  }
  absl::Status PutInterface(uint32_t k, const ovx_interface& v) override {
    OVX_LOCKED(PutInterface(k, v));
  }
  absl::Status DeleteInterface(uint32_t k) override {
    OVX_LOCKED(DeleteInterface(k));
  }
  absl::Status PutEndpoint(const ovx_endpoint_key& k,
                           const ovx_endpoint& v) override {
    OVX_LOCKED(PutEndpoint(k, v));
  }
  absl::Status DeleteEndpoint(const ovx_endpoint_key& k) override {
    OVX_LOCKED(DeleteEndpoint(k));
  }
  absl::Status PutPolicy(const ovx_policy_key& k,
                         const ovx_policy& v) override {
    OVX_LOCKED(PutPolicy(k, v));
  }
  absl::Status DeletePolicy(const ovx_policy_key& k) override {
    OVX_LOCKED(DeletePolicy(k));
  }
  bool SupportsPolicy() override { OVX_LOCKED(SupportsPolicy()); }
#undef OVX_LOCKED

 private:
  std::mutex mu_;
  FakeMapWriter fake_;
};

class LogSink {
 public:
  LogFn fn() {
    return [this](absl::string_view line) {
      std::lock_guard<std::mutex> lock(mu_);
      lines_.emplace_back(line);
      cv_.notify_all();
    };
  }
  // True once a line containing `text` was logged (within kWait).
  bool WaitFor(absl::string_view text) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, absl::ToChronoNanoseconds(kWait), [&] {
      for (const std::string& l : lines_) {
        if (absl::StrContains(l, text)) return true;
      }
      return false;
    });
  }
  int Count(absl::string_view text) {
    std::lock_guard<std::mutex> lock(mu_);
    int n = 0;
    for (const std::string& l : lines_) n += absl::StrContains(l, text);
    return n;
  }
  std::string All() {
    std::lock_guard<std::mutex> lock(mu_);
    std::string out;
    for (const std::string& l : lines_) absl::StrAppend(&out, l, "\n");
    return out;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
};

class ControllerTest : public ::testing::Test {
 protected:
  // Builds a controller over fakes; the registry starts at `snapshot`, the
  // "pinned maps" hold `maps`.
  std::unique_ptr<Controller> Make(Snapshot snapshot, DataplaneState maps,
                                   bool once) {
    auto registry = std::make_unique<FakeRegistry>(std::move(snapshot));
    auto writer = std::make_unique<LockedWriter>(std::move(maps));
    registry_ = registry.get();
    writer_ = writer.get();
    ControllerDeps deps;
    deps.backend = std::move(registry);
    deps.writer = std::move(writer);
    deps.resolve = FakeResolver({{"veth-web1", 7}});
    deps.attach = [this](const std::string& iface) {
      std::lock_guard<std::mutex> lock(mu_);
      attaches_.push_back(iface);
      if (attach_failures_ > 0) {
        --attach_failures_;
        return absl::ResourceExhaustedError("busy");
      }
      return absl::OkStatus();
    };
    deps.detach = [](const std::string&) { return absl::OkStatus(); };
    ControllerOptions options;
    options.node = "host1";
    options.once = once;
    options.retry_min = absl::Milliseconds(10);
    options.log = log_.fn();
    auto controller = Controller::CreateWith(options, std::move(deps));
    EXPECT_TRUE(controller.ok()) << controller.status();
    return controller.ok() ? *std::move(controller) : nullptr;
  }

  void Start(Controller* c) {
    thread_ = std::thread([this, c] { run_status_ = c->Run(); });
  }
  absl::Status StopAndJoin(Controller* c) {
    c->Stop();
    thread_.join();
    return run_status_;
  }
  std::vector<std::string> attaches() {
    std::lock_guard<std::mutex> lock(mu_);
    return attaches_;
  }

  FakeRegistry* registry_ = nullptr;
  LockedWriter* writer_ = nullptr;
  LogSink log_;
  std::mutex mu_;
  std::vector<std::string> attaches_;
  int attach_failures_ = 0;
  std::thread thread_;
  absl::Status run_status_;
};

TEST_F(ControllerTest, OnceFillsTheMapsAndAttaches) {
  auto c = Make(Cluster(4), {}, /*once=*/true);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Run().ok()) << log_.All();
  EXPECT_TRUE(writer_->maps() == Desired(Cluster(4)));
  EXPECT_EQ(attaches(), std::vector<std::string>{"veth-web1"});
  EXPECT_TRUE(log_.WaitFor("reconciled revision=4: +6 ~0 -0")) << log_.All();
  EXPECT_TRUE(log_.WaitFor("attached tc_endpoint to veth-web1 (ifindex 7)"));
}

// blue as a deny network with one rule between web1 and db1.
Snapshot WithPolicy(int64_t revision) {
  Snapshot s = Cluster(revision);
  s.networks["blue"].policy = "deny";
  s.endpoints["web1"].identity = 256;
  s.endpoints["db1"].identity = 257;
  s.policies["all"] =
      Policy{.name = "all", .network = "blue", .from = "*", .to = "*"};
  return s;
}

TEST_F(ControllerTest, PolicyIsWrittenWhenTheProgramsHaveTheMap) {
  auto c = Make(WithPolicy(4), {}, /*once=*/true);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Run().ok()) << log_.All();
  EXPECT_EQ(writer_->maps().policy.size(), 1u);
  EXPECT_TRUE(writer_->maps() == Desired(WithPolicy(4)));
  EXPECT_EQ(log_.Count("policy map"), 0) << log_.All();
}

TEST_F(ControllerTest, MissingPolicyMapIsOneWarningAndTheRestIsWritten) {
  auto c = Make(WithPolicy(4), {}, /*once=*/false);
  ASSERT_NE(c, nullptr);
  writer_->set_policy_supported(false);
  Start(c.get());
  ASSERT_TRUE(log_.WaitFor("reconciled revision=4: +6 ~0 -0")) << log_.All();
  Snapshot next = WithPolicy(5);
  next.policies["more"] = Policy{.name = "more",
                                 .network = "blue",
                                 .from = "*",
                                 .to = "*",
                                 .proto = "icmp"};
  registry_->Push(WatchEvent{.revision = 5, .snapshot = next});
  ASSERT_TRUE(log_.WaitFor("reconciled revision=5: +0 ~0 -0")) << log_.All();
  EXPECT_TRUE(StopAndJoin(c.get()).ok());
  EXPECT_EQ(log_.Count("warning: no policy map under the bpffs root"), 1)
      << log_.All();
  DataplaneState want = Desired(WithPolicy(4));
  want.policy.clear();
  EXPECT_TRUE(writer_->maps() == want) << DescribeState(writer_->maps());
}

TEST_F(ControllerTest, OnceKeepsKnownLinks) {
  auto c = Make(Cluster(4), {}, /*once=*/true);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Run().ok());
  // A second controller that learns the link from the loader does not
  // attach again.
  ControllerDeps deps;
  deps.backend = std::make_unique<FakeRegistry>(Cluster(4));
  deps.writer = std::make_unique<LockedWriter>(Desired(Cluster(4)));
  deps.resolve = FakeResolver({{"veth-web1", 7}});
  int attached = 0;
  deps.attach = [&](const std::string&) {
    ++attached;
    return absl::OkStatus();
  };
  deps.detach = [](const std::string&) { return absl::OkStatus(); };
  deps.endpoint_links = {{"veth-web1", 7}};
  ControllerOptions options;
  options.node = "host1";
  options.once = true;
  options.log = log_.fn();
  auto again = Controller::CreateWith(options, std::move(deps));
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE((*again)->Run().ok());
  EXPECT_EQ(attached, 0);
}

TEST_F(ControllerTest, OnceReportsRegistryErrors) {
  auto c = Make(Cluster(4), {}, /*once=*/true);
  ASSERT_NE(c, nullptr);
  registry_->FailLoads(1);
  absl::Status s = c->Run();
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
  EXPECT_NE(s.message().find("load registry fake:"), std::string::npos) << s;
  EXPECT_EQ(writer_->writes(), 0u);
}

TEST_F(ControllerTest, OnceRefusesAnUnknownNode) {
  Snapshot s = Cluster(4);
  s.nodes.erase("host1");
  auto c = Make(s, Desired(Cluster(3)), /*once=*/true);
  ASSERT_NE(c, nullptr);
  absl::Status status = c->Run();
  EXPECT_TRUE(absl::IsNotFound(status)) << status;
  EXPECT_NE(status.message().find("node 'host1' is not in the registry"),
            std::string::npos);
  EXPECT_EQ(writer_->writes(), 0u);  // an unknown node never empties maps
}

TEST_F(ControllerTest, RegistryOutageKeepsTheDataplane) {
  // Restart with the maps already right while the registry is down.
  auto c = Make(Cluster(4), Desired(Cluster(4)), /*once=*/false);
  ASSERT_NE(c, nullptr);
  registry_->FailLoads(3);
  Start(c.get());
  EXPECT_TRUE(log_.WaitFor("dataplane kept as is, retry in")) << log_.All();
  EXPECT_TRUE(log_.WaitFor("reconciled revision=4: +0 ~0 -0")) << log_.All();
  EXPECT_GE(registry_->loads(), 4);
  EXPECT_EQ(writer_->writes(), 0u);
  EXPECT_TRUE(StopAndJoin(c.get()).ok());
  EXPECT_TRUE(log_.WaitFor("stopping: maps left as they are"));
  EXPECT_EQ(writer_->writes(), 0u);
  EXPECT_TRUE(writer_->maps() == Desired(Cluster(4)));
}

TEST_F(ControllerTest, WatchEventsAreApplied) {
  auto c = Make(Cluster(4), {}, /*once=*/false);
  ASSERT_NE(c, nullptr);
  Start(c.get());
  ASSERT_TRUE(log_.WaitFor("reconciled revision=4: +6 ~0 -0")) << log_.All();

  // Incremental: one endpoint added.
  Snapshot next = Cluster(5);
  AddEndpoint(next, "db2", "blue", "host2", "10.10.0.7", "02:00:00:00:00:07");
  WatchEvent add;
  add.revision = 5;
  add.changes.push_back(
      {RecordKind::kEndpoint, "db2", false, next.endpoints.at("db2")});
  registry_->Push(add);
  EXPECT_TRUE(log_.WaitFor("reconciled revision=5: +1 ~1 -0")) << log_.All();
  EXPECT_TRUE(writer_->maps() == Desired(next));

  // Whole snapshot (file backend, resync): db1 and db2 gone.
  WatchEvent replace;
  replace.revision = 6;
  replace.snapshot = Cluster(6);
  replace.snapshot->endpoints.erase("db1");
  registry_->Push(replace);
  EXPECT_TRUE(log_.WaitFor("reconciled revision=6: +0 ~0 -4")) << log_.All();
  EXPECT_TRUE(writer_->maps() == Desired(*replace.snapshot));
  EXPECT_TRUE(StopAndJoin(c.get()).ok());
}

TEST_F(ControllerTest, UnknownNodeWaitsWithoutTouchingTheMaps) {
  Snapshot s = Cluster(4);
  s.nodes.erase("host1");
  auto c = Make(s, Desired(Cluster(3)), /*once=*/false);
  ASSERT_NE(c, nullptr);
  Start(c.get());
  EXPECT_TRUE(
      log_.WaitFor("node 'host1' is not in the registry fake: "
                   "(revision 4): add it with 'ovxctl node add host1"))
      << log_.All();
  EXPECT_EQ(writer_->writes(), 0u);
  WatchEvent added;
  added.revision = 5;
  added.changes.push_back(
      {RecordKind::kNode, "host1", false, Node{"host1", "192.168.50.1"}});
  registry_->Push(added);
  EXPECT_TRUE(log_.WaitFor("reconciled revision=5: +0 ~0 -0")) << log_.All();
  EXPECT_EQ(log_.Count("is not in the registry"), 1);  // said once
  EXPECT_TRUE(StopAndJoin(c.get()).ok());
}

TEST_F(ControllerTest, FailedAttachIsRetried) {
  attach_failures_ = 2;
  auto c = Make(Cluster(4), {}, /*once=*/false);
  ASSERT_NE(c, nullptr);
  Start(c.get());
  EXPECT_TRUE(log_.WaitFor("attached tc_endpoint to veth-web1")) << log_.All();
  EXPECT_EQ(log_.Count("attach tc_endpoint to veth-web1: busy"), 2)
      << log_.All();
  EXPECT_EQ(attaches().size(), 3u);
  EXPECT_TRUE(StopAndJoin(c.get()).ok());
}

}  // namespace
}  // namespace ovx::controller
