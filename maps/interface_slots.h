// interface_slots (maps/abi/ovx_abi.h): the copy of `interfaces` that
// tc_endpoint and tc_underlay read with an array lookup instead of a hash
// lookup. Written in place through mmap, each slot as a seqlock, so a packet
// never reads half of an update (bpf/lib/interfaces.h is the reader).
#ifndef OVX_MAPS_INTERFACE_SLOTS_H_
#define OVX_MAPS_INTERFACE_SLOTS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "maps/abi/ovx_abi.h"

namespace ovx::maps {

class InterfaceSlots {
 public:
  // The pinned interface_slots under bpffs; nullopt when the loaded programs
  // are older than it (their tc_endpoint reads `interfaces` only).
  static absl::StatusOr<std::optional<InterfaceSlots>> Open(
      absl::string_view bpffs);
  // The interface_slots map behind fd (tests; the fd is not kept).
  static absl::StatusOr<InterfaceSlots> FromFd(int fd);

  // Writes iface into ifindex's slot when the slot is empty or already
  // ifindex's; false when another interface holds it (ifindex is then read
  // from `interfaces`, ~8 ns slower, nothing else).
  bool Put(uint32_t ifindex, const ovx_interface& iface);
  // Empties ifindex's slot if ifindex holds it.
  void Remove(uint32_t ifindex);
  // What a reader would get from the slot: the entry if ifindex holds it.
  std::optional<ovx_interface> Get(uint32_t ifindex) const;
  // Every filled slot, by ifindex (for inspection and tests).
  std::vector<std::pair<uint32_t, ovx_interface>> Filled() const;

  // Makes every slot agree with `interfaces`, the truth: an occupant keeps
  // its slot while lookup finds it, a free slot goes to one of ifindexes
  // that map to it. lookup is called with the slot held, so a concurrent
  // writer's later Put or Remove still wins.
  using Lookup =
      std::function<absl::StatusOr<std::optional<ovx_interface>>(uint32_t)>;
  absl::Status Rebuild(const std::vector<uint32_t>& ifindexes,
                       const Lookup& lookup);

 private:
  struct Unmap {
    size_t len;
    void operator()(ovx_interface_slot* slots) const;
  };
  explicit InterfaceSlots(std::unique_ptr<ovx_interface_slot[], Unmap> slots)
      : slots_(std::move(slots)) {}

  ovx_interface_slot& SlotOf(uint32_t ifindex) const;
  // The seqlock's write side: Hold() makes seq odd, Release() even again.
  static uint32_t Hold(ovx_interface_slot& slot);
  static void Release(ovx_interface_slot& slot, uint32_t held_seq);
  // Fills a held slot; iface null empties it.
  static void Fill(ovx_interface_slot& slot, uint32_t ifindex,
                   const ovx_interface* iface);

  std::unique_ptr<ovx_interface_slot[], Unmap> slots_;
};

}  // namespace ovx::maps

#endif  // OVX_MAPS_INTERFACE_SLOTS_H_
