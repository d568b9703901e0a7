// The ovx maps by name, with their ABI types, plus small builders that zero a
// key before filling it (ABI rule) and the counter/reason readers.
#ifndef OVX_MAPS_DATAPLANE_MAPS_H_
#define OVX_MAPS_DATAPLANE_MAPS_H_

#include <netinet/in.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "maps/abi/ovx_abi.h"
#include "maps/endpoint_slots.h"
#include "maps/interface_slots.h"
#include "maps/pinned_map.h"

namespace ovx::maps {

using VtepsMap = TypedMap<ovx_vtep_key, ovx_vtep>;
using VtepVnisMap = TypedMap<ovx_vtep_vni_key, ovx_vtep_vni>;
using NetworksMap = TypedMap<uint32_t, ovx_network>;
using PolicyMap = TypedMap<ovx_policy_key, ovx_policy>;  // LPM trie

using Mac = std::array<uint8_t, 6>;

// IPv4 addresses travel as in_addr (network byte order) through the C++ API.
ovx_endpoint_key EndpointKey(uint32_t vni, in_addr ip);
ovx_vtep_key VtepKey(in_addr vtep);
ovx_vtep_vni_key VtepVniKey(in_addr vtep, uint32_t vni);
ovx_endpoint LocalEndpoint(uint32_t ifindex, const Mac& mac, uint32_t identity);
ovx_endpoint RemoteEndpoint(in_addr vtep, const Mac& mac, uint32_t identity);
// ep with OVX_EP_F_NET_ALLOW_ALL when its network has no policy.
ovx_endpoint InNetwork(ovx_endpoint ep, const ovx_network& net);
ovx_interface Interface(uint32_t vni, in_addr ip, const Mac& mac,
                        uint32_t identity);

absl::StatusOr<in_addr> ParseIpv4(absl::string_view text);
std::string FormatIpv4(in_addr ip);
absl::StatusOr<Mac> ParseMac(absl::string_view text);
std::string FormatMac(const uint8_t* mac);

// Name of a verdict or drop reason ("forward-encap", "unknown-vtep"...), from
// the ABI's X-macro list; "reason-<n>" for codes it does not name.
std::string ReasonName(uint32_t reason);
bool IsDrop(uint32_t reason);
absl::string_view DirectionName(uint32_t dir);

// A hash together with its slot copy (`endpoints` and endpoint_slots2,
// `interfaces` and interface_slots), so that every write reaches both in an
// order where a slot never holds what the hash no longer says: a slot is
// emptied before an entry changes and filled after.
template <typename Traits>
class SlottedMap {
 public:
  using Key = typename Traits::Key;
  using Value = typename Traits::Value;
  using Slots = SeqlockSlots<Traits>;

  static absl::StatusOr<SlottedMap> Open(absl::string_view bpffs) {
    auto map = TypedMap<Key, Value>::Open(bpffs, Traits::kHashName);
    if (!map.ok()) return map.status();
    auto slots = Slots::Open(bpffs);
    if (!slots.ok()) return slots.status();
    return SlottedMap(*std::move(map), *std::move(slots));
  }

  absl::StatusOr<std::optional<Value>> Lookup(const Key& key) const {
    return map_.Lookup(key);
  }
  absl::Status Update(const Key& key, const Value& value) {
    if (slots_.has_value()) slots_->Remove(key);
    absl::Status status = map_.Update(key, value);
    if (status.ok() && slots_.has_value()) slots_->Put(key, value);
    return status;
  }
  absl::Status Delete(const Key& key) {
    if (slots_.has_value()) slots_->Remove(key);
    absl::Status status = map_.Delete(key);
    // Again: a Rebuild() elsewhere may have refilled it from the old entry.
    if (slots_.has_value()) slots_->Remove(key);
    return status;
  }
  // Rewrites the slots from the hash: what a writer does when it starts,
  // since one that stopped half-way, or a hand edit of the hash, can leave
  // them behind.
  absl::Status RebuildSlots() {
    if (!slots_.has_value()) return absl::OkStatus();
    auto raw_keys = map_.raw().KeysRaw();
    if (!raw_keys.ok()) return raw_keys.status();
    std::vector<Key> keys(raw_keys->size());
    for (size_t i = 0; i < keys.size(); ++i) {
      std::memcpy(&keys[i], (*raw_keys)[i].data(), sizeof(Key));
    }
    return slots_->Rebuild(keys,
                           [this](const Key& key) { return map_.Lookup(key); });
  }
  absl::StatusOr<std::vector<std::pair<Key, Value>>> Dump() const {
    return map_.Dump();
  }
  // nullopt while the loaded programs are older than the slots.
  const std::optional<Slots>& slots() const { return slots_; }

 private:
  SlottedMap(TypedMap<Key, Value> map, std::optional<Slots> slots)
      : map_(std::move(map)), slots_(std::move(slots)) {}

  TypedMap<Key, Value> map_;
  std::optional<Slots> slots_;
};

using EndpointsMap = SlottedMap<EndpointSlotTraits>;
using InterfacesMap = SlottedMap<InterfaceSlotTraits>;

// All maps of one bpffs root, opened together.
struct DataplaneMaps {
  static absl::StatusOr<DataplaneMaps> Open(absl::string_view bpffs);

  EndpointsMap endpoints;
  InterfacesMap interfaces;
  VtepsMap vteps;
  VtepVnisMap vtep_vnis;
  NetworksMap networks;
  // nullopt while the loaded programs do not pin it (older than policy).
  std::optional<PolicyMap> policy;
};

// The policy map if it is pinned, nullopt if not; an error for a map of
// another layout.
absl::StatusOr<std::optional<PolicyMap>> OpenPolicyMap(absl::string_view bpffs);

// One counter summed over CPUs; only non-zero ones are returned.
struct CounterReading {
  uint32_t dir = 0;
  uint32_t reason = 0;
  uint64_t packets = 0;
  uint64_t bytes = 0;
};
absl::StatusOr<std::vector<CounterReading>> ReadCounters(
    absl::string_view bpffs);

}  // namespace ovx::maps

#endif  // OVX_MAPS_DATAPLANE_MAPS_H_
