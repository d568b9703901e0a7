#include "controller/registry/etcd/etcd_backend.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <iostream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "controller/registry/etcd/etcd_client.h"
#include "controller/registry/etcd/etcd_layout.h"

namespace ovx::controller {
namespace {

using etcd::EtcdClient;
using nlohmann::json;

// Update retries when another writer changed what it read. Each attempt is
// one range + one txn; jitter keeps racing writers from colliding in step.
constexpr int kUpdateAttempts = 20;

void LogProblems(const std::vector<std::string>& problems) {
  for (const std::string& problem : problems) {
    std::cerr << "ovx registry: error: " << problem << "\n";
  }
}

absl::Status WithContext(const absl::Status& status, absl::string_view what) {
  return absl::Status(status.code(),
                      absl::StrCat(what, ": ", status.message()));
}

// Keys per range request: one page of 10,000 records is ~3 MB of JSON and
// well under a second for etcd's gateway (docs/etcd-scale.md).
constexpr int64_t kPageKeys = 10000;

// Reads the registry's records at one revision, page by page, skipping the
// index keys (two thirds of the keys). `raw`, when set, gets the records as
// read, for Update()'s guarded transaction.
absl::StatusOr<Snapshot> LoadFrom(EtcdClient& client, etcd::RangeResult* raw) {
  const std::string root = etcd::kRootPrefix;
  const std::string index = etcd::kIndexPrefix;
  const std::vector<std::pair<std::string, std::string>> ranges = {
      {root, index}, {etcd::PrefixEnd(index), etcd::PrefixEnd(root)}};
  Snapshot snap;
  std::vector<std::string> problems;
  int64_t revision = 0;
  for (const auto& [from, to] : ranges) {
    absl::Status status = client.RangePaged(
        from, to, kPageKeys, &revision, [&](std::vector<etcd::KeyValue>& kvs) {
          etcd::RangeResult page;
          page.kvs = std::move(kvs);
          Snapshot part = etcd::DecodeSnapshot(page, &problems);
          snap.networks.merge(part.networks);
          snap.nodes.merge(part.nodes);
          snap.endpoints.merge(part.endpoints);
          snap.policies.merge(part.policies);
          if (raw != nullptr) {
            for (etcd::KeyValue& kv : page.kvs)
              raw->kvs.push_back(std::move(kv));
          }
          return absl::OkStatus();
        });
    if (!status.ok()) return WithContext(status, "read registry");
  }
  snap.revision = revision;
  if (raw != nullptr) raw->revision = revision;
  LogProblems(problems);
  return snap;
}

// Turns one watch event into a RecordChange; nullopt for index keys.
std::optional<RecordChange> ToChange(const json& event, int64_t* mod_revision) {
  absl::StatusOr<etcd::KeyValue> kv =
      etcd::DecodeKeyValue(event.value("kv", json::object()));
  if (!kv.ok()) {
    std::cerr << "ovx registry: error: watch event: " << kv.status().message()
              << "\n";
    return std::nullopt;
  }
  *mod_revision = std::max(*mod_revision, kv->mod_revision);
  auto parsed = etcd::ParseRecordKey(kv->key);
  if (!parsed.has_value()) return std::nullopt;
  RecordChange change;
  change.kind = parsed->first;
  change.name = parsed->second;
  if (event.value("type", "PUT") == "DELETE") {
    change.deleted = true;
    return change;
  }
  absl::StatusOr<RecordChange> decoded =
      etcd::DecodeRecord(parsed->first, parsed->second, kv->key, kv->value);
  if (!decoded.ok()) {
    // Same outcome as Load(): a record that does not decode is not served.
    std::cerr << "ovx registry: error: " << decoded.status().message()
              << " (record skipped)\n";
    change.deleted = true;
    return change;
  }
  return *std::move(decoded);
}

// A reader thread follows /v3/watch and queues events; Next() waits on the
// queue with a timeout. A compacted revision or a broken stream becomes a
// relist: one WatchEvent carrying the whole snapshot.
class EtcdWatcher : public Watcher {
 public:
  EtcdWatcher(std::shared_ptr<EtcdClient> client, int64_t revision)
      : client_(std::move(client)), next_revision_(revision + 1) {
    thread_ = std::thread([this] { Run(); });
  }

  ~EtcdWatcher() override {
    {
      absl::MutexLock lock(&mu_);
      stop_.store(true);
    }
    thread_.join();
  }

