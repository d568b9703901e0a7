// The embedded registry: one JSON document on local disk, for one machine.
// Writers serialize on flock(PATH.lock), write PATH.tmp.<pid>, fsync and
// rename it over PATH, so readers never see a partial document and need no
// lock. Watchers use inotify on the parent directory. See docs/registry.md.
#ifndef OVX_CONTROLLER_REGISTRY_FILE_BACKEND_H_
#define OVX_CONTROLLER_REGISTRY_FILE_BACKEND_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "controller/registry/backend.h"

namespace ovx::controller {

struct FileBackendOptions {
  std::string path = "/var/lib/ovx/registry.json";
};

class FileBackend : public RegistryBackend {
 public:
  explicit FileBackend(FileBackendOptions options);

  // A missing file is an empty registry at revision 0. A document that is
  // not valid JSON or has a newer schema is an error, and Update leaves it
  // untouched.
  absl::StatusOr<Snapshot> Load() override;
  // Creates the parent directory if needed. A mutate that changes nothing
  // writes nothing and keeps the revision.
  absl::Status Update(
      const std::function<absl::Status(Snapshot&)>& mutate) override;
  // Delivers full snapshots whose revision is above the last one seen
  // (starting at `revision`). An unreadable document is Unavailable.
  absl::StatusOr<std::unique_ptr<Watcher>> Watch(int64_t revision) override;
  std::string Describe() const override;

 private:
  FileBackendOptions options_;
};

}  // namespace ovx::controller

#endif  // OVX_CONTROLLER_REGISTRY_FILE_BACKEND_H_
