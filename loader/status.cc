// status and the controller's "is this node attached?" check.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "loader/big_tcp.h"
#include "loader/kernel.h"
#include "loader/loader.h"
#include "loader/tunnel_gro.h"
#include "loader/xdp.h"
#include "maps/dataplane_maps.h"

namespace ovx::loader {
namespace {

std::string IfName(uint32_t ifindex) {
  char name[IF_NAMESIZE] = {};
  if (ifindex == 0 || if_indextoname(ifindex, name) == nullptr) return "";
  return name;
}

absl::StatusOr<MapStatus> ReadMap(const std::string& bpffs,
                                  absl::string_view name) {
  auto fd = OpenPin(absl::StrCat(bpffs, "/", name));
  if (!fd.ok()) return fd.status();
  bpf_map_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd->get(), &info, &len) != 0) {
    return ErrnoStatus(errno, absl::StrCat("read info of map ", name));
  }
  MapStatus map;
  map.name = std::string(name);
  map.id = info.id;
  const char* type =
      libbpf_bpf_map_type_str(static_cast<bpf_map_type>(info.type));
  map.type = type != nullptr ? type : absl::StrCat(info.type);
  map.max_entries = info.max_entries;
  switch (info.type) {
    case BPF_MAP_TYPE_ARRAY:
    case BPF_MAP_TYPE_PERCPU_ARRAY:
      map.entries = info.max_entries;  // arrays are always full
      break;
    case BPF_MAP_TYPE_RINGBUF:
      break;  // a byte queue, not entries
    default: {
      std::vector<uint8_t> cur(info.key_size), next(info.key_size);
      const void* prev = nullptr;
      map.entries = 0;
      while (bpf_map_get_next_key(fd->get(), prev, next.data()) == 0) {
        ++map.entries;
        cur.swap(next);
        prev = cur.data();
      }
    }
  }
  return map;
}

void AddLinks(const std::string& bpffs, NodeStatus& status) {
  std::string dir = absl::StrCat(bpffs, "/", kLinksDir);
  for (const std::string& name : ListDir(dir)) {
    AttachedInterface row;
    if (absl::StartsWith(name, kUnderlayLinkPrefix)) {
      row.iface = DecodePinName(name.substr(kUnderlayLinkPrefix.size()));
      row.program = std::string(kTcUnderlayName);
    } else if (absl::StartsWith(name, kEndpointLinkPrefix)) {
      row.iface = DecodePinName(name.substr(kEndpointLinkPrefix.size()));
      row.program = std::string(kTcEndpointName);
    } else {
      continue;
    }
    row.hook = "tcx-ingress";
    auto link = OpenPin(absl::StrCat(dir, "/", name));
    if (!link.ok()) continue;
    auto state = ReadLinkState(link->get());
    if (!state.ok()) continue;
    row.ifindex = state->ifindex;
    row.prog_id = state->prog_id;
    row.link_id = state->id;
    status.interfaces.push_back(std::move(row));
  }
}

}  // namespace

