// endpoint_slots (maps/abi/ovx_abi.h): the copy of the IPv4 entries of
// `endpoints` that every program reads with an array lookup instead of a
// hash lookup (bpf/lib/endpoints.h is the reader), by
// ovx_endpoint_slot_index(vni, addr).
#ifndef OVX_MAPS_ENDPOINT_SLOTS_H_
#define OVX_MAPS_ENDPOINT_SLOTS_H_

#include <cstdint>
#include <cstring>

#include "maps/abi/ovx_abi.h"
#include "maps/seqlock_slots.h"

namespace ovx::maps {

struct EndpointSlotTraits {
  using Slot = ovx_endpoint_slot;
  using Key = ovx_endpoint_key;
  using Value = ovx_endpoint;
  static constexpr const char* kMapName = OVX_MAP_ENDPOINT_SLOTS;
  static constexpr const char* kHashName = OVX_MAP_ENDPOINTS;
  static constexpr uint32_t kSlots = OVX_ENDPOINT_SLOTS;

  static uint32_t Index(const Key& k) {
    return ovx_endpoint_slot_index(k.vni, k.addr[0]);
  }
  // Only keys a program can build (IPv4, the rest zero) get a slot, and
  // not a VNI above 24 bits, which would alias OVX_ENDPOINT_SLOT_USED.
  static bool HasSlot(const Key& k) {
    return k.family == OVX_AF_INET && k.vni <= OVX_VNI_MAX && k.pad[0] == 0 &&
           k.pad[1] == 0 && k.pad[2] == 0 && k.addr[1] == 0 && k.addr[2] == 0 &&
           k.addr[3] == 0;
  }
  static bool Holds(const Slot& s, const Key& k) {
    return s.tag == (k.vni | OVX_ENDPOINT_SLOT_USED) && s.addr == k.addr[0];
  }
  static Key KeyOf(const Slot& s) {
    Key k;
    std::memset(&k, 0, sizeof(k));
    k.vni = s.tag & ~OVX_ENDPOINT_SLOT_USED;
    k.family = OVX_AF_INET;
    k.addr[0] = s.addr;
    return k;
  }
  static bool Empty(const Slot& s) { return s.tag == 0; }
  static Slot Fill(const Key& k, const Value& ep) {
    Slot s{};
    s.tag = k.vni | OVX_ENDPOINT_SLOT_USED;
    s.addr = k.addr[0];
    s.ep = ep;
    return s;
  }
  static Value ValueOf(const Slot& s) { return s.ep; }
};

using EndpointSlots = SeqlockSlots<EndpointSlotTraits>;

// endpoint_slots, the 2^16 slots of builds before endpoint_slots2. Their
// programs read it until `ovx-loader attach` replaces them and unpins it.
struct OldEndpointSlotTraits : EndpointSlotTraits {
  static constexpr const char* kMapName = OVX_MAP_ENDPOINT_SLOTS_OLD;
  static constexpr uint32_t kSlots = OVX_ENDPOINT_SLOTS_OLD;
  static_assert(OVX_ENDPOINT_SLOTS % kSlots == 0);

  // The same hash's top 16 bits.
  static uint32_t Index(const Key& k) {
    return EndpointSlotTraits::Index(k) / (OVX_ENDPOINT_SLOTS / kSlots);
  }
};

// Empties endpoint_slots if it is still pinned, so that programs of an
// older build read every endpoint from `endpoints`: a writer that starts
// does this, as nothing fills those slots any more. Absent is fine.
absl::Status EmptyOldEndpointSlots(absl::string_view bpffs);

}  // namespace ovx::maps

#endif  // OVX_MAPS_ENDPOINT_SLOTS_H_
