// The endpoint_slots map of builds before endpoint_slots2 (2^16 slots), as
// such a build's loader left it pinned: for the upgrade tests of the loader
// and of the slot writer.
#ifndef OVX_TESTS_BPF_OLD_ENDPOINT_SLOTS_H_
#define OVX_TESTS_BPF_OLD_ENDPOINT_SLOTS_H_

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "maps/abi/ovx_abi.h"
#include "maps/fd.h"

namespace ovx::testing {

// Creates the old map and pins it at <dir>/endpoint_slots; an invalid fd
// (errno set) when either fails.
inline maps::UniqueFd PinOldEndpointSlots(absl::string_view dir) {
  bpf_map_create_opts opts{};
  opts.sz = sizeof(opts);
  opts.map_flags = BPF_F_MMAPABLE;
  maps::UniqueFd old(bpf_map_create(
      BPF_MAP_TYPE_ARRAY, OVX_MAP_ENDPOINT_SLOTS_OLD, sizeof(uint32_t),
      sizeof(ovx_endpoint_slot), OVX_ENDPOINT_SLOTS_OLD, &opts));
  const std::string pin = absl::StrCat(dir, "/", OVX_MAP_ENDPOINT_SLOTS_OLD);
  if (old.valid() && bpf_obj_pin(old.get(), pin.c_str()) != 0) old.Reset();
  return old;
}

}  // namespace ovx::testing

#endif  // OVX_TESTS_BPF_OLD_ENDPOINT_SLOTS_H_
