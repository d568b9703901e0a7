#include "controller/registry/migrate.h"

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace ovx::controller {
namespace {

// Records per Update: an endpoint costs up to 4 etcd operations (record,
// IP, MAC and interface index keys) and etcd allows 128 per transaction.
constexpr size_t kBatch = 25;

// What `to` holds that `from` does not, or holds differently; empty if none.
template <typename T>
std::string Conflict(absl::string_view kind,
                     const std::map<std::string, T>& from,
                     const std::map<std::string, T>& to,
                     absl::string_view from_name) {
  for (const auto& [name, record] : to) {
    auto it = from.find(name);
    if (it == from.end()) {
      return absl::StrCat(kind, " ", name, ", which ", from_name,
                          " does not have");
    }
    if (!(it->second == record)) {
      return absl::StrCat(kind, " ", name, ", which differs from the one in ",
                          from_name);
    }
  }
  return "";
}

template <typename T>
absl::Status CopyInBatches(RegistryBackend& to, absl::string_view kind,
                           const std::map<std::string, T>& from,
                           std::map<std::string, T> Snapshot::*member) {
  std::vector<const T*> records;
  for (const auto& [name, record] : from) records.push_back(&record);
  for (size_t begin = 0; begin < records.size(); begin += kBatch) {
    size_t end = std::min(records.size(), begin + kBatch);
    absl::Status status = to.Update([&](Snapshot& snap) -> absl::Status {
      std::map<std::string, T>& into = snap.*member;
      for (size_t i = begin; i < end; ++i) {
        const T& record = *records[i];
        auto it = into.find(record.name);
        if (it == into.end()) {
          into.emplace(record.name, record);
        } else if (!(it->second == record)) {
          return absl::FailedPreconditionError(
              absl::StrCat(kind, " ", record.name, " was changed in ",
                           to.Describe(), " while migrating"));
        }
      }
      return absl::OkStatus();
    });
    if (!status.ok()) {
      return absl::Status(status.code(),
                          absl::StrCat("migrate to ", to.Describe(), ": ", kind,
                                       "s ", begin + 1, "..", end, " of ",
                                       records.size(), ": ", status.message()));
    }
  }
  return absl::OkStatus();
}

Snapshot WithoutRevision(Snapshot s) {
  s.revision = 0;
  return s;
}

}  // namespace

absl::Status MigrateRegistry(RegistryBackend& from, RegistryBackend& to) {
  absl::StatusOr<Snapshot> source = from.Load();
  if (!source.ok()) {
    return absl::Status(source.status().code(),
                        absl::StrCat("migrate: read ", from.Describe(), ": ",
                                     source.status().message()));
  }
  absl::StatusOr<Snapshot> target = to.Load();
  if (!target.ok()) {
    return absl::Status(target.status().code(),
                        absl::StrCat("migrate: read ", to.Describe(), ": ",
                                     target.status().message()));
  }
  const std::string from_name = from.Describe();
  for (const std::string& conflict :
       {Conflict("network", source->networks, target->networks, from_name),
        Conflict("node", source->nodes, target->nodes, from_name),
        Conflict("endpoint", source->endpoints, target->endpoints, from_name),
        Conflict("policy", source->policies, target->policies, from_name)}) {
    if (!conflict.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("migrate to ", to.Describe(), ": it already holds ",
                       conflict, "; migrate into an empty registry"));
    }
  }

  // Parents before the records that name them.
  absl::Status status =
      CopyInBatches(to, "network", source->networks, &Snapshot::networks);
  if (status.ok())
    status = CopyInBatches(to, "node", source->nodes, &Snapshot::nodes);
  if (status.ok()) {
    status =
        CopyInBatches(to, "endpoint", source->endpoints, &Snapshot::endpoints);
  }
  if (status.ok()) {
    status = CopyInBatches(to, "policy", source->policies, &Snapshot::policies);
  }
  if (!status.ok()) return status;

  absl::StatusOr<Snapshot> copied = to.Load();
  if (!copied.ok()) {
    return absl::Status(copied.status().code(),
                        absl::StrCat("migrate: read back ", to.Describe(), ": ",
                                     copied.status().message()));
  }
  if (WithoutRevision(*copied) != WithoutRevision(*source)) {
    return absl::DataLossError(absl::StrCat(
        "migrate: ", to.Describe(), " does not hold the same records as ",
        from_name, " after copying"));
  }
  return absl::OkStatus();
}

}  // namespace ovx::controller
