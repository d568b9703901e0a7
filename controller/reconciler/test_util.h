// Test helpers for the reconciler: registry snapshots built in a line, and a
// MapWriter that keeps the "maps" in memory and records every write.
#ifndef OVX_CONTROLLER_RECONCILER_TEST_UTIL_H_
#define OVX_CONTROLLER_RECONCILER_TEST_UTIL_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "controller/reconciler/desired_state.h"
#include "controller/reconciler/map_writer.h"
#include "controller/registry/model.h"

namespace ovx::controller::testing {

inline Snapshot& AddNetwork(Snapshot& s, const std::string& name, uint32_t vni,
                            uint32_t mtu = 1450,
                            const std::string& policy = "allow") {
  Network n;
  n.name = name;
  n.vni = vni;
  n.subnet = "10.0.0.0/8";
  n.mtu = mtu;
  n.policy = policy;
  s.networks[name] = n;
  return s;
}

inline Snapshot& AddNode(Snapshot& s, const std::string& name,
                         const std::string& vtep) {
  s.nodes[name] = Node{name, vtep};
  return s;
}

inline Snapshot& AddEndpoint(Snapshot& s, const std::string& name,
                             const std::string& network,
                             const std::string& node, const std::string& ip,
                             const std::string& mac,
                             const std::string& iface = "") {
  Endpoint e;
  e.name = name;
  e.network = network;
  e.node = node;
  e.ip = ip;
  e.mac = mac;
  e.iface = iface;
  s.endpoints[name] = e;
  return s;
}

// Resolves the interfaces it was given, nothing else.
inline InterfaceResolver FakeResolver(std::map<std::string, uint32_t> links) {
  return [links](const std::string& iface) -> std::optional<uint32_t> {
    auto it = links.find(iface);
    if (it == links.end()) return std::nullopt;
    return it->second;
  };
}

// In-memory maps. `ops` records "put <map>" / "delete <map>" in call order.
class FakeMapWriter : public MapWriter {
 public:
  DataplaneState maps;
  std::vector<std::string> ops;
  // Map names whose next write fails (once each).
  std::set<std::string> fail_next;
  bool fail_read = false;

  absl::StatusOr<DataplaneState> ReadAll() override {
    if (fail_read) return absl::UnavailableError("fake: read failed");
    return maps;
  }
  absl::Status PutNetwork(uint32_t vni, const ovx_network& v) override {
    return Put("networks", maps.networks, vni, v);
  }
  absl::Status DeleteNetwork(uint32_t vni) override {
    return Delete("networks", maps.networks, vni);
  }
  absl::Status PutVtep(const ovx_vtep_key& k, const ovx_vtep& v) override {
    return Put("vteps", maps.vteps, k, v);
  }
  absl::Status DeleteVtep(const ovx_vtep_key& k) override {
    return Delete("vteps", maps.vteps, k);
  }
  absl::Status PutVtepVni(const ovx_vtep_vni_key& k,
                          const ovx_vtep_vni& v) override {
    return Put("vtep_vnis", maps.vtep_vnis, k, v);
  }
  absl::Status DeleteVtepVni(const ovx_vtep_vni_key& k) override {
    return Delete("vtep_vnis", maps.vtep_vnis, k);
  }
  absl::Status PutInterface(uint32_t ifindex, const ovx_interface& v) override {
    return Put("interfaces", maps.interfaces, ifindex, v);
  }
  absl::Status DeleteInterface(uint32_t ifindex) override {
    return Delete("interfaces", maps.interfaces, ifindex);
  }
  absl::Status PutEndpoint(const ovx_endpoint_key& k,
                           const ovx_endpoint& v) override {
    return Put("endpoints", maps.endpoints, k, v);
  }
  absl::Status DeleteEndpoint(const ovx_endpoint_key& k) override {
    return Delete("endpoints", maps.endpoints, k);
  }
  absl::Status PutPolicy(const ovx_policy_key& k,
                         const ovx_policy& v) override {
    return Put("policy", maps.policy, k, v);
  }
  absl::Status DeletePolicy(const ovx_policy_key& k) override {
    return Delete("policy", maps.policy, k);
  }
  // False: like programs without a policy map.
  bool policy_supported = true;
  bool SupportsPolicy() override { return policy_supported; }

 private:
  absl::Status Fail(const std::string& name) {
    if (fail_next.erase(name) == 0) return absl::OkStatus();
    return absl::ResourceExhaustedError(
        absl::StrCat("update ", name, ": No space left"));
  }
  template <typename K, typename V>
  absl::Status Put(const std::string& name, Table<K, V>& table, const K& k,
                   const V& v) {
    ops.push_back("put " + name);
    if (absl::Status s = Fail(name); !s.ok()) return s;
    table[k] = v;
    return absl::OkStatus();
  }
  template <typename K, typename V>
  absl::Status Delete(const std::string& name, Table<K, V>& table, const K& k) {
    ops.push_back("delete " + name);
    if (absl::Status s = Fail(name); !s.ok()) return s;
    table.erase(k);
    return absl::OkStatus();
  }
};

}  // namespace ovx::controller::testing

#endif  // OVX_CONTROLLER_RECONCILER_TEST_UTIL_H_
