// How the registry lives in etcd, independent of the transport:
//   /ovx/networks/NAME, /ovx/nodes/NAME, /ovx/endpoints/NAME,
//   /ovx/policies/NAME          one JSON record each (with "schema")
//   /ovx/index/ip/NET/IP, /ovx/index/mac/MAC, /ovx/index/vni/VNI,
//   /ovx/index/vtep/IP, /ovx/index/iface/NODE/IFACE
//                               value = the owning record's key; created with
//                               create_revision == 0 in the record's txn, so
//                               uniqueness holds under concurrent writers.
//   /ovx/index/identity/ID      value = "NETWORK/k=v,..." (IdentityOwner):
//                               shared by the endpoints with those labels;
//                               created like the others, and compared
//                               unchanged by a write that reuses it.
// Pure functions: decoding a range into a Snapshot, and turning "old -> new"
// into one guarded etcd transaction.
#ifndef OVX_CONTROLLER_REGISTRY_ETCD_ETCD_LAYOUT_H_
#define OVX_CONTROLLER_REGISTRY_ETCD_ETCD_LAYOUT_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "controller/registry/etcd/etcd_client.h"
#include "controller/registry/model.h"
#include "nlohmann/json.hpp"

namespace ovx::controller::etcd {

inline constexpr char kRootPrefix[] = "/ovx/";
inline constexpr char kIndexPrefix[] = "/ovx/index/";

std::string RecordKey(RecordKind kind, absl::string_view name);

// (kind, name) of a record key; nullopt for index or foreign keys.
std::optional<std::pair<RecordKind, std::string>> ParseRecordKey(
    absl::string_view key);

// Decodes one record value read at `key`. The error names the key.
absl::StatusOr<RecordChange> DecodeRecord(RecordKind kind,
                                          absl::string_view name,
                                          absl::string_view key,
                                          absl::string_view value);

// Every record of a range over kRootPrefix. Keys that do not decode are
// skipped; each one adds a message naming the key to `problems`.
Snapshot DecodeSnapshot(const RangeResult& range,
                        std::vector<std::string>* problems);

// Index key -> owning record key for `snap`. Two records claiming the same
// index key is an error when one of them is in `changed` (record keys this
// update writes); between untouched records the first one keeps it.
absl::StatusOr<std::map<std::string, std::string>> IndexKeys(
    const Snapshot& snap, const std::set<std::string>& changed);

// The index keys that turning `before` into `after` may create, rewrite or
// delete: those of the records it changes, as they are in either. An
// update reads just these, not the whole index (two thirds of the keys).
std::set<std::string> IndexKeysOfChange(const Snapshot& before,
                                        const Snapshot& after);

// The TxnRequest that turns `before` (decoded from `range`) into `after`,
// guarded so that it fails if anything it depends on changed since `range`
// was read. `range` holds the records and the index keys in `index_read`
// (IndexKeysOfChange(), read at the same revision; absent ones are absent
// in etcd); index keys outside it are left alone. nullopt when there is
// nothing to write.
absl::StatusOr<std::optional<nlohmann::json>> BuildUpdateTxn(
    const RangeResult& range, const Snapshot& before, const Snapshot& after,
    const std::set<std::string>& index_read);

}  // namespace ovx::controller::etcd

#endif  // OVX_CONTROLLER_REGISTRY_ETCD_ETCD_LAYOUT_H_
