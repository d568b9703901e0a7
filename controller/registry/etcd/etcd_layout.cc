#include "controller/registry/etcd/etcd_layout.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "controller/policy/identity.h"
#include "controller/registry/record_json.h"

namespace ovx::controller::etcd {
namespace {

using nlohmann::json;

constexpr RecordKind kKinds[] = {RecordKind::kNetwork, RecordKind::kNode,
                                 RecordKind::kEndpoint, RecordKind::kPolicy};

absl::string_view Folder(RecordKind kind) {
  switch (kind) {
    case RecordKind::kNetwork:
      return "networks";
    case RecordKind::kNode:
      return "nodes";
    case RecordKind::kEndpoint:
      return "endpoints";
    case RecordKind::kPolicy:
      return "policies";
  }
  return "unknown";
}

template <typename T>
void Insert(const RecordChange& change, std::map<std::string, T>& records) {
  records.insert_or_assign(change.name, std::get<T>(change.value));
}

std::string IdentityIndexKey(uint32_t identity) {
  return absl::StrCat(kIndexPrefix, "identity/", identity);
}

// A record that differs between two snapshots: its new value, or nullopt
// when it is deleted.
struct RecordDiff {
  RecordKind kind;
  std::string name;
  std::optional<Record> record;
};

// Every record that differs between `before` and `after`, by etcd key.
// Walks the snapshots' own maps: no copy of the records that stay.
std::map<std::string, RecordDiff> DiffRecords(const Snapshot& before,
                                              const Snapshot& after) {
  std::map<std::string, RecordDiff> out;
  auto diff = [&](RecordKind kind, const auto& old_records,
                  const auto& new_records) {
    for (const auto& [name, record] : old_records) {
      if (!new_records.contains(name))
        out.emplace(RecordKey(kind, name),
                    RecordDiff{kind, name, std::nullopt});
    }
    for (const auto& [name, record] : new_records) {
      auto old = old_records.find(name);
      if (old == old_records.end() || !(old->second == record))
        out.emplace(RecordKey(kind, name),
                    RecordDiff{kind, name, Record(record)});
    }
  };
  diff(RecordKind::kNetwork, before.networks, after.networks);
  diff(RecordKind::kNode, before.nodes, after.nodes);
  diff(RecordKind::kEndpoint, before.endpoints, after.endpoints);
  diff(RecordKind::kPolicy, before.policies, after.policies);
  return out;
}

// The records of `snap` that `diffs` name (as `snap` has them).
Snapshot OnlyRecords(const Snapshot& snap,
                     const std::map<std::string, RecordDiff>& diffs) {
  Snapshot out;
  auto copy = [](const std::string& name, const auto& from, auto& to) {
    auto it = from.find(name);
    if (it != from.end()) to.insert(*it);
  };
  for (const auto& [key, diff] : diffs) {
    switch (diff.kind) {
      case RecordKind::kNetwork:
        copy(diff.name, snap.networks, out.networks);
        break;
      case RecordKind::kNode:
        copy(diff.name, snap.nodes, out.nodes);
        break;
      case RecordKind::kEndpoint:
        copy(diff.name, snap.endpoints, out.endpoints);
        break;
      case RecordKind::kPolicy:
        copy(diff.name, snap.policies, out.policies);
        break;
    }
  }
  return out;
}

// Builds the compare/success lists of one txn, each key compared once.
class TxnBuilder {
 public:
  explicit TxnBuilder(const RangeResult& range) {
    for (const KeyValue& kv : range.kvs) read_.emplace(kv.key, &kv);
  }

  const KeyValue* Read(const std::string& key) const {
    auto it = read_.find(key);
    return it == read_.end() ? nullptr : it->second;
  }

  // The key is as it was read: same mod_revision, or still absent.
  void Unchanged(const std::string& key) {
    if (!compared_.insert(key).second) return;
    const KeyValue* kv = Read(key);
    if (kv != nullptr) {
      compare_.push_back({{"key", Base64(key)},
                          {"target", "MOD"},
                          {"result", "EQUAL"},
                          {"mod_revision", std::to_string(kv->mod_revision)}});
    } else {
      compare_.push_back({{"key", Base64(key)},
                          {"target", "CREATE"},
                          {"result", "EQUAL"},
                          {"create_revision", "0"}});
    }
  }

  // Nothing under `prefix` was created or modified after `revision`.
  void PrefixUnchangedSince(const std::string& prefix, int64_t revision) {
    compare_.push_back({{"key", Base64(prefix)},
                        {"range_end", Base64(PrefixEnd(prefix))},
                        {"target", "MOD"},
                        {"result", "LESS"},
                        {"mod_revision", std::to_string(revision + 1)}});
  }

  void Put(const std::string& key, const std::string& value) {
    Unchanged(key);
    success_.push_back(
        {{"request_put", {{"key", Base64(key)}, {"value", Base64(value)}}}});
  }

  void Delete(const std::string& key) {
    Unchanged(key);
    success_.push_back({{"request_delete_range", {{"key", Base64(key)}}}});
  }

