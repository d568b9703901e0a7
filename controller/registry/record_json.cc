#include "controller/registry/record_json.h"

#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

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

template <typename T>
absl::Status MapFromJson(const json& doc, const char* field,
                         absl::string_view kind,
                         std::map<std::string, T>& out) {
  if (!doc.contains(field)) return absl::OkStatus();
  const json& v = doc[field];
  if (!v.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "field \"", field, "\" must be an object, got ", v.type_name()));
  }
  for (const auto& [key, record] : v.items()) {
    absl::StatusOr<T> r = FromJson<T>(record);
    if (!r.ok()) return r.status();
    if (r->name != key) {
      return absl::InvalidArgumentError(
          absl::StrCat(kind, " ", r->name, ": stored under the key \"", key,
                       "\" of \"", field, "\""));
    }
    out.emplace(key, *std::move(r));
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

absl::StatusOr<Snapshot> SnapshotFromJson(const json& j,
                                          absl::string_view what) {
  Snapshot snap;
  FieldReader r(j, std::string(what));
  r.Schema();
  r.I64("revision", snap.revision);
  if (!r.status().ok()) return r.status();
  absl::Status s = MapFromJson(j, "networks", "network", snap.networks);
  if (s.ok()) s = MapFromJson(j, "nodes", "node", snap.nodes);
  if (s.ok()) s = MapFromJson(j, "endpoints", "endpoint", snap.endpoints);
  if (s.ok()) s = MapFromJson(j, "policies", "policy", snap.policies);
  if (!s.ok()) {
    return absl::Status(s.code(), absl::StrCat(what, ": ", s.message()));
  }
  return snap;
}

}  // namespace ovx::controller
