// JSON form of registry records and of a whole snapshot. Every record carries
// "schema": kSchemaVersion; a record or document written by a newer ovx is
// refused rather than half-understood. Unknown fields of the current schema
// are ignored so that appending a field stays compatible.
#ifndef OVX_CONTROLLER_REGISTRY_RECORD_JSON_H_
#define OVX_CONTROLLER_REGISTRY_RECORD_JSON_H_

#include <string>
#include <variant>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "controller/registry/model.h"
#include "nlohmann/json.hpp"

namespace ovx::controller {

nlohmann::json ToJson(const Network& network);
nlohmann::json ToJson(const Node& node);
nlohmann::json ToJson(const Endpoint& endpoint);
nlohmann::json ToJson(const Policy& policy);

// FromJson<Network>(j) etc. InvalidArgument naming the field on a wrong type
// or a missing name, FailedPrecondition for a newer schema.
template <typename T>
absl::StatusOr<T> FromJson(const nlohmann::json& j);
template <>
absl::StatusOr<Network> FromJson<Network>(const nlohmann::json& j);
template <>
absl::StatusOr<Node> FromJson<Node>(const nlohmann::json& j);
template <>
absl::StatusOr<Endpoint> FromJson<Endpoint>(const nlohmann::json& j);
template <>
absl::StatusOr<Policy> FromJson<Policy>(const nlohmann::json& j);

using Record = std::variant<Network, Node, Endpoint, Policy>;

// "network", "node", "endpoint", "policy" (singular: for messages and
// keys such as etcd's /ovx/v1/network/NAME).
absl::string_view KindName(RecordKind kind);
absl::StatusOr<RecordKind> KindFromName(absl::string_view name);
RecordKind KindOf(const Record& record);
const std::string& NameOf(const Record& record);

nlohmann::json RecordToJson(const Record& record);
absl::StatusOr<Record> RecordFromJson(RecordKind kind, const nlohmann::json& j);

// The whole-registry document:
// {"schema":1,"revision":N,"networks":{NAME:{...}},"nodes":{...},
//  "endpoints":{...},"policies":{...}}
nlohmann::json SnapshotToJson(const Snapshot& snap);
// SnapshotToJson(snap).dump(2) + "\n", the file registry's bytes, written
// record by record instead of through one DOM of the whole registry.
std::string SnapshotToText(const Snapshot& snap);
// `what` prefixes errors: "registry /var/lib/ovx/registry.json: schema 7 is
// newer than this ovx (1)".
absl::StatusOr<Snapshot> SnapshotFromJson(
    const nlohmann::json& j, absl::string_view what = "registry document");
// The same from the document's text, without holding the whole document as
// JSON: each record is converted as soon as it is parsed and its JSON
// dropped (at 100,000 endpoints the DOM was most of a reader's memory).
// Malformed JSON throws nlohmann::json::parse_error, as json::parse does.
absl::StatusOr<Snapshot> SnapshotFromText(
    absl::string_view text, absl::string_view what = "registry document");

}  // namespace ovx::controller

#endif  // OVX_CONTROLLER_REGISTRY_RECORD_JSON_H_
