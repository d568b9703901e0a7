#include "controller/policy/identity.h"

#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "maps/abi/ovx_abi.h"

namespace ovx::controller {
namespace {

using Labels = std::map<std::string, std::string>;
using IdentityKey = std::pair<std::string, Labels>;  // (network, labels)

// Smallest id >= OVX_IDENTITY_FIRST not in `used`, which is sorted.
uint32_t SmallestFree(const std::set<uint32_t>& used, uint32_t from) {
  uint32_t id = from;
  for (auto it = used.lower_bound(from); it != used.end() && *it == id; ++it) {
    ++id;
  }
  return id;
}

}  // namespace

uint32_t AllocateIdentity(const Snapshot& snap, absl::string_view network,
                          const Labels& labels) {
  std::set<uint32_t> used;
  for (const auto& [name, e] : snap.endpoints) {
    if (e.identity == 0) continue;
    if (e.network == network && e.labels == labels) return e.identity;
    used.insert(e.identity);
  }
  return SmallestFree(used, OVX_IDENTITY_FIRST);
}

int AssignIdentities(Snapshot& snap, size_t limit) {
  std::vector<Endpoint*> missing;
  for (auto& [name, e] : snap.endpoints) {
    if (e.identity == 0 && missing.size() < limit) missing.push_back(&e);
  }
  if (missing.empty()) return 0;
  // One pass over the endpoints to learn what is taken, so that a document
  // full of old records is migrated in O(n log n).
  std::map<IdentityKey, uint32_t> known;
  std::set<uint32_t> used;
  for (const auto& [name, e] : snap.endpoints) {
    if (e.identity == 0) continue;
    known.emplace(IdentityKey(e.network, e.labels), e.identity);
    used.insert(e.identity);
  }
  uint32_t next = OVX_IDENTITY_FIRST;
  for (Endpoint* e : missing) {
    auto [it, inserted] = known.emplace(IdentityKey(e->network, e->labels), 0);
    if (inserted) {
      next = SmallestFree(used, next);
      it->second = next;
      used.insert(next);
    }
    e->identity = it->second;
  }
  return static_cast<int>(missing.size());
}

std::string IdentityOwner(absl::string_view network, const Labels& labels) {
  return absl::StrCat(network, "/",
                      absl::StrJoin(labels, ",", absl::PairFormatter("=")));
}

}  // namespace ovx::controller
