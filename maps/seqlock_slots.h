// SeqlockSlots: the writer side of a slot array the programs read instead of
// a hash (interface_slots, endpoint_slots2 in maps/abi/ovx_abi.h). The array
// is mmap'd and written in place, each slot as a seqlock, so a packet never
// reads half of an update (bpf/lib/slots.h is the reader's side). The hash
// stays the truth; its wrapper in dataplane_maps.h orders the writes.
//
// Traits describe one slot array:
//   Slot, Key, Value     the ABI slot (seq first), the hash's key and value
//   kMapName, kSlots     the pinned map and its slot count
//   kHashName            the pinned hash it copies
//   Index(key)           the slot a key may use
//   HasSlot(key)         false for keys that never get one (always the hash)
//   Holds(slot, key)     the slot holds key
//   KeyOf(slot)          the key a filled slot holds
//   Empty(slot)          the slot holds nothing
//   Fill(key, value)     a filled slot (seq not set)
//   ValueOf(slot)        the value of a filled slot
#ifndef OVX_MAPS_SEQLOCK_SLOTS_H_
#define OVX_MAPS_SEQLOCK_SLOTS_H_

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "maps/pinned_map.h"

namespace ovx::maps {

template <typename Traits>
class SeqlockSlots {
 public:
  using Slot = typename Traits::Slot;
  using Key = typename Traits::Key;
  using Value = typename Traits::Value;

  // The pinned slot array under bpffs; nullopt when the loaded programs are
  // older than it (they read the hash only).
  static absl::StatusOr<std::optional<SeqlockSlots>> Open(
      absl::string_view bpffs) {
    auto map = PinnedMap::Open(bpffs, Traits::kMapName, sizeof(uint32_t),
                               sizeof(Slot));
    if (absl::IsNotFound(map.status())) return std::nullopt;
    if (!map.ok()) return map.status();
    auto slots = FromFd(map->fd());
    if (!slots.ok()) return slots.status();
    return std::optional<SeqlockSlots>(*std::move(slots));
  }