  absl::StatusOr<WatchEvent> Next(absl::Duration timeout) override {
    absl::MutexLock lock(&mu_);
    auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !queue_.empty() || !unavailable_.ok();
    };
    mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
    if (!queue_.empty()) {
      WatchEvent event = std::move(queue_.front());
      queue_.pop_front();
      return event;
    }
    if (!unavailable_.ok()) return unavailable_;
    return absl::DeadlineExceededError(absl::StrCat(
        "no registry change within ", absl::FormatDuration(timeout)));
  }

 private:
  void Push(WatchEvent event) {
    absl::MutexLock lock(&mu_);
    queue_.push_back(std::move(event));
    unavailable_ = absl::OkStatus();
  }

  void SetAvailable(absl::Status status) {
    absl::MutexLock lock(&mu_);
    unavailable_ = status.ok() ? status
                               : absl::UnavailableError(absl::StrCat(
                                     "watch registry: ", status.message()));
  }

  // Sleeps for `d` unless the watcher is being destroyed.
  void Pause(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    auto stopping = [this] { return stop_.load(); };
    mu_.AwaitWithTimeout(absl::Condition(&stopping), d);
  }

  bool Relist() {
    absl::StatusOr<Snapshot> snap = LoadFrom(*client_, nullptr);
    if (!snap.ok()) {
      SetAvailable(snap.status());
      return false;
    }
    next_revision_ = snap->revision + 1;
    WatchEvent event;
    event.revision = snap->revision;
    event.snapshot = *std::move(snap);
    Push(std::move(event));
    return true;
  }

  bool OnMessage(const json& message, int64_t* compacted) {
    if (message.contains("error")) {
      std::cerr << "ovx registry: watch " << client_->Describe()
                << ": error: " << message["error"].dump() << "\n";
      return false;
    }
    const json& result = message.value("result", json::object());
    if (result.value("canceled", false)) {
      *compacted = etcd::JsonInt64(result, "compact_revision");
      if (*compacted == 0) {
        std::cerr << "ovx registry: watch " << client_->Describe()
                  << " canceled: "
                  << result.value("cancel_reason", "no reason given") << "\n";
      }
      return false;
    }
    if (result.value("created", false)) {
      created_ = true;
      SetAvailable(absl::OkStatus());
      return true;
    }
    if (!result.contains("events")) return true;  // progress notification
    WatchEvent event;
    int64_t last = 0;
    for (const json& e : result["events"]) {
      std::optional<RecordChange> change = ToChange(e, &last);
      if (change.has_value()) event.changes.push_back(*std::move(change));
    }
    if (last > 0) next_revision_ = last + 1;
    if (!event.changes.empty()) {
      event.revision = last;
      Push(std::move(event));
    }
    return true;
  }

  void Run() {
    bool relist = false;
    absl::Duration backoff = absl::Milliseconds(100);
    while (!stop_.load()) {
      if (relist) {
        if (!Relist()) {
          Pause(backoff);
          backoff = std::min(backoff * 2, absl::Seconds(2));
          continue;
        }
        relist = false;
      }
      const std::string prefix = etcd::kRootPrefix;
      json request = {{"create_request",
                       {{"key", etcd::Base64(prefix)},
                        {"range_end", etcd::Base64(etcd::PrefixEnd(prefix))},
                        {"start_revision", std::to_string(next_revision_)}}}};
      int64_t compacted = 0;
      created_ = false;
      absl::Status status = client_->Stream(
          "/v3/watch", request,
          [&](const json& message) { return OnMessage(message, &compacted); },
          stop_);
      if (stop_.load()) break;
      if (compacted > 0) {
        std::cerr << "ovx registry: watch " << client_->Describe()
                  << ": revision " << next_revision_ << " compacted (at "
                  << compacted << "), relisting\n";
      } else if (!status.ok()) {
        std::cerr << "ovx registry: " << status.message() << ", relisting\n";
      }
      relist = true;
      // A stream refused outright (not a break after running) must not
      // turn into a tight relist loop.
      if (created_) {
        backoff = absl::Milliseconds(100);
      } else if (compacted == 0) {
        Pause(backoff);
        backoff = std::min(backoff * 2, absl::Seconds(2));
      }
    }
  }

