#include "controller/registry/record_json.h"

#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace ovx::controller {
namespace {

using nlohmann::json;

// Reads typed fields out of one JSON object and remembers the first error,
// so a record's parser reads as a list of fields.
class FieldReader {
 public:
  FieldReader(const json& j, std::string what) : j_(j), what_(std::move(what)) {
    if (!j_.is_object()) {
      Fail(
          absl::StrCat(what_, ": must be a JSON object, got ", j_.type_name()));
    }
  }

  void Schema() {
    if (!status_.ok() || !j_.contains("schema")) return;
    const json& v = j_["schema"];
    if (!v.is_number_integer()) {
      Fail(absl::StrCat(what_, ": field \"schema\" must be an integer, got ",
                        v.type_name()));
      return;
    }
    int64_t schema = v.get<int64_t>();
    if (schema > kSchemaVersion) {
      status_ = absl::FailedPreconditionError(
          absl::StrCat(what_, ": schema ", schema, " is newer than this ovx (",
                       kSchemaVersion, ")"));
    } else if (schema < 1) {
      Fail(
          absl::StrCat(what_, ": field \"schema\" must be >= 1, got ", schema));
    }
  }

  void String(const char* field, std::string& out) {
    if (!status_.ok() || !j_.contains(field)) return;
    const json& v = j_[field];
    if (!v.is_string()) return WrongType(field, "a string", v);
    out = v.get<std::string>();
  }

  void U32(const char* field, uint32_t& out) {
    if (!status_.ok() || !j_.contains(field)) return;
    const json& v = j_[field];
    if (!v.is_number_integer()) return WrongType(field, "an integer", v);
    if (v.is_number_unsigned() ? v.get<uint64_t>() > UINT32_MAX
                               : v.get<int64_t>() < 0) {
      Fail(absl::StrCat(what_, ": field \"", field, "\" = ", v.dump(),
                        " is out of range 0..", UINT32_MAX));
      return;
    }
    out = v.get<uint32_t>();
  }

  void I64(const char* field, int64_t& out) {
    if (!status_.ok() || !j_.contains(field)) return;
    const json& v = j_[field];
    if (!v.is_number_integer()) return WrongType(field, "an integer", v);
    out = v.get<int64_t>();
  }

  void StringMap(const char* field, std::map<std::string, std::string>& out) {
    if (!status_.ok() || !j_.contains(field)) return;
    const json& v = j_[field];
    if (!v.is_object()) return WrongType(field, "an object of strings", v);
    for (const auto& [k, val] : v.items()) {
      if (!val.is_string()) {
        return WrongType(absl::StrCat(field, ".", k).c_str(), "a string", val);
      }
      out[k] = val.get<std::string>();
    }
  }

  // The record's name: required, and equal to the key it is stored under.
  void Name(std::string& out) {
    String("name", out);
    if (status_.ok() && out.empty()) {
      Fail(absl::StrCat(what_, ": field \"name\" is missing or empty"));
    }
  }

  absl::Status status() const { return status_; }

 private:
  void WrongType(const char* field, const char* want, const json& got) {
    Fail(absl::StrCat(what_, ": field \"", field, "\" must be ", want, ", got ",
                      got.type_name()));
  }
  void Fail(std::string message) {
    if (status_.ok()) status_ = absl::InvalidArgumentError(message);
  }

  const json& j_;
  std::string what_;
  absl::Status status_;
};

std::string Describe(absl::string_view kind, const json& j) {
  if (j.is_object() && j.contains("name") && j["name"].is_string() &&
      !j["name"].get<std::string>().empty()) {
    return absl::StrCat(kind, " ", j["name"].get<std::string>());
  }
  return absl::StrCat(kind, " record");
}

}  // namespace

json ToJson(const Network& n) {
  json j = {{"schema", kSchemaVersion}, {"name", n.name},       {"vni", n.vni},
            {"subnet", n.subnet},       {"gateway", n.gateway}, {"mtu", n.mtu},
            {"policy", n.policy}};
  return j;
}

json ToJson(const Node& n) {
  return json{{"schema", kSchemaVersion}, {"name", n.name}, {"vtep", n.vtep}};
}

json ToJson(const Endpoint& e) {
  json labels = json::object();
  for (const auto& [k, v] : e.labels) labels[k] = v;
  return json{
      {"schema", kSchemaVersion}, {"name", e.name},   {"network", e.network},
      {"node", e.node},           {"ip", e.ip},       {"mac", e.mac},
      {"iface", e.iface},         {"labels", labels}, {"identity", e.identity}};
}

json ToJson(const Policy& p) {
  return json{{"schema", kSchemaVersion},
              {"name", p.name},
              {"network", p.network},
              {"from", p.from},
              {"to", p.to},
              {"proto", p.proto},
              {"port", p.port}};
}