absl::StatusOr<NodeStatus> GetStatus(absl::string_view bpffs_view) {
  std::string bpffs(bpffs_view);
  NodeStatus status;
  status.bpffs = bpffs;
  PointLibxdpAt(bpffs);
  if (auto prog = OpenPin(ProgPin(bpffs, kTcUnderlayName)); prog.ok()) {
    auto state = ReadProgState(prog->get());
    if (!state.ok()) return state.status();
    if (state->has_cfg) {
      const ovx_config& cfg = state->cfg;
      status.attached = true;
      status.config.vtep = maps::FormatIpv4(in_addr{cfg.vtep[0]});
      status.config.underlay_ifindex = cfg.underlay_ifindex;
      status.config.underlay_iface = IfName(cfg.underlay_ifindex);
      status.config.vxlan_port = cfg.vxlan_port;
      status.config.sport_min = cfg.sport_min;
      status.config.sport_max = cfg.sport_max;
      status.config.xdp_deliver = cfg.flags & OVX_CFG_F_XDP_DELIVER;
      status.config.tc_ingress = cfg.flags & OVX_CFG_F_TC_INGRESS;
      if (auto sizes = ReadBigTcp(cfg.underlay_ifindex); sizes.ok()) {
        status.config.gso_ipv4_max_size = sizes->gso_ipv4_max;
        status.config.gro_ipv4_max_size = sizes->gro_ipv4_max;
      }
      if (auto xdp = FindOvxXdp(cfg.underlay_ifindex)) {
        status.interfaces.push_back(AttachedInterface{
            status.config.underlay_iface, cfg.underlay_ifindex, "xdp",
            "xdp_underlay", xdp->prog_id, xdp->dispatcher_id, xdp->mode});
      }
    }
  } else if (!absl::IsNotFound(prog.status())) {
    return prog.status();
  }
  AddLinks(bpffs, status);
  if (status.attached) {
    TunnelGroState gro = ReadTunnelGro(status.config.vxlan_port);
    if (gro.ifindex != 0) {
      // No link: the fence is attached to the device for its lifetime.
      status.interfaces.push_back(AttachedInterface{
          TunnelGroName(status.config.vxlan_port), gro.ifindex, "tcx-ingress",
          gro.fence_id != 0 ? "tc_tunnel_fence" : "none (unfenced)",
          gro.fence_id, 0, ""});
    }
  }
  for (absl::string_view name : kMapNames) {
    auto map = ReadMap(bpffs, name);
    if (absl::IsNotFound(map.status())) continue;
    if (!map.ok()) return map.status();
    status.maps.push_back(*std::move(map));
  }
  auto counters = maps::ReadCounters(bpffs);
  if (counters.ok()) {
    for (const maps::CounterReading& c : *counters) {
      status.counters.push_back(CounterStatus{
          std::string(maps::DirectionName(c.dir)), maps::ReasonName(c.reason),
          maps::IsDrop(c.reason), c.packets, c.bytes});
    }
  } else if (!absl::IsNotFound(counters.status())) {
    return counters.status();
  }
  return status;
}

absl::Status CheckNodeAttached(absl::string_view bpffs_view) {
  std::string bpffs(bpffs_view);
  for (absl::string_view name : kMapNames) {
    std::string path = absl::StrCat(bpffs, "/", name);
    auto fd = OpenPin(path);
    if (!fd.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "node is not attached: map ", path, " is not pinned (",
          fd.status().message(),
          "); run 'ovx-loader attach --iface=<underlay> --vtep=<ip>' first"));
    }
  }
  auto maps = maps::DataplaneMaps::Open(bpffs);  // also checks the layouts
  if (!maps.ok()) return maps.status();
  for (absl::string_view prog : {kTcEndpointName, kTcUnderlayName}) {
    std::string path = ProgPin(bpffs, prog);
    if (!OpenPin(path).ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "node is not attached: program ", path,
          " is not pinned; run 'ovx-loader attach --iface=<underlay> "
          "--vtep=<ip>' first"));
    }
  }
  return absl::OkStatus();
}

namespace {

struct MonitorState {
  const std::function<bool(const ovx_drop_event&)>* on_event;
  int seen = 0;
  int max_events = 0;
  bool stop = false;
};

int OnRingbufEvent(void* ctx, void* data, size_t size) {
  auto* state = static_cast<MonitorState*>(ctx);
  if (state->stop || size < sizeof(ovx_drop_event)) return 0;
  ovx_drop_event event;
  std::memcpy(&event, data, sizeof(event));
  ++state->seen;
  if (!(*state->on_event)(event) ||
      (state->max_events > 0 && state->seen >= state->max_events)) {
    state->stop = true;
    return 1;  // ends this ring_buffer__poll early
  }
  return 0;
}

}  // namespace

absl::Status Monitor(
    absl::string_view bpffs, const MonitorOptions& options,
    const std::function<bool(const ovx_drop_event&)>& on_event) {
  std::string path = absl::StrCat(bpffs, "/", OVX_MAP_EVENTS);
  auto fd = OpenPin(path);
  if (!fd.ok()) {
    return absl::Status(
        fd.status().code(),
        absl::StrCat(fd.status().message(), " (is the node attached?)"));
  }
  MonitorState state{&on_event, 0, options.max_events, false};
  std::unique_ptr<ring_buffer, decltype(&ring_buffer__free)> rb(
      ring_buffer__new(fd->get(), OnRingbufEvent, &state, nullptr),
      &ring_buffer__free);
  if (!rb) return ErrnoStatus(errno, absl::StrCat("open ring buffer ", path));
  while (!state.stop) {
    int n = ring_buffer__poll(rb.get(), options.timeout_ms);
    if (n == -EINTR) break;
    if (n < 0 && !state.stop) {
      return ErrnoStatus(-n, absl::StrCat("read ring buffer ", path));
    }
    if (n == 0 && options.timeout_ms >= 0) break;
  }
  return absl::OkStatus();
}

}  // namespace ovx::loader
