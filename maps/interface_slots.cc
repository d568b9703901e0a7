#include "maps/interface_slots.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "maps/pinned_map.h"

namespace ovx::maps {
namespace {

// Words after seq, the part a writer fills and a reader copies.
constexpr size_t kBodyWords = (sizeof(ovx_interface_slot) - 4) / 4;
static_assert(sizeof(ovx_interface_slot) % 4 == 0);

// A writer that holds a slot this long has died holding it: taken over.
constexpr absl::Duration kTakeOver = absl::Seconds(1);

uint32_t* Words(ovx_interface_slot& slot) {
  return reinterpret_cast<uint32_t*>(&slot);
}

uint32_t SlotIndex(uint32_t ifindex) {
  return ifindex & (OVX_INTERFACE_SLOTS - 1);
}

}  // namespace

void InterfaceSlots::Unmap::operator()(ovx_interface_slot* slots) const {
  ::munmap(slots, len);
}

absl::StatusOr<std::optional<InterfaceSlots>> InterfaceSlots::Open(
    absl::string_view bpffs) {
  auto map = PinnedMap::Open(bpffs, OVX_MAP_INTERFACE_SLOTS, sizeof(uint32_t),
                             sizeof(ovx_interface_slot));
  if (absl::IsNotFound(map.status())) return std::nullopt;
  if (!map.ok()) return map.status();
  auto slots = FromFd(map->fd());
  if (!slots.ok()) return slots.status();
  return std::optional<InterfaceSlots>(*std::move(slots));
}

absl::StatusOr<InterfaceSlots> InterfaceSlots::FromFd(int fd) {
  bpf_map_info info{};
  uint32_t info_len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &info_len) != 0) {
    return absl::ErrnoToStatus(errno, "read info of interface_slots");
  }
  if (info.type != BPF_MAP_TYPE_ARRAY ||
      info.value_size != sizeof(ovx_interface_slot) ||
      info.max_entries != OVX_INTERFACE_SLOTS ||
      !(info.map_flags & BPF_F_MMAPABLE)) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "map %s is not an mmap-able array of %u slots of %u bytes: it was "
        "created by an incompatible ovx version",
        info.name, OVX_INTERFACE_SLOTS, sizeof(ovx_interface_slot)));
  }
  const size_t page = ::sysconf(_SC_PAGESIZE);
  const size_t len =
      (sizeof(ovx_interface_slot) * OVX_INTERFACE_SLOTS + page - 1) / page *
      page;
  void* addr = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (addr == MAP_FAILED) {
    return absl::ErrnoToStatus(errno, "mmap interface_slots");
  }
  return InterfaceSlots(std::unique_ptr<ovx_interface_slot[], Unmap>(
      static_cast<ovx_interface_slot*>(addr), Unmap{len}));
}

ovx_interface_slot& InterfaceSlots::SlotOf(uint32_t ifindex) const {
  return slots_[SlotIndex(ifindex)];
}

uint32_t InterfaceSlots::Hold(ovx_interface_slot& slot) {
  std::atomic_ref<uint32_t> seq(slot.seq);
  const absl::Time give_up = absl::Now() + kTakeOver;
  for (;;) {
    uint32_t s = seq.load(std::memory_order_relaxed);
    if (s % 2 == 1 && absl::Now() < give_up) {
      ::sched_yield();
      continue;
    }
    // Even: free. Odd past give_up: its writer is gone; +2 keeps it odd.
    const uint32_t held = s % 2 == 0 ? s + 1 : s + 2;
    if (seq.compare_exchange_weak(s, held, std::memory_order_relaxed)) {
      // The odd seq is seen before any of the writes that follow.
      std::atomic_thread_fence(std::memory_order_release);
      return held;
    }
  }
}

void InterfaceSlots::Release(ovx_interface_slot& slot, uint32_t held_seq) {
  std::atomic_ref<uint32_t>(slot.seq).store(held_seq + 1,
                                            std::memory_order_release);
}