  // The slot array behind fd (tests; the fd is not kept).
  static absl::StatusOr<SeqlockSlots> FromFd(int fd) {
    bpf_map_info info{};
    uint32_t info_len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &info_len) != 0) {
      return absl::ErrnoToStatus(
          errno, absl::StrFormat("read info of %s", Traits::kMapName));
    }
    if (info.type != BPF_MAP_TYPE_ARRAY || info.value_size != sizeof(Slot) ||
        info.max_entries != Traits::kSlots ||
        !(info.map_flags & BPF_F_MMAPABLE)) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "map %s is not an mmap-able array of %u slots of %u bytes: it was "
          "created by an incompatible ovx version",
          info.name, Traits::kSlots, sizeof(Slot)));
    }
    const size_t page = ::sysconf(_SC_PAGESIZE);
    const size_t len = (sizeof(Slot) * Traits::kSlots + page - 1) / page * page;
    void* addr =
        ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (addr == MAP_FAILED) {
      return absl::ErrnoToStatus(errno,
                                 absl::StrFormat("mmap %s", Traits::kMapName));
    }
    return SeqlockSlots(
        std::unique_ptr<Slot[], Unmap>(static_cast<Slot*>(addr), Unmap{len}));
  }

  // Writes value into key's slot when the slot is empty or already key's;
  // false when another key holds it (key is then read from the hash, a few
  // ns slower, nothing else).
  bool Put(const Key& key, const Value& value) {
    if (!Traits::HasSlot(key)) return false;
    Slot& slot = SlotOf(key);
    const uint32_t held = Hold(slot);
    const bool ours = Traits::Empty(slot) || Traits::Holds(slot, key);
    if (ours) Write(slot, Traits::Fill(key, value));
    Release(slot, held);
    return ours;
  }

  // Empties key's slot if key holds it.
  void Remove(const Key& key) {
    if (!Traits::HasSlot(key)) return;
    Slot& slot = SlotOf(key);
    const uint32_t held = Hold(slot);
    if (Traits::Holds(slot, key)) Write(slot, Slot{});
    Release(slot, held);
  }

  // What a reader would get from the slot: the value if key holds it.
  std::optional<Value> Get(const Key& key) const {
    if (!Traits::HasSlot(key)) return std::nullopt;
    const Slot copy = Read(SlotOf(key));
    if (!Traits::Holds(copy, key)) return std::nullopt;
    return Traits::ValueOf(copy);
  }

  // Every filled slot (for inspection and tests).
  std::vector<std::pair<Key, Value>> Filled() const {
    std::vector<std::pair<Key, Value>> out;
    for (uint32_t i = 0; i < Traits::kSlots; ++i) {
      const Slot copy = Read(slots_[i]);
      if (!Traits::Empty(copy)) {
        out.emplace_back(Traits::KeyOf(copy), Traits::ValueOf(copy));
      }
    }
    return out;
  }

  // Makes every slot agree with the hash, the truth: an occupant keeps its
  // slot while lookup finds it, a free slot goes to one of the keys that map
  // to it. lookup is called with the slot held, so a concurrent writer's
  // later Put or Remove still wins.
  using Lookup = std::function<absl::StatusOr<std::optional<Value>>(Key)>;
  absl::Status Rebuild(const std::vector<Key>& keys, const Lookup& lookup) {
    std::vector<std::vector<Key>> wanting(Traits::kSlots);
    for (const Key& key : keys) {
      if (Traits::HasSlot(key)) wanting[Traits::Index(key)].push_back(key);
    }
    for (uint32_t i = 0; i < Traits::kSlots; ++i) {
      Slot& slot = slots_[i];
      if (Traits::Empty(slot) && wanting[i].empty()) continue;
      const uint32_t held = Hold(slot);
      std::vector<Key> order;  // the occupant first: it keeps its slot
      if (!Traits::Empty(slot)) order.push_back(Traits::KeyOf(slot));
      order.insert(order.end(), wanting[i].begin(), wanting[i].end());
      absl::Status status;
      bool filled = false;
      for (const Key& key : order) {
        auto value = lookup(key);
        if (!value.ok()) {
          status = value.status();
          break;
        }
        if (value->has_value()) {
          Write(slot, Traits::Fill(key, **value));
          filled = true;
          break;
        }
      }
      // On an error the slot is emptied: its reader falls back to the truth.
      if (!filled) Write(slot, Slot{});
      Release(slot, held);
      if (!status.ok()) return status;
    }
    return absl::OkStatus();
  }

 private:
  // Words after seq: the part a writer fills and a reader copies.
  static constexpr size_t kBodyWords = (sizeof(Slot) - 4) / 4;
  static_assert(sizeof(Slot) % 4 == 0);
  static_assert(offsetof(Slot, seq) == 0);

  // A writer that holds a slot this long has died holding it: taken over.
  static constexpr absl::Duration kTakeOver = absl::Seconds(1);

  struct Unmap {
    size_t len;
    void operator()(Slot* slots) const { ::munmap(slots, len); }
  };
  explicit SeqlockSlots(std::unique_ptr<Slot[], Unmap> slots)
      : slots_(std::move(slots)) {}

  static uint32_t* Words(Slot& slot) {
    return reinterpret_cast<uint32_t*>(&slot);
  }
  Slot& SlotOf(const Key& key) const { return slots_[Traits::Index(key)]; }

  // The seqlock's write side: Hold() makes seq odd, Release() even again.
  static uint32_t Hold(Slot& slot) {
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
  static void Release(Slot& slot, uint32_t held_seq) {
    std::atomic_ref<uint32_t>(slot.seq).store(held_seq + 1,
                                              std::memory_order_release);
  }

  // Copies next's body into a held slot.
  static void Write(Slot& slot, const Slot& next) {
    uint32_t* dst = Words(slot);
    const uint32_t* src = Words(const_cast<Slot&>(next));
    for (size_t i = 1; i <= kBodyWords; ++i) {
      std::atomic_ref<uint32_t>(dst[i]).store(src[i],
                                              std::memory_order_relaxed);
    }
  }

  // A whole copy of the slot, as the seqlock's reader side.
  static Slot Read(Slot& slot) {
    std::atomic_ref<uint32_t> seq(slot.seq);
    for (;;) {
      const uint32_t before = seq.load(std::memory_order_acquire);
      Slot copy{};
      uint32_t* dst = Words(copy);
      const uint32_t* src = Words(slot);
      for (size_t i = 1; i <= kBodyWords; ++i) {
        dst[i] = std::atomic_ref<uint32_t>(const_cast<uint32_t&>(src[i]))
                     .load(std::memory_order_relaxed);
      }
      std::atomic_thread_fence(std::memory_order_acquire);
      if (before % 2 == 0 && seq.load(std::memory_order_relaxed) == before) {
        return copy;
      }
      ::sched_yield();
    }
  }

  std::unique_ptr<Slot[], Unmap> slots_;
};

}  // namespace ovx::maps

#endif  // OVX_MAPS_SEQLOCK_SLOTS_H_