template <>
absl::StatusOr<Network> FromJson<Network>(const json& j) {
  Network n;
  FieldReader r(j, Describe("network", j));
  r.Schema();
  r.Name(n.name);
  r.U32("vni", n.vni);
  r.String("subnet", n.subnet);
  r.String("gateway", n.gateway);
  r.U32("mtu", n.mtu);
  r.String("policy", n.policy);
  if (!r.status().ok()) return r.status();
  return n;
}

template <>
absl::StatusOr<Node> FromJson<Node>(const json& j) {
  Node n;
  FieldReader r(j, Describe("node", j));
  r.Schema();
  r.Name(n.name);
  r.String("vtep", n.vtep);
  if (!r.status().ok()) return r.status();
  return n;
}

template <>
absl::StatusOr<Endpoint> FromJson<Endpoint>(const json& j) {
  Endpoint e;
  FieldReader r(j, Describe("endpoint", j));
  r.Schema();
  r.Name(e.name);
  r.String("network", e.network);
  r.String("node", e.node);
  r.String("ip", e.ip);
  r.String("mac", e.mac);
  r.String("iface", e.iface);
  r.StringMap("labels", e.labels);
  r.U32("identity", e.identity);  // absent in older records: 0
  if (!r.status().ok()) return r.status();
  return e;
}

template <>
absl::StatusOr<Policy> FromJson<Policy>(const json& j) {
  Policy p;
  FieldReader r(j, Describe("policy", j));
  r.Schema();
  r.Name(p.name);
  r.String("network", p.network);
  r.String("from", p.from);
  r.String("to", p.to);
  r.String("proto", p.proto);
  r.String("port", p.port);
  if (!r.status().ok()) return r.status();
  return p;
}

absl::string_view KindName(RecordKind kind) {
  switch (kind) {
    case RecordKind::kNetwork:
      return "network";
    case RecordKind::kNode:
      return "node";
    case RecordKind::kEndpoint:
      return "endpoint";
    case RecordKind::kPolicy:
      return "policy";
  }
  return "unknown";
}

absl::StatusOr<RecordKind> KindFromName(absl::string_view name) {
  for (RecordKind k : {RecordKind::kNetwork, RecordKind::kNode,
                       RecordKind::kEndpoint, RecordKind::kPolicy}) {
    if (KindName(k) == name) return k;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown record kind \"", name,
                   "\" (want network, node, endpoint or policy)"));
}

RecordKind KindOf(const Record& record) {
  return static_cast<RecordKind>(record.index());
}

const std::string& NameOf(const Record& record) {
  return std::visit([](const auto& r) -> const std::string& { return r.name; },
                    record);
}

json RecordToJson(const Record& record) {
  return std::visit([](const auto& r) { return ToJson(r); }, record);
}

absl::StatusOr<Record> RecordFromJson(RecordKind kind, const json& j) {
  auto wrap = [](auto status_or) -> absl::StatusOr<Record> {
    if (!status_or.ok()) return status_or.status();
    return Record(*std::move(status_or));
  };
  switch (kind) {
    case RecordKind::kNetwork:
      return wrap(FromJson<Network>(j));
    case RecordKind::kNode:
      return wrap(FromJson<Node>(j));
    case RecordKind::kEndpoint:
      return wrap(FromJson<Endpoint>(j));
    case RecordKind::kPolicy:
      return wrap(FromJson<Policy>(j));
  }
  return absl::InvalidArgumentError("unknown record kind");
}

namespace {

template <typename T>
json MapToJson(const std::map<std::string, T>& records) {
  json out = json::object();
  for (const auto& [name, r] : records) out[name] = ToJson(r);
  return out;
}

// One record, stored under `key` of `field` ("nodes"), into `out`.
template <typename T>
absl::Status AddRecord(const json& record, const std::string& key,
                       absl::string_view field, absl::string_view kind,
                       std::map<std::string, T>& out) {
  absl::StatusOr<T> r = FromJson<T>(record);
  if (!r.ok()) return r.status();
  if (r->name != key) {
    return absl::InvalidArgumentError(
        absl::StrCat(kind, " ", r->name, ": stored under the key \"", key,
                     "\" of \"", field, "\""));
  }
  out.insert_or_assign(key, *std::move(r));
  return absl::OkStatus();
}

constexpr const char* kRecordFields[] = {"networks", "nodes", "endpoints",
                                         "policies"};

bool IsRecordField(absl::string_view field) {
  for (const char* f : kRecordFields) {
    if (field == f) return true;
  }
  return false;
}

// A record of the document's `field` (one of kRecordFields) into `snap`.
absl::Status AddToSnapshot(Snapshot& snap, absl::string_view field,
                           const std::string& key, const json& record) {
  if (field == "networks")
    return AddRecord(record, key, field, "network", snap.networks);
  if (field == "nodes")
    return AddRecord(record, key, field, "node", snap.nodes);
  if (field == "endpoints")
    return AddRecord(record, key, field, "endpoint", snap.endpoints);
  return AddRecord(record, key, field, "policy", snap.policies);
}

absl::Status MapFromJson(const json& doc, const char* field, Snapshot& snap) {
  if (!doc.contains(field)) return absl::OkStatus();
  const json& v = doc[field];
  if (!v.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "field \"", field, "\" must be an object, got ", v.type_name()));
  }
  for (const auto& [key, record] : v.items()) {
    if (absl::Status s = AddToSnapshot(snap, field, key, record); !s.ok())
      return s;
  }
  return absl::OkStatus();
}

}  // namespace

