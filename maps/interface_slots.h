// interface_slots (maps/abi/ovx_abi.h): the copy of `interfaces` that
// tc_endpoint and tc_underlay read with an array lookup instead of a hash
// lookup (bpf/lib/interfaces.h is the reader), by ifindex % its size.
#ifndef OVX_MAPS_INTERFACE_SLOTS_H_
#define OVX_MAPS_INTERFACE_SLOTS_H_

#include <cstdint>

#include "maps/abi/ovx_abi.h"
#include "maps/seqlock_slots.h"

namespace ovx::maps {

struct InterfaceSlotTraits {
  using Slot = ovx_interface_slot;
  using Key = uint32_t;  // host-side ifindex
  using Value = ovx_interface;
  static constexpr const char* kMapName = OVX_MAP_INTERFACE_SLOTS;
  static constexpr const char* kHashName = OVX_MAP_INTERFACES;
  static constexpr uint32_t kSlots = OVX_INTERFACE_SLOTS;

  static uint32_t Index(Key ifindex) { return ifindex & (kSlots - 1); }
  static bool HasSlot(Key ifindex) { return ifindex != 0; }
  static bool Holds(const Slot& s, Key ifindex) { return s.ifindex == ifindex; }
  static Key KeyOf(const Slot& s) { return s.ifindex; }
  static bool Empty(const Slot& s) { return s.ifindex == 0; }
  static Slot Fill(Key ifindex, const Value& iface) {
    Slot s{};
    s.ifindex = ifindex;
    s.iface = iface;
    return s;
  }
  static Value ValueOf(const Slot& s) { return s.iface; }
};

using InterfaceSlots = SeqlockSlots<InterfaceSlotTraits>;

}  // namespace ovx::maps

#endif  // OVX_MAPS_INTERFACE_SLOTS_H_
