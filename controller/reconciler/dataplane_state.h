// The contents of the ovx maps this controller manages, as ordered tables of
// ABI keys and values. Both the desired state (computed from the registry)
// and the current state (what the pinned maps hold) use this type, so that
// diffing them is a walk over two sorted maps.
#ifndef OVX_CONTROLLER_RECONCILER_DATAPLANE_STATE_H_
#define OVX_CONTROLLER_RECONCILER_DATAPLANE_STATE_H_

#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <type_traits>

#include "maps/abi/ovx_abi.h"

namespace ovx::controller {

// ABI structs are zeroed before they are filled (padding included), so bytes
// compare exactly; integer keys sort numerically for readable logs.
template <typename T>
struct BytesLess {
  bool operator()(const T& a, const T& b) const {
    return std::memcmp(&a, &b, sizeof(T)) < 0;
  }
};
template <typename K>
using KeyLess =
    std::conditional_t<std::is_integral_v<K>, std::less<K>, BytesLess<K>>;

template <typename V>
bool SameBytes(const V& a, const V& b) {
  return std::memcmp(&a, &b, sizeof(V)) == 0;
}

template <typename K, typename V>
using Table = std::map<K, V, KeyLess<K>>;

struct DataplaneState {
  Table<uint32_t, ovx_network> networks;  // VNI -> settings
  Table<ovx_vtep_key, ovx_vtep> vteps;
  Table<ovx_vtep_vni_key, ovx_vtep_vni> vtep_vnis;
  Table<uint32_t, ovx_interface> interfaces;  // ifindex -> local endpoint
  Table<ovx_endpoint_key, ovx_endpoint> endpoints;
  Table<ovx_policy_key, ovx_policy> policy;  // LPM: prefixlen is in the key

  size_t size() const {
    return networks.size() + vteps.size() + vtep_vnis.size() +
           interfaces.size() + endpoints.size() + policy.size();
  }
};

bool operator==(const DataplaneState& a, const DataplaneState& b);

// One line per entry, "endpoints: vni=100 10.10.0.5 -> local ifindex=7 ...",
// in map order; for logs and test failure messages.
std::string DescribeState(const DataplaneState& state);

// Human-readable keys and values, as the reconciler logs them.
std::string FormatNetworkKey(uint32_t vni);
std::string FormatNetwork(const ovx_network& value);
std::string FormatVtepKey(const ovx_vtep_key& key);
std::string FormatVtep(const ovx_vtep& value);
std::string FormatVtepVniKey(const ovx_vtep_vni_key& key);
std::string FormatVtepVni(const ovx_vtep_vni& value);
std::string FormatInterfaceKey(uint32_t ifindex);
std::string FormatInterface(const ovx_interface& value);
std::string FormatEndpointKey(const ovx_endpoint_key& key);
std::string FormatEndpoint(const ovx_endpoint& value);
std::string FormatPolicyKey(const ovx_policy_key& key);
std::string FormatPolicy(const ovx_policy& value);

}  // namespace ovx::controller

#endif  // OVX_CONTROLLER_RECONCILER_DATAPLANE_STATE_H_