json SnapshotToJson(const Snapshot& snap) {
  return json{{"schema", kSchemaVersion},
              {"revision", snap.revision},
              {"networks", MapToJson(snap.networks)},
              {"nodes", MapToJson(snap.nodes)},
              {"endpoints", MapToJson(snap.endpoints)},
              {"policies", MapToJson(snap.policies)}};
}

namespace {

// `"field": {...}` of SnapshotToText(), at the document's first level.
template <typename T>
void AppendRecordMap(absl::string_view field,
                     const std::map<std::string, T>& records,
                     std::string& out) {
  absl::StrAppend(&out, "  \"", field, "\": ");
  if (records.empty()) {
    out += "{},\n";
    return;
  }
  out += "{\n";
  bool first = true;
  for (const auto& [name, record] : records) {
    if (!first) out += ",\n";
    first = false;
    // A record's own lines, two levels in. JSON text has no raw newline
    // inside a string, so every newline is a line break.
    std::string text = ToJson(record).dump(2);
    absl::StrReplaceAll({{"\n", "\n    "}}, &text);
    absl::StrAppend(&out, "    ", json(name).dump(), ": ", text);
  }
  out += "\n  },\n";
}

}  // namespace

std::string SnapshotToText(const Snapshot& snap) {
  std::string out = "{\n";
  // nlohmann's object order: keys sorted.
  AppendRecordMap("endpoints", snap.endpoints, out);
  AppendRecordMap("networks", snap.networks, out);
  AppendRecordMap("nodes", snap.nodes, out);
  AppendRecordMap("policies", snap.policies, out);
  absl::StrAppend(&out, "  \"revision\": ", snap.revision, ",\n",
                  "  \"schema\": ", kSchemaVersion, "\n}\n");
  return out;
}

absl::StatusOr<Snapshot> SnapshotFromJson(const json& j,
                                          absl::string_view what) {
  Snapshot snap;
  FieldReader r(j, std::string(what));
  r.Schema();
  r.I64("revision", snap.revision);
  if (!r.status().ok()) return r.status();
  for (const char* field : kRecordFields) {
    if (absl::Status s = MapFromJson(j, field, snap); !s.ok())
      return absl::Status(s.code(), absl::StrCat(what, ": ", s.message()));
  }
  return snap;
}

absl::StatusOr<Snapshot> SnapshotFromText(absl::string_view text,
                                          absl::string_view what) {
  using Event = json::parse_event_t;
  Snapshot records;
  absl::Status record_error;
  std::string field;  // the top-level key being read
  std::string key;    // the record's key in it
  bool in_records = false;
  // Depth 1: the document's fields; depth 2: a record map's entries, each
  // object converted when complete and then dropped from the DOM.
  auto on_event = [&](int depth, Event event, json& parsed) {
    if (depth == 1) {
      if (event == Event::key) field = parsed.get<std::string>();
      if (event == Event::object_start) in_records = IsRecordField(field);
      if (event == Event::array_start) in_records = false;
      return true;
    }
    if (depth != 2 || !in_records) return true;
    if (event == Event::key) {
      key = parsed.get<std::string>();
      return true;
    }
    // A record that is not an object stays in the DOM, whose decode below
    // refuses it (nlohmann leaves a dropped scalar or array in an object as
    // a "discarded" value instead of erasing it).
    if (event != Event::object_end) return true;
    if (record_error.ok())
      record_error = AddToSnapshot(records, field, key, parsed);
    return false;
  };
  const json doc = json::parse(text.begin(), text.end(), on_event);
  // The rest (schema first, revision, a record field that is not an
  // object) decides before any record's error.
  absl::StatusOr<Snapshot> snap = SnapshotFromJson(doc, what);
  if (!snap.ok()) return snap.status();
  if (!record_error.ok()) {
    return absl::Status(record_error.code(),
                        absl::StrCat(what, ": ", record_error.message()));
  }
  snap->networks = std::move(records.networks);
  snap->nodes = std::move(records.nodes);
  snap->endpoints = std::move(records.endpoints);
  snap->policies = std::move(records.policies);
  return snap;
}

}  // namespace ovx::controller