  std::shared_ptr<EtcdClient> client_;
  int64_t next_revision_;  // reader thread only
  bool created_ = false;   // reader thread only: the current stream started
  std::atomic<bool> stop_{false};
  absl::Mutex mu_;
  std::deque<WatchEvent> queue_ ABSL_GUARDED_BY(mu_);
  absl::Status unavailable_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

class EtcdBackend : public RegistryBackend {
 public:
  explicit EtcdBackend(std::shared_ptr<EtcdClient> client)
      : client_(std::move(client)) {}

  absl::StatusOr<Snapshot> Load() override {
    return LoadFrom(*client_, nullptr);
  }

  absl::Status Update(
      const std::function<absl::Status(Snapshot&)>& mutate) override {
    std::mt19937 rng(std::random_device{}() ^ static_cast<unsigned>(getpid()));
    for (int attempt = 1; attempt <= kUpdateAttempts; ++attempt) {
      etcd::RangeResult raw;
      absl::StatusOr<Snapshot> before = LoadFrom(*client_, &raw);
      if (!before.ok()) return before.status();
      Snapshot after = *before;
      if (absl::Status status = mutate(after); !status.ok()) return status;
      const std::set<std::string> index_keys =
          etcd::IndexKeysOfChange(*before, after);
      if (absl::Status status = ReadKeys(index_keys, &raw); !status.ok())
        return status;
      absl::StatusOr<std::optional<json>> txn =
          etcd::BuildUpdateTxn(raw, *before, after, index_keys);
      if (!txn.ok()) return txn.status();
      if (!txn->has_value()) return absl::OkStatus();  // nothing to write
      absl::StatusOr<etcd::TxnResult> result = client_->Txn(**txn);
      if (!result.ok()) {
        absl::Status status = WithContext(result.status(), "write registry");
        if (absl::StrContains(status.message(), "too many operations")) {
          return absl::Status(
              status.code(),
              absl::StrCat(status.message(),
                           " (etcd's --max-txn-ops, 128 by default, bounds one "
                           "change: write fewer records at once)"));
        }
        return status;
      }
      if (result->succeeded) return absl::OkStatus();
      // Someone else wrote what we read: read again and redo the change.
      std::uniform_int_distribution<int> jitter(1, 10 * std::min(attempt, 5));
      absl::SleepFor(absl::Milliseconds(jitter(rng)));
    }
    return absl::AbortedError(
        absl::StrCat("write registry ", client_->Describe(), ": gave up after ",
                     kUpdateAttempts,
                     " attempts, other writers kept changing the "
                     "same records"));
  }

  absl::StatusOr<std::unique_ptr<Watcher>> Watch(int64_t revision) override {
    return std::make_unique<EtcdWatcher>(client_, revision);
  }

  std::string Describe() const override { return client_->Describe(); }

 private:
  // Appends `keys` to `raw`, each read at raw's revision: an index key
  // another writer created after the records were read must look absent,
  // so that the transaction's create_revision guard catches it.
  absl::Status ReadKeys(const std::set<std::string>& keys,
                        etcd::RangeResult* raw) {
    for (const std::string& key : keys) {
      absl::StatusOr<etcd::RangeResult> one =
          client_->Range(key, "", 0, raw->revision);
      if (!one.ok()) return WithContext(one.status(), "read registry");
      for (etcd::KeyValue& kv : one->kvs) raw->kvs.push_back(std::move(kv));
    }
    return absl::OkStatus();
  }

  std::shared_ptr<EtcdClient> client_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<RegistryBackend>> OpenEtcdRegistry(
    const RegistryOptions& options) {
  absl::StatusOr<std::vector<std::string>> members =
      etcd::ParseEtcdUrl(options.url);
  if (!members.ok()) return members.status();
  for (const std::string* file :
       {&options.ca_file, &options.cert_file, &options.key_file}) {
    if (!file->empty() && access(file->c_str(), R_OK) != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "registry ", options.url, ": cannot read TLS file ", *file));
    }
  }
  if (options.cert_file.empty() != options.key_file.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("registry ", options.url,
                     ": a client certificate needs both cert and key files"));
  }
  etcd::EtcdClientOptions client_options;
  client_options.members = *std::move(members);
  client_options.ca_file = options.ca_file;
  client_options.cert_file = options.cert_file;
  client_options.key_file = options.key_file;
  return std::make_unique<EtcdBackend>(
      std::make_shared<EtcdClient>(std::move(client_options)));
}

}  // namespace ovx::controller
