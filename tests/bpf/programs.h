// Loads one ovx BPF object through its skeleton for a test: ovx_cfg set
// before load, maps NOT pinned (tests never touch a real bpffs), map and
// program fds at hand. RAII: the object goes away with the Loaded value.
#ifndef OVX_TESTS_BPF_PROGRAMS_H_
#define OVX_TESTS_BPF_PROGRAMS_H_

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "maps/abi/ovx_abi.h"
#include "tests/bpf/world.h"
// The skeletons name ABI types, so they come after ovx_abi.h.
#include "tc_endpoint.skel.h"
#include "tc_underlay.skel.h"
#include "xdp_underlay.skel.h"

namespace ovx::testing {

template <typename Skel>
struct Loaded {
  struct Destroy {
    void operator()(Skel* s) const { Skel::destroy(s); }
  };
  std::unique_ptr<Skel, Destroy> skel;
  MapFds fds;
  int prog_fd = -1;
};

// The fd of the ABI map `name` in fds, or -1.
inline int SharedFd(const MapFds& fds, const std::string& name) {
  const std::pair<const char*, int> all[] = {
      {OVX_MAP_ENDPOINTS, fds.endpoints},
      {OVX_MAP_INTERFACES, fds.interfaces},
      {OVX_MAP_INTERFACE_SLOTS, fds.interface_slots},
      {OVX_MAP_VTEPS, fds.vteps},
      {OVX_MAP_VTEP_VNIS, fds.vtep_vnis},
      {OVX_MAP_NETWORKS, fds.networks},
      {OVX_MAP_COUNTERS, fds.counters},
      {OVX_MAP_EVENTS, fds.events},
      {OVX_MAP_POLICY, fds.policy},
      {OVX_MAP_CONNTRACK, fds.conntrack},
      {OVX_MAP_ENDPOINT_SLOTS, fds.endpoint_slots}};
  for (const auto& [n, fd] : all) {
    if (name == n) return fd;
  }
  return -1;
}

// The ABI map fds of a loaded skeleton (its `maps` member).
template <typename SkelMaps>
MapFds FdsOf(const SkelMaps& m) {
  return MapFds{bpf_map__fd(m.endpoints),       bpf_map__fd(m.interfaces),
                bpf_map__fd(m.interface_slots), bpf_map__fd(m.vteps),
                bpf_map__fd(m.vtep_vnis),       bpf_map__fd(m.networks),
                bpf_map__fd(m.counters),        bpf_map__fd(m.events),
                bpf_map__fd(m.policy),          bpf_map__fd(m.conntrack),
                bpf_map__fd(m.endpoint_slots2)};
}

struct LoadOptions {
  // Another loaded object's maps, reused (as the loader's pinning does), so
  // several programs see one conntrack table.
  const MapFds* share = nullptr;
  uint32_t drop_events_per_sec = 0;  // ovx_drop_events_per_sec; 0: default
};

template <typename Skel, typename ProgOf>
absl::StatusOr<Loaded<Skel>> LoadObject(const ovx_config& cfg, ProgOf prog_of,
                                        const LoadOptions& options = {}) {
  const MapFds* share = options.share;
  Loaded<Skel> l;
  l.skel.reset(Skel::open());
  if (!l.skel) {
    return absl::InternalError(
        absl::StrCat("open skeleton: ", std::strerror(errno)));
  }
  l.skel->rodata->ovx_cfg = cfg;
  l.skel->rodata->ovx_drop_events_per_sec = options.drop_events_per_sec;
  bpf_map* map;
  bpf_object__for_each_map(map, l.skel->obj) {
    bpf_map__set_pin_path(map, nullptr);
    int fd = share ? SharedFd(*share, bpf_map__name(map)) : -1;
    if (fd >= 0 && bpf_map__reuse_fd(map, fd) != 0) {
      return absl::InternalError(
          absl::StrCat("reuse map ", bpf_map__name(map)));
    }
  }
  if (int err = Skel::load(l.skel.get()); err != 0) {
    return absl::InternalError(
        absl::StrCat("load skeleton: ", std::strerror(-err)));
  }
  auto& m = l.skel->maps;
  l.fds = FdsOf(m);
  l.prog_fd = bpf_program__fd(prog_of(l.skel.get()));
  return l;
}

inline absl::StatusOr<Loaded<xdp_underlay>> LoadXdpUnderlay(
    const ovx_config& cfg) {
  return LoadObject<xdp_underlay>(
      cfg, [](xdp_underlay* s) { return s->progs.ovx_xdp_underlay; });
}
inline absl::StatusOr<Loaded<xdp_underlay>> LoadXdpUnderlayWith(
    const ovx_config& cfg, const LoadOptions& options) {
  return LoadObject<xdp_underlay>(
      cfg, [](xdp_underlay* s) { return s->progs.ovx_xdp_underlay; }, options);
}
inline absl::StatusOr<Loaded<tc_endpoint>> LoadTcEndpoint(
    const ovx_config& cfg) {
  return LoadObject<tc_endpoint>(
      cfg, [](tc_endpoint* s) { return s->progs.ovx_tc_endpoint; });
}
inline absl::StatusOr<Loaded<tc_endpoint>> LoadTcEndpointWith(
    const ovx_config& cfg, const LoadOptions& options) {
  return LoadObject<tc_endpoint>(
      cfg, [](tc_endpoint* s) { return s->progs.ovx_tc_endpoint; }, options);
}
inline absl::StatusOr<Loaded<tc_underlay>> LoadTcUnderlay(
    const ovx_config& cfg) {
  return LoadObject<tc_underlay>(
      cfg, [](tc_underlay* s) { return s->progs.ovx_tc_underlay; });
}

}  // namespace ovx::testing

#endif  // OVX_TESTS_BPF_PROGRAMS_H_
