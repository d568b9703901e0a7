#include "maps/pinned_map.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ovx::maps {
namespace {

absl::Status ErrnoStatus(int err, absl::string_view what) {
  std::string msg = absl::StrCat(what, ": ", std::strerror(err));
  switch (err) {
    case ENOENT:
      return absl::NotFoundError(msg);
    case EPERM:
    case EACCES:
      return absl::PermissionDeniedError(msg);
    case E2BIG:
    case ENOSPC:
      return absl::ResourceExhaustedError(msg);
    case EINVAL:
      return absl::InvalidArgumentError(msg);
    default:
      return absl::InternalError(msg);
  }
}

}  // namespace

absl::StatusOr<PinnedMap> PinnedMap::Open(absl::string_view bpffs,
                                          absl::string_view name,
                                          uint32_t key_size,
                                          uint32_t value_size) {
  std::string path = absl::StrCat(bpffs, "/", name);
  int fd = bpf_obj_get(path.c_str());
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) {
      return absl::NotFoundError(absl::StrCat(
          "map ", path, " is not pinned: run 'ovx-loader attach' first"));
    }
    return ErrnoStatus(err, absl::StrCat("open pinned map ", path));
  }
  UniqueFd owned(fd);
  bpf_map_info raw_info{};
  uint32_t len = sizeof(raw_info);
  if (bpf_obj_get_info_by_fd(fd, &raw_info, &len) != 0) {
    return ErrnoStatus(errno, absl::StrCat("read info of map ", path));
  }
  if (raw_info.key_size != key_size || raw_info.value_size != value_size) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "map %s has key/value size %u/%u, this build expects %u/%u: it was "
        "created by an incompatible ovx version",
        path, raw_info.key_size, raw_info.value_size, key_size, value_size));
  }
  Info info{raw_info.type,        raw_info.key_size, raw_info.value_size,
            raw_info.max_entries, raw_info.id,       raw_info.name};
  return PinnedMap(std::move(owned), std::move(info), std::move(path));
}

absl::Status PinnedMap::LookupRaw(const void* key, void* value) const {
  if (bpf_map_lookup_elem(fd(), key, value) != 0) {
    return ErrnoStatus(errno, absl::StrCat("lookup in ", path_));
  }
  return absl::OkStatus();
}

absl::Status PinnedMap::UpdateRaw(const void* key, const void* value) {
  if (bpf_map_update_elem(fd(), key, value, BPF_ANY) != 0) {
    return ErrnoStatus(errno, absl::StrCat("update ", path_));
  }
  return absl::OkStatus();
}

absl::Status PinnedMap::DeleteRaw(const void* key) {
  if (bpf_map_delete_elem(fd(), key) != 0 && errno != ENOENT) {
    return ErrnoStatus(errno, absl::StrCat("delete from ", path_));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::vector<uint8_t>>> PinnedMap::KeysRaw() const {
  std::vector<std::vector<uint8_t>> keys;
  std::vector<uint8_t> cur(info_.key_size), next(info_.key_size);
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd(), prev, next.data()) == 0) {
    keys.push_back(next);
    cur.swap(next);
    prev = cur.data();
  }
  if (errno != ENOENT) {
    return ErrnoStatus(errno, absl::StrCat("iterate ", path_));
  }
  return keys;
}

}  // namespace ovx::maps