  bool empty() const { return success_.empty(); }
  json Build() const { return {{"compare", compare_}, {"success", success_}}; }

 private:
  std::map<std::string, const KeyValue*> read_;
  std::set<std::string> compared_;
  json compare_ = json::array();
  json success_ = json::array();
};

}  // namespace

std::string RecordKey(RecordKind kind, absl::string_view name) {
  return absl::StrCat(kRootPrefix, Folder(kind), "/", name);
}

std::optional<std::pair<RecordKind, std::string>> ParseRecordKey(
    absl::string_view key) {
  if (!absl::ConsumePrefix(&key, kRootPrefix)) return std::nullopt;
  for (RecordKind kind : kKinds) {
    absl::string_view rest = key;
    if (absl::ConsumePrefix(&rest, Folder(kind)) &&
        absl::ConsumePrefix(&rest, "/") && !rest.empty() &&
        !absl::StrContains(rest, '/')) {
      return std::make_pair(kind, std::string(rest));
    }
  }
  return std::nullopt;
}

absl::StatusOr<RecordChange> DecodeRecord(RecordKind kind,
                                          absl::string_view name,
                                          absl::string_view key,
                                          absl::string_view value) {
  json j = json::parse(value, nullptr, false);
  if (j.is_discarded()) {
    std::string shown(value.substr(0, 60));
    return absl::DataLossError(
        absl::StrCat("etcd key ", key, ": value is not JSON: '", shown, "'"));
  }
  absl::StatusOr<Record> record = RecordFromJson(kind, j);
  if (!record.ok()) {
    return absl::Status(
        record.status().code(),
        absl::StrCat("etcd key ", key, ": ", record.status().message()));
  }
  if (NameOf(*record) != name) {
    return absl::DataLossError(
        absl::StrCat("etcd key ", key, ": record is named '", NameOf(*record),
                     "', not '", name, "'"));
  }
  RecordChange change;
  change.kind = kind;
  change.name = std::string(name);
  change.value = std::visit(
      [](auto& r) -> std::variant<Network, Node, Endpoint, Policy> {
        return std::move(r);
      },
      *record);
  return change;
}

Snapshot DecodeSnapshot(const RangeResult& range,
                        std::vector<std::string>* problems) {
  Snapshot snap;
  snap.revision = range.revision;
  for (const KeyValue& kv : range.kvs) {
    auto parsed = ParseRecordKey(kv.key);
    if (!parsed.has_value()) continue;  // index and foreign keys
    absl::StatusOr<RecordChange> change =
        DecodeRecord(parsed->first, parsed->second, kv.key, kv.value);
    if (!change.ok()) {
      if (problems != nullptr) {
        problems->push_back(
            absl::StrCat(change.status().message(), " (record skipped)"));
      }
      continue;
    }
    switch (change->kind) {
      case RecordKind::kNetwork:
        Insert(*change, snap.networks);
        break;
      case RecordKind::kNode:
        Insert(*change, snap.nodes);
        break;
      case RecordKind::kEndpoint:
        Insert(*change, snap.endpoints);
        break;
      case RecordKind::kPolicy:
        Insert(*change, snap.policies);
        break;
    }
  }
  return snap;
}

absl::StatusOr<std::map<std::string, std::string>> IndexKeys(
    const Snapshot& snap, const std::set<std::string>& changed) {
  std::map<std::string, std::string> index;
  absl::Status status;
  auto claim = [&](const std::string& index_key, const std::string& owner,
                   absl::string_view what) {
    auto [it, inserted] = index.emplace(index_key, owner);
    if (inserted || it->second == owner || !status.ok()) return;
    if (changed.contains(owner) || changed.contains(it->second)) {
      status = absl::AlreadyExistsError(
          absl::StrCat(what, " is used by both ", it->second, " and ", owner));
    }
  };
  for (const auto& [name, net] : snap.networks) {
    claim(absl::StrCat(kIndexPrefix, "vni/", net.vni),
          RecordKey(RecordKind::kNetwork, name), absl::StrCat("VNI ", net.vni));
  }
  for (const auto& [name, node] : snap.nodes) {
    if (node.vtep.empty()) continue;
    claim(absl::StrCat(kIndexPrefix, "vtep/", node.vtep),
          RecordKey(RecordKind::kNode, name), absl::StrCat("VTEP ", node.vtep));
  }
  for (const auto& [name, ep] : snap.endpoints) {
    std::string owner = RecordKey(RecordKind::kEndpoint, name);
    if (!ep.iface.empty()) {
      claim(absl::StrCat(kIndexPrefix, "iface/", ep.node, "/", ep.iface), owner,
            absl::StrCat("interface ", ep.iface, " on node ", ep.node));
    }
    if (!ep.ip.empty()) {
      claim(absl::StrCat(kIndexPrefix, "ip/", ep.network, "/", ep.ip), owner,
            absl::StrCat("IP ", ep.ip, " in network ", ep.network));
    }
    if (!ep.mac.empty()) {
      claim(absl::StrCat(kIndexPrefix, "mac/", absl::AsciiStrToLower(ep.mac)),
            owner, absl::StrCat("MAC ", ep.mac));
    }
  }
  // Identities: shared by the endpoints of one network with the same labels,
  // so the value is what the id stands for ("blue/app=web"), not a record.
  std::set<std::string> claimed_by_changed;
  for (const auto& [name, ep] : snap.endpoints) {
    if (ep.identity == 0 || !status.ok()) continue;
    const std::string key = IdentityIndexKey(ep.identity);
    const std::string owner = IdentityOwner(ep.network, ep.labels);
    const bool is_changed =
        changed.contains(RecordKey(RecordKind::kEndpoint, name));
    auto [it, inserted] = index.emplace(key, owner);
    if (!inserted && it->second != owner &&
        (is_changed || claimed_by_changed.contains(key))) {
      status = absl::AlreadyExistsError(
          absl::StrCat("identity ", ep.identity, " is used by both ",
                       it->second, " and ", owner));
    }
    if (is_changed) claimed_by_changed.insert(key);
  }
  if (!status.ok()) return status;
  return index;
}

std::set<std::string> IndexKeysOfChange(const Snapshot& before,
                                        const Snapshot& after) {
  const std::map<std::string, RecordDiff> diffs = DiffRecords(before, after);
  std::set<std::string> keys;
  for (const Snapshot* snap : {&before, &after}) {
    // Among the changed records alone, claims never conflict: with no
    // record marked changed, IndexKeys() cannot fail.
    absl::StatusOr<std::map<std::string, std::string>> index =
        IndexKeys(OnlyRecords(*snap, diffs), {});
    for (const auto& [key, owner] : *index) keys.insert(key);
  }
  return keys;
}

absl::StatusOr<std::optional<json>> BuildUpdateTxn(
    const RangeResult& range, const Snapshot& before, const Snapshot& after,
    const std::set<std::string>& index_read) {
  const std::map<std::string, RecordDiff> diffs = DiffRecords(before, after);
  if (diffs.empty()) return std::nullopt;
  std::set<std::string> changed;
  for (const auto& [key, diff] : diffs) changed.insert(key);

  TxnBuilder txn(range);
  bool removes_parent = false;  // a network or node goes away
  for (const auto& [key, diff] : diffs) {
    if (diff.record.has_value()) continue;
    txn.Delete(key);
    removes_parent |=
        diff.kind == RecordKind::kNetwork || diff.kind == RecordKind::kNode;
  }
  std::vector<std::string> parents;  // records a written record refers to
  for (const auto& [key, diff] : diffs) {
    if (!diff.record.has_value()) continue;
    const Record& record = *diff.record;
    txn.Put(key, RecordToJson(record).dump());
    if (const auto* ep = std::get_if<Endpoint>(&record)) {
      parents.push_back(RecordKey(RecordKind::kNetwork, ep->network));
      parents.push_back(RecordKey(RecordKind::kNode, ep->node));
    } else if (const auto* policy = std::get_if<Policy>(&record)) {
      parents.push_back(RecordKey(RecordKind::kNetwork, policy->network));
    }
  }

  // A record written here must not lose what it points to meanwhile.
  for (const std::string& parent : parents) {
    if (!changed.contains(parent) && txn.Read(parent) != nullptr)
      txn.Unchanged(parent);
  }
  // Removing a network or node must not race with a record joining it.
  if (removes_parent) {
    txn.PrefixUnchangedSince(RecordKey(RecordKind::kEndpoint, ""),
                             range.revision);
    txn.PrefixUnchangedSince(RecordKey(RecordKind::kPolicy, ""),
                             range.revision);
  }

  // Index keys: make etcd's set equal to the one `after` implies. Creating one
  // that another writer created meanwhile fails the compare: uniqueness.
  absl::StatusOr<std::map<std::string, std::string>> index =
      IndexKeys(after, changed);
  if (!index.ok()) return index.status();
  // Only the keys read: the others belong to records this change leaves
  // alone. A stale key (its record deleted by hand) is taken over when a
  // record claims it, guarded by its mod_revision like any other.
  for (const auto& [key, owner] : *index) {
    if (!index_read.contains(key)) continue;
    const KeyValue* kv = txn.Read(key);
    if (kv == nullptr || kv->value != owner) txn.Put(key, owner);
  }
  for (const KeyValue& kv : range.kvs) {
    if (absl::StartsWith(kv.key, kIndexPrefix) && index_read.contains(kv.key) &&
        !index->contains(kv.key)) {
      txn.Delete(kv.key);
    }
  }
  // A written endpoint that reuses an identity relies on its key as read: a
  // concurrent writer may have freed the id and given it to other labels.
  for (const auto& [name, ep] : after.endpoints) {
    if (ep.identity != 0 &&
        changed.contains(RecordKey(RecordKind::kEndpoint, name))) {
      txn.Unchanged(IdentityIndexKey(ep.identity));
    }
  }
  return txn.Build();
}

}  // namespace ovx::controller::etcd
