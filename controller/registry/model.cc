#include "controller/registry/model.h"

#include <utility>

namespace ovx::controller {
namespace {

template <typename T>
void Apply(const RecordChange& change, std::map<std::string, T>& records) {
  if (change.deleted) {
    records.erase(change.name);
    return;
  }
  if (const T* value = std::get_if<T>(&change.value)) {
    records.insert_or_assign(change.name, *value);
  }
}

}  // namespace

void ApplyChanges(const std::vector<RecordChange>& changes, Snapshot& snap) {
  for (const RecordChange& change : changes) {
    switch (change.kind) {
      case RecordKind::kNetwork:
        Apply(change, snap.networks);
        break;
      case RecordKind::kNode:
        Apply(change, snap.nodes);
        break;
      case RecordKind::kEndpoint:
        Apply(change, snap.endpoints);
        break;
      case RecordKind::kPolicy:
        Apply(change, snap.policies);
        break;
    }
  }
}

}  // namespace ovx::controller
