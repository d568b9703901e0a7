// Typed access to the pinned ovx maps. A map is opened by name under a bpffs
// root and its key/value sizes are checked against the ABI types, so a map of
// another layout is refused instead of being misread.
#ifndef OVX_MAPS_PINNED_MAP_H_
#define OVX_MAPS_PINNED_MAP_H_

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "maps/fd.h"

namespace ovx::maps {

// Untyped part: opening, size checks and raw syscalls with Status errors.
class PinnedMap {
 public:
  struct Info {
    uint32_t type = 0;
    uint32_t key_size = 0;
    uint32_t value_size = 0;
    uint32_t max_entries = 0;
    uint32_t id = 0;
    std::string name;
  };

  // Opens <bpffs>/<name>; fails unless key and value sizes match.
  static absl::StatusOr<PinnedMap> Open(absl::string_view bpffs,
                                        absl::string_view name,
                                        uint32_t key_size,
                                        uint32_t value_size);

  int fd() const { return fd_.get(); }
  const Info& info() const { return info_; }
  const std::string& path() const { return path_; }

  // Lookup returns NotFound when the key is absent.
  absl::Status LookupRaw(const void* key, void* value) const;
  absl::Status UpdateRaw(const void* key, const void* value);
  // Deleting an absent key is not an error (reconcilers delete idempotently).
  absl::Status DeleteRaw(const void* key);
  // All keys, in kernel iteration order.
  absl::StatusOr<std::vector<std::vector<uint8_t>>> KeysRaw() const;

 private:
  PinnedMap(UniqueFd fd, Info info, std::string path)
      : fd_(std::move(fd)), info_(std::move(info)), path_(std::move(path)) {}

  UniqueFd fd_;
  Info info_;
  std::string path_;
};

template <typename K, typename V>
class TypedMap {
 public:
  using Key = K;
  using Value = V;

  static absl::StatusOr<TypedMap> Open(absl::string_view bpffs,
                                       absl::string_view name) {
    auto map = PinnedMap::Open(bpffs, name, sizeof(K), sizeof(V));
    if (!map.ok()) return map.status();
    return TypedMap(*std::move(map));
  }

  absl::StatusOr<std::optional<V>> Lookup(const K& key) const {
    V value;
    std::memset(&value, 0, sizeof(value));
    absl::Status status = map_.LookupRaw(&key, &value);
    if (absl::IsNotFound(status)) return std::nullopt;
    if (!status.ok()) return status;
    return value;
  }
  absl::Status Update(const K& key, const V& value) {
    return map_.UpdateRaw(&key, &value);
  }
  absl::Status Delete(const K& key) { return map_.DeleteRaw(&key); }

  absl::StatusOr<std::vector<std::pair<K, V>>> Dump() const {
    auto keys = map_.KeysRaw();
    if (!keys.ok()) return keys.status();
    std::vector<std::pair<K, V>> out;
    out.reserve(keys->size());
    for (const auto& raw : *keys) {
      K key;
      std::memcpy(&key, raw.data(), sizeof(K));
      auto value = Lookup(key);
      if (!value.ok()) return value.status();
      if (value->has_value()) out.emplace_back(key, **value);  // raced delete
    }
    return out;
  }

  const PinnedMap& raw() const { return map_; }

 private:
  explicit TypedMap(PinnedMap map) : map_(std::move(map)) {}
  PinnedMap map_;
};

}  // namespace ovx::maps

#endif  // OVX_MAPS_PINNED_MAP_H_
