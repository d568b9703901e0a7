#include "controller/reconciler/reconciler.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace ovx::controller {
namespace {

// How to write and print one map; the diff itself is map-agnostic.
template <typename K, typename V>
struct MapOps {
  absl::string_view name;
  Table<K, V> DataplaneState::*table;
  std::function<absl::Status(const K&, const V&)> put;
  std::function<absl::Status(const K&)> del;
  std::function<std::string(const K&)> format_key;
  std::function<std::string(const V&)> format_value;
};

class Applier {
 public:
  Applier(const DataplaneState& desired, DataplaneState& current,
          const LogFn& log, ReconcileResult& result)
      : desired_(desired), current_(current), log_(log), result_(result) {}

  template <typename K, typename V>
  void Puts(const MapOps<K, V>& ops) {
    const Table<K, V>& want = desired_.*ops.table;
    Table<K, V>& have = current_.*ops.table;
    for (const auto& [key, value] : want) {
      auto it = have.find(key);
      const bool exists = it != have.end();
      if (exists && SameBytes(it->second, value)) continue;
      auto line = [&] {
        return absl::StrCat(ops.name, ": ", exists ? "update " : "add ",
                            ops.format_key(key), " -> ",
                            ops.format_value(value));
      };
      absl::Status status = ops.put(key, value);
      if (!status.ok()) {
        Fail(line(), status);
        continue;
      }
      have[key] = value;
      ++(exists ? result_.updated : result_.added);
      LogChange(line);
    }
  }

  template <typename K, typename V>
  void Deletes(const MapOps<K, V>& ops) {
    const Table<K, V>& want = desired_.*ops.table;
    Table<K, V>& have = current_.*ops.table;
    for (auto it = have.begin(); it != have.end();) {
      if (want.contains(it->first)) {
        ++it;
        continue;
      }
      const K& key = it->first;
      auto line = [&] {
        return absl::StrCat(ops.name, ": remove ", ops.format_key(key));
      };
      absl::Status status = ops.del(key);
      if (!status.ok()) {
        Fail(line(), status);
        ++it;
        continue;
      }
      LogChange(line);
      it = have.erase(it);
      ++result_.removed;
    }
  }

  int unlogged() const { return unlogged_; }

 private:
  // A cold sync of 100,000 endpoints would log (and first format) 100,000
  // lines, ~20 % of the controller's CPU (docs/etcd-scale.md): past
  // kMaxChangeLines a pass only counts them. Failures are always logged.
  template <typename LineFn>
  void LogChange(const LineFn& line) {
    if (logged_ < kMaxChangeLines) {
      ++logged_;
      log_(line());
    } else {
      ++unlogged_;
    }
  }

  void Fail(absl::string_view line, const absl::Status& status) {
    ++result_.failed;
    log_(absl::StrCat(line, " FAILED: ", status.message()));
    if (result_.status.ok()) {
      result_.status = absl::Status(status.code(),
                                    absl::StrCat(line, ": ", status.message()));
    }
  }

  const DataplaneState& desired_;
  DataplaneState& current_;
  const LogFn& log_;
  ReconcileResult& result_;
  int logged_ = 0;
  int unlogged_ = 0;
};

}  // namespace

absl::Status Reconciler::ReadCurrent() {
  auto state = writer_.ReadAll();
  if (!state.ok()) return state.status();
  current_ = *std::move(state);
  return absl::OkStatus();
}

ReconcileResult Reconciler::Apply(const DataplaneState& desired,
                                  int64_t revision, bool summarize_noop) {
  MapWriter& w = writer_;
  const MapOps<uint32_t, ovx_network> networks{
      "networks",
      &DataplaneState::networks,
      [&w](const uint32_t& k, const ovx_network& v) {
        return w.PutNetwork(k, v);
      },
      [&w](const uint32_t& k) { return w.DeleteNetwork(k); },
      FormatNetworkKey,
      FormatNetwork};
  const MapOps<ovx_vtep_key, ovx_vtep> vteps{
      "vteps",
      &DataplaneState::vteps,
      [&w](const ovx_vtep_key& k, const ovx_vtep& v) {
        return w.PutVtep(k, v);
      },
      [&w](const ovx_vtep_key& k) { return w.DeleteVtep(k); },
      FormatVtepKey,
      FormatVtep};
  const MapOps<ovx_vtep_vni_key, ovx_vtep_vni> vtep_vnis{
      "vtep_vnis",
      &DataplaneState::vtep_vnis,
      [&w](const ovx_vtep_vni_key& k, const ovx_vtep_vni& v) {
        return w.PutVtepVni(k, v);
      },
      [&w](const ovx_vtep_vni_key& k) { return w.DeleteVtepVni(k); },
      FormatVtepVniKey,
      FormatVtepVni};
  const MapOps<uint32_t, ovx_interface> interfaces{
      "interfaces",
      &DataplaneState::interfaces,
      [&w](const uint32_t& k, const ovx_interface& v) {
        return w.PutInterface(k, v);
      },
      [&w](const uint32_t& k) { return w.DeleteInterface(k); },
      FormatInterfaceKey,
      FormatInterface};
  const MapOps<ovx_endpoint_key, ovx_endpoint> endpoints{
      "endpoints",
      &DataplaneState::endpoints,
      [&w](const ovx_endpoint_key& k, const ovx_endpoint& v) {
        return w.PutEndpoint(k, v);
      },
      [&w](const ovx_endpoint_key& k) { return w.DeleteEndpoint(k); },
      FormatEndpointKey,
      FormatEndpoint};
  const MapOps<ovx_policy_key, ovx_policy> policy{
      "policy",
      &DataplaneState::policy,
      [&w](const ovx_policy_key& k, const ovx_policy& v) {
        return w.PutPolicy(k, v);
      },
      [&w](const ovx_policy_key& k) { return w.DeletePolicy(k); },
      FormatPolicyKey,
      FormatPolicy};

  ReconcileResult result;
  Applier applier(desired, current_, log_, result);
  // What is referenced goes in first (a network before its endpoints, a
  // VTEP before the endpoints behind it) and leaves last. Decapsulation
  // relies on it: it accepts a packet whose inner source is a remote
  // endpoint behind the outer source without looking the VTEP up again
  // (bpf/lib/decap.h). Allow rules go in
  // before the endpoints they allow and leave after them, so a deny network
  // never drops traffic that both states allow.
  applier.Puts(policy);
  applier.Puts(networks);
  applier.Puts(vteps);
  applier.Puts(vtep_vnis);
  applier.Puts(interfaces);
  applier.Puts(endpoints);
  applier.Deletes(endpoints);
  applier.Deletes(interfaces);
  applier.Deletes(vtep_vnis);
  applier.Deletes(vteps);
  applier.Deletes(networks);
  applier.Deletes(policy);
  if (result.writes() == 0 && result.failed == 0 && !summarize_noop) {
    return result;
  }
  log_(absl::StrCat(
      "reconciled revision=", revision, ": +", result.added, " ~",
      result.updated, " -", result.removed,
      result.failed ? absl::StrCat(" (", result.failed, " failed, will retry)")
                    : "",
      applier.unlogged() > 0
          ? absl::StrCat(" (", applier.unlogged(), " change lines not shown)")
          : ""));
  return result;
}

}  // namespace ovx::controller
