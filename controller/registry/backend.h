// Where registry records live. One interface, two backends: file:PATH (the
// embedded default) and etcd://HOST:PORT[,...]. The shape follows etcd:
// revisions, watch from a revision, full resync when history is gone.
#ifndef OVX_CONTROLLER_REGISTRY_BACKEND_H_
#define OVX_CONTROLLER_REGISTRY_BACKEND_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "controller/registry/model.h"

namespace ovx::controller {

// What a watch delivers: either a whole snapshot (the file backend, or a
// resync after compaction / a broken stream) or the changes since the last
// event. `revision` is the backend revision after this event.
struct WatchEvent {
  int64_t revision = 0;
  std::optional<Snapshot> snapshot;
  std::vector<RecordChange> changes;
};

class Watcher {
 public:
  virtual ~Watcher() = default;
  // Next event; DeadlineExceeded when nothing happened within timeout;
  // Unavailable while the backend cannot be reached (caller retries).
  virtual absl::StatusOr<WatchEvent> Next(absl::Duration timeout) = 0;
};

class RegistryBackend {
 public:
  virtual ~RegistryBackend() = default;

  // A consistent snapshot of every record.
  virtual absl::StatusOr<Snapshot> Load() = 0;

  // Atomic read-modify-write. `mutate` gets the current snapshot and edits
  // it; a non-OK status aborts and nothing is written. The backend retries
  // `mutate` on a concurrent change, so it must have no side effects.
  virtual absl::Status Update(
      const std::function<absl::Status(Snapshot&)>& mutate) = 0;

  // Changes after `revision` (the revision of a Load()).
  virtual absl::StatusOr<std::unique_ptr<Watcher>> Watch(int64_t revision) = 0;

  // For logs and errors: "file:/var/lib/ovx/registry.json".
  virtual std::string Describe() const = 0;
};

struct RegistryOptions {
  std::string url;  // file:PATH | etcd://HOST:PORT[,HOST:PORT...]
  // etcd TLS (optional).
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
};

inline constexpr char kDefaultRegistryUrl[] = "file:/var/lib/ovx/registry.json";

// Opens the backend the URL names; InvalidArgument for an unknown scheme.
absl::StatusOr<std::unique_ptr<RegistryBackend>> OpenRegistry(
    const RegistryOptions& options);

}  // namespace ovx::controller

#endif  // OVX_CONTROLLER_REGISTRY_BACKEND_H_