void InterfaceSlots::Fill(ovx_interface_slot& slot, uint32_t ifindex,
                          const ovx_interface* iface) {
  ovx_interface_slot next{};
  if (iface != nullptr) {
    next.ifindex = ifindex;
    next.iface = *iface;
  }
  uint32_t* dst = Words(slot);
  const uint32_t* src = Words(next);
  for (size_t i = 1; i <= kBodyWords; ++i) {
    std::atomic_ref<uint32_t>(dst[i]).store(src[i], std::memory_order_relaxed);
  }
}

bool InterfaceSlots::Put(uint32_t ifindex, const ovx_interface& iface) {
  ovx_interface_slot& slot = SlotOf(ifindex);
  const uint32_t held = Hold(slot);
  const uint32_t occupant = slot.ifindex;
  const bool ours = occupant == 0 || occupant == ifindex;
  if (ours) Fill(slot, ifindex, &iface);
  Release(slot, held);
  return ours;
}

void InterfaceSlots::Remove(uint32_t ifindex) {
  ovx_interface_slot& slot = SlotOf(ifindex);
  const uint32_t held = Hold(slot);
  if (slot.ifindex == ifindex) Fill(slot, 0, nullptr);
  Release(slot, held);
}

std::optional<ovx_interface> InterfaceSlots::Get(uint32_t ifindex) const {
  ovx_interface_slot& slot = SlotOf(ifindex);
  std::atomic_ref<uint32_t> seq(slot.seq);
  for (;;) {
    const uint32_t before = seq.load(std::memory_order_acquire);
    ovx_interface_slot copy{};
    uint32_t* dst = Words(copy);
    const uint32_t* src = Words(slot);
    for (size_t i = 1; i <= kBodyWords; ++i) {
      dst[i] = std::atomic_ref<uint32_t>(const_cast<uint32_t&>(src[i]))
                   .load(std::memory_order_relaxed);
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    if (before % 2 == 1 || seq.load(std::memory_order_relaxed) != before) {
      ::sched_yield();
      continue;
    }
    if (copy.ifindex != ifindex) return std::nullopt;
    return copy.iface;
  }
}

std::vector<std::pair<uint32_t, ovx_interface>> InterfaceSlots::Filled() const {
  std::vector<std::pair<uint32_t, ovx_interface>> out;
  for (uint32_t i = 0; i < OVX_INTERFACE_SLOTS; ++i) {
    const uint32_t ifindex = std::atomic_ref<uint32_t>(slots_[i].ifindex)
                                 .load(std::memory_order_relaxed);
    if (ifindex == 0) continue;
    if (auto iface = Get(ifindex)) out.emplace_back(ifindex, *iface);
  }
  return out;
}

absl::Status InterfaceSlots::Rebuild(const std::vector<uint32_t>& ifindexes,
                                     const Lookup& lookup) {
  std::vector<std::vector<uint32_t>> wanting(OVX_INTERFACE_SLOTS);
  for (uint32_t ifindex : ifindexes) {
    if (ifindex != 0) wanting[SlotIndex(ifindex)].push_back(ifindex);
  }
  for (uint32_t i = 0; i < OVX_INTERFACE_SLOTS; ++i) {
    ovx_interface_slot& slot = slots_[i];
    if (slot.ifindex == 0 && wanting[i].empty()) continue;
    const uint32_t held = Hold(slot);
    std::vector<uint32_t> order;  // the occupant first: it keeps its slot
    if (slot.ifindex != 0) order.push_back(slot.ifindex);
    order.insert(order.end(), wanting[i].begin(), wanting[i].end());
    absl::Status status;
    bool filled = false;
    for (uint32_t ifindex : order) {
      auto iface = lookup(ifindex);
      if (!iface.ok()) {
        status = iface.status();
        break;
      }
      if (iface->has_value()) {
        Fill(slot, ifindex, &**iface);
        filled = true;
        break;
      }
    }
    // On an error the slot is emptied: its reader falls back to the truth.
    if (!filled) Fill(slot, 0, nullptr);
    Release(slot, held);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

}  // namespace ovx::maps
