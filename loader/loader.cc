// Attach and detach: loads the skeletons, reuses pinned maps, attaches XDP
// through libxdp and TC through tcx links, and replaces programs in place.
#include "loader/loader.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <net/if.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xdp/libxdp.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "loader/big_tcp.h"
#include "loader/kernel.h"
#include "loader/tunnel_gro.h"
#include "loader/xdp.h"
#include "maps/abi/ovx_abi.h"
#include "maps/dataplane_maps.h"
#include "maps/pinned_map.h"
// The skeletons use the ABI types without including the header.
#include "tc_endpoint.skel.h"
#include "tc_tunnel_fence.skel.h"
#include "tc_underlay.skel.h"
#include "xdp_underlay.skel.h"

namespace ovx::loader {
namespace {

struct SkelDeleter {
  void operator()(xdp_underlay* s) const { xdp_underlay__destroy(s); }
  void operator()(tc_underlay* s) const { tc_underlay__destroy(s); }
  void operator()(tc_endpoint* s) const { tc_endpoint__destroy(s); }
  void operator()(tc_tunnel_fence* s) const { tc_tunnel_fence__destroy(s); }
};
template <typename T>
using Skel = std::unique_ptr<T, SkelDeleter>;

absl::StatusOr<uint32_t> IfIndex(absl::string_view iface) {
  if (iface.empty()) return absl::InvalidArgumentError("--iface is required");
  unsigned index = if_nametoindex(std::string(iface).c_str());
  if (index == 0) {
    return absl::NotFoundError(
        absl::StrCat("interface ", iface, " does not exist"));
  }
  return index;
}

// Opens a skeleton with its maps pinned by name under bpffs.
template <typename T>
absl::StatusOr<Skel<T>> OpenSkel(T* (*open)(const bpf_object_open_opts*),
                                 const std::string& bpffs,
                                 absl::string_view name) {
  bpf_object_open_opts opts{};
  opts.sz = sizeof(opts);
  opts.pin_root_path = bpffs.c_str();
  T* skel = open(&opts);
  if (skel == nullptr) {
    return ErrnoStatus(errno, absl::StrCat("open BPF object ", name));
  }
  return Skel<T>(skel);
}

absl::Status LoadError(int err, absl::string_view what) {
  return ErrnoStatus(
      err, absl::StrCat("load ", what, " (--verbose shows the verifier log)"));
}

ovx_config MakeConfig(const UnderlayOptions& options, IngressHook ingress,
                      in_addr vtep, uint32_t ifindex) {
  ovx_config cfg;
  std::memset(&cfg, 0, sizeof(cfg));
  cfg.vtep_family = OVX_AF_INET;
  cfg.vtep[0] = vtep.s_addr;
  cfg.underlay_ifindex = ifindex;
  cfg.vxlan_port = options.vxlan_port;
  cfg.sport_min = options.sport_min;
  cfg.sport_max = options.sport_max;
  cfg.flags = options.xdp_deliver ? OVX_CFG_F_XDP_DELIVER : 0;
  if (ingress == IngressHook::kTc) cfg.flags |= OVX_CFG_F_TC_INGRESS;
  return cfg;
}

// Refuses pinned maps whose layout differs from this build's, with a clear
// error, before libbpf would fail to reuse them with a vague one.
absl::Status CheckPinnedMaps(bpf_object* obj, const std::string& bpffs) {
  bpf_map* map;
  bpf_object__for_each_map(map, obj) {
    std::string name = bpf_map__name(map);
    if (bpf_map__pin_path(map) == nullptr) continue;  // object-private
    if (access(absl::StrCat(bpffs, "/", name).c_str(), F_OK) != 0) continue;
    auto pinned = maps::PinnedMap::Open(bpffs, name, bpf_map__key_size(map),
                                        bpf_map__value_size(map));
    absl::Status status = pinned.status();
    if (pinned.ok() &&
        (pinned->info().max_entries != bpf_map__max_entries(map) ||
         pinned->info().type != static_cast<uint32_t>(bpf_map__type(map)))) {
      status = absl::FailedPreconditionError(absl::StrFormat(
          "map %s has type %u and max_entries %u, this build expects %u and "
          "%u: it was created by an incompatible ovx version",
          pinned->path(), pinned->info().type, pinned->info().max_entries,
          bpf_map__type(map), bpf_map__max_entries(map)));
    }
    if (!status.ok()) {
      return absl::Status(
          status.code(),
          absl::StrCat(status.message(),
                       "; 'ovx-loader detach --all --purge-maps' removes it "
                       "(and the dataplane state)"));
    }
  }
  return absl::OkStatus();
}

// The program a pin should hold after this attach: the one already pinned
// when it is the same (tag and ovx_cfg), else the newly loaded one.
struct ChosenProg {
  maps::UniqueFd fd;
  ProgState state;
  bool is_new = false;
};

absl::StatusOr<ChosenProg> ChooseProg(int new_fd, const std::string& pin) {
  auto fresh = ReadProgState(new_fd);
  if (!fresh.ok()) return fresh.status();
  auto old = OpenPin(pin);
  if (old.ok()) {
    auto state = ReadProgState(old->get());
    if (state.ok() && SameProgram(*state, *fresh)) {
      return ChosenProg{*std::move(old), *state, false};
    }
  }
  maps::UniqueFd dup(fcntl(new_fd, F_DUPFD_CLOEXEC, 0));
  if (!dup.valid()) return ErrnoStatus(errno, "dup program fd");
  return ChosenProg{std::move(dup), *fresh, true};
}

// Makes the tcx ingress link pinned at pin run prog on ifindex: kept when
// it already does, switched with bpf_link_update when it runs another
// program, created when missing or stale (its interface is gone).
absl::Status EnsureTcxLink(const ChosenProg& prog, uint32_t ifindex,
                           absl::string_view iface, const std::string& pin) {
  auto link = OpenPin(pin);
  if (link.ok()) {
    auto state = ReadLinkState(link->get());
    if (state.ok() && state->type == kLinkTypeTcx &&
        state->ifindex == ifindex) {
      if (state->prog_id == prog.state.id) return absl::OkStatus();
      if (bpf_link_update(link->get(), prog.fd.get(), nullptr) != 0) {
        return ErrnoStatus(
            errno, absl::StrCat("replace program of tcx link on ", iface));
      }
      return absl::OkStatus();
    }
    absl::Status gone = Unpin(pin);
    if (!gone.ok()) return gone;
  } else if (!absl::IsNotFound(link.status())) {
    return link.status();
  }
  int fd = bpf_link_create(prog.fd.get(), ifindex, kTcxIngress, nullptr);
  if (fd < 0) {
    return ErrnoStatus(errno, absl::StrCat("attach tcx ingress to ", iface));
  }
  maps::UniqueFd owned(fd);
  return ReplacePin(owned.get(), pin);
}

// Points every pinned endpoint link at prog; drops pins of links whose
// interface is gone. Tries all, returns the first error.
absl::Status UpdateEndpointLinks(const std::string& bpffs,
                                 const ChosenProg& prog) {
  absl::Status first;
  std::string dir = absl::StrCat(bpffs, "/", kLinksDir);
  for (const std::string& name : ListDir(dir)) {
    if (!absl::StartsWith(name, kEndpointLinkPrefix)) continue;
    std::string pin = absl::StrCat(dir, "/", name);
    auto link = OpenPin(pin);
    if (!link.ok()) continue;
    auto state = ReadLinkState(link->get());
    if (!state.ok()) continue;
    absl::Status status;
    if (state->ifindex == 0) {
      status = Unpin(pin);
    } else if (state->prog_id != prog.state.id &&
               bpf_link_update(link->get(), prog.fd.get(), nullptr) != 0) {
      status = ErrnoStatus(errno, absl::StrCat("replace program of ", pin));
    }
    if (first.ok()) first = status;
  }
  return first;
}

absl::Status MakeDirs(const std::string& bpffs) {
  for (absl::string_view sub : {kProgsDir, kLinksDir}) {
    std::string dir = absl::StrCat(bpffs, "/", sub);
    if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return ErrnoStatus(errno, absl::StrCat("create ", dir));
    }
  }
  return absl::OkStatus();
}

// Another underlay already attached: one node has one underlay.
absl::Status CheckSingleUnderlay(const std::string& bpffs,
                                 absl::string_view iface) {
  std::string dir = absl::StrCat(bpffs, "/", kLinksDir);
  for (const std::string& name : ListDir(dir)) {
    if (!absl::StartsWith(name, kUnderlayLinkPrefix)) continue;
    std::string other = DecodePinName(name.substr(kUnderlayLinkPrefix.size()));
    if (other == iface) continue;
    auto link = OpenPin(absl::StrCat(dir, "/", name));
    if (!link.ok()) continue;
    auto state = ReadLinkState(link->get());
    if (state.ok() && state->ifindex != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "ovx is already attached to underlay ", other, " under ", bpffs,
          "; detach it first (ovx-loader detach --iface=", other, ")"));
    }
  }
  return absl::OkStatus();
}

// Detaches the link pinned at pin now, then unpins it. Unpinning alone
// would detach too, but only once the kernel frees the inode (after an RCU
// grace period), so the caller could still see it attached. NotFound when
// nothing is pinned there.
absl::Status DetachAndUnpin(const std::string& pin) {
  auto link = OpenPin(pin);
  if (!link.ok()) return link.status();
  auto state = ReadLinkState(link->get());
  // A defunct link (interface gone) has nothing left to detach.
  if (state.ok() && state->ifindex != 0 && bpf_link_detach(link->get()) != 0) {
    return ErrnoStatus(errno, absl::StrCat("detach link ", pin));
  }
  return Unpin(pin);
}

// The ovx_cfg the pinned tc_underlay was loaded with, if any.
std::optional<ovx_config> PinnedConfig(const std::string& bpffs) {
  auto prog = OpenPin(ProgPin(bpffs, kTcUnderlayName));
  if (!prog.ok()) return std::nullopt;
  auto state = ReadProgState(prog->get());
  if (!state.ok() || !state->has_cfg) return std::nullopt;
  return state->cfg;
}

// The port of this node's tunnel GRO device: the pinned tc_underlay's
// (the default when nothing is pinned).
uint16_t PinnedVxlanPort(const std::string& bpffs) {
  std::optional<ovx_config> cfg = PinnedConfig(bpffs);
  return cfg ? cfg->vxlan_port : OVX_VXLAN_PORT_DEFAULT;
}

// With TC ingress, the tunnel GRO device (loader/tunnel_gro.h) with a
// freshly loaded fence; with XDP ingress (decapsulation before GRO) or
// when turned off, none. The device of the port attached before (old_port)
// goes when the port changes.
absl::StatusOr<std::string> ApplyTunnelGro(const UnderlayOptions& options,
                                           bool tc_ingress, uint16_t old_port) {
  if (old_port != options.vxlan_port) {
    absl::Status closed = CloseTunnelGro(old_port);
    if (!closed.ok()) return closed;
  }
  if (!tc_ingress || !options.tunnel_gro) {
    absl::Status closed = CloseTunnelGro(options.vxlan_port);
    if (!closed.ok()) return closed;
    return std::string(tc_ingress ? "tunnel-gro: off (--notunnel-gro)"
                                  : "tunnel-gro: off (XDP decapsulates "
                                    "before GRO)");
  }
  auto fence =
      OpenSkel(tc_tunnel_fence__open_opts, options.bpffs, "tc_tunnel_fence");
  if (!fence.ok()) return fence.status();
  if (tc_tunnel_fence__load(fence->get()) != 0) {
    return LoadError(errno, "tc_tunnel_fence");
  }
  return OpenTunnelGro(options.vxlan_port,
                       bpf_program__fd((*fence)->progs.ovx_tc_tunnel_fence));
}

absl::Status NotAttachedError(absl::string_view bpffs) {
  return absl::FailedPreconditionError(absl::StrCat(
      "no tc_endpoint program pinned under ", bpffs,
      ": run 'ovx-loader attach --iface=<underlay> --vtep=<ip>' first"));
}

}  // namespace

absl::Status ValidateUnderlayOptions(const UnderlayOptions& options) {
  if (options.iface.empty()) {
    return absl::InvalidArgumentError("--iface is required");
  }
  auto vtep = maps::ParseIpv4(options.vtep);
  if (!vtep.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--vtep: '", options.vtep, "' is not an IPv4 address"));
  }
  uint32_t host = ntohl(vtep->s_addr);
  if (host == 0 || host == 0xffffffffU || (host >> 28) == 0xe) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--vtep: '", options.vtep, "' is not a unicast IPv4 address"));
  }
  if (options.vxlan_port == 0) {
    return absl::InvalidArgumentError("--vxlan-port must be 1-65535");
  }
  if (options.sport_min == 0 || options.sport_min > options.sport_max) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "bad source port range %u-%u: want MIN-MAX with 1 <= MIN <= MAX <= "
        "65535",
        options.sport_min, options.sport_max));
  }
  return ValidateBigTcpSize(options.big_tcp);
}

IngressChoice ChooseIngress(
    const UnderlayOptions& options,
    absl::FunctionRef<absl::StatusOr<std::string>()> driver) {
  switch (options.ingress) {
    case IngressHook::kXdp:
      return {IngressHook::kXdp, "--ingress=xdp"};
    case IngressHook::kTc:
      return {IngressHook::kTc, "--ingress=tc"};
    case IngressHook::kAuto:
      break;
  }
  if (options.xdp_deliver) {
    return {IngressHook::kXdp, "auto: --decap-delivery=xdp needs XDP"};
  }
  if (options.mode == XdpMode::kSkb) {
    return {IngressHook::kXdp, "auto: --xdp-mode=skb asks for XDP"};
  }
  absl::StatusOr<std::string> name = driver();
  if (!name.ok()) {
    return {IngressHook::kXdp,
            absl::StrCat("auto: driver unknown (", name.status().message(),
                         "); XDP, as for any driver but veth")};
  }
  if (*name == "veth") {
    return {IngressHook::kTc,
            "auto: driver veth; XDP on a veth disables GSO on its peer"};
  }
  return {IngressHook::kXdp, absl::StrCat("auto: driver ", *name,
                                          "; XDP drops before an skb exists")};
}

IngressChoice ResolveIngress(const UnderlayOptions& options) {
  return ChooseIngress(options, [&] { return DriverName(options.iface); });
}

std::string XdpDeliveryWarning(
    const UnderlayOptions& options,
    absl::FunctionRef<absl::StatusOr<std::string>()> driver) {
  if (!options.xdp_deliver) return "";
  absl::StatusOr<std::string> name = driver();
  if (!name.ok() || *name != "veth") return "";
  return absl::StrCat(
      "warning: --decap-delivery=xdp on the veth ", options.iface,
      ": XDP_REDIRECT drops the skb's checksum state, so TCP that another "
      "namespace of this machine sends with tx checksumming on arrives "
      "unfinished and is dropped; turn it off on the sending side's "
      "underlay (ethtool -K IFACE tx off) or use --decap-delivery=tc");
}

std::string FormatIngressChoice(const IngressChoice& choice) {
  return absl::StrCat(
      "ingress: ", choice.hook == IngressHook::kTc ? "tc" : "xdp", " (",
      choice.reason, ")");
}

absl::StatusOr<AttachReport> AttachUnderlay(const UnderlayOptions& options) {
  absl::Status status = ValidateUnderlayOptions(options);
  if (!status.ok()) return status;
  status = CheckCurrentPrivileges();
  if (!status.ok()) return status;
  auto ifindex = IfIndex(options.iface);
  if (!ifindex.ok()) return ifindex.status();
  const std::string& bpffs = options.bpffs;
  status = EnsureBpffs(bpffs);
  if (!status.ok()) return status;
  auto lock = LockRoot(bpffs);
  if (!lock.ok()) return lock.status();
  status = MakeDirs(bpffs);
  if (!status.ok()) return status;
  status = CheckSingleUnderlay(bpffs, options.iface);
  if (!status.ok()) return status;
  PointLibxdpAt(bpffs);
  const uint16_t old_port = PinnedVxlanPort(bpffs);
  const IngressHook ingress = ResolveIngress(options).hook;
  const bool tc_ingress = ingress == IngressHook::kTc;
  if (!tc_ingress) {
    status = CheckXdpSlot(*ifindex, options.iface, options.mode);
    if (!status.ok()) return status;
  }

  auto xdp = OpenSkel(xdp_underlay__open_opts, bpffs, "xdp_underlay");
  if (!xdp.ok()) return xdp.status();
  auto tcu = OpenSkel(tc_underlay__open_opts, bpffs, "tc_underlay");
  if (!tcu.ok()) return tcu.status();
  auto tce = OpenSkel(tc_endpoint__open_opts, bpffs, "tc_endpoint");
  if (!tce.ok()) return tce.status();
  status = CheckPinnedMaps((*tce)->obj, bpffs);
  if (!status.ok()) return status;

  ovx_config cfg =
      MakeConfig(options, ingress, *maps::ParseIpv4(options.vtep), *ifindex);
  (*xdp)->rodata->ovx_cfg = cfg;
  (*tcu)->rodata->ovx_cfg = cfg;
  (*tce)->rodata->ovx_cfg = cfg;
  // Loading creates the maps or reuses the pinned ones (pin_root_path).
  if (tc_endpoint__load(tce->get()) != 0) {
    return LoadError(errno, "tc_endpoint");
  }
  if (tc_underlay__load(tcu->get()) != 0) {
    return LoadError(errno, "tc_underlay");
  }

  if (!tc_ingress) {
    status = AttachXdp((*xdp)->obj, *ifindex, options.iface, options.mode);
    if (!status.ok()) return status;
  }

  auto underlay = ChooseProg(bpf_program__fd((*tcu)->progs.ovx_tc_underlay),
                             ProgPin(bpffs, kTcUnderlayName));
  if (!underlay.ok()) return underlay.status();
  status = EnsureTcxLink(*underlay, *ifindex, options.iface,
                         LinkPin(bpffs, kUnderlayLinkPrefix, options.iface));
  if (!status.ok()) return status;
  if (underlay->is_new) {
    status = ReplacePin(underlay->fd.get(), ProgPin(bpffs, kTcUnderlayName));
    if (!status.ok()) return status;
  }
  if (tc_ingress) {
    // After the tcx switch: an XDP program left in front would decapsulate
    // and hand tc_underlay packets it no longer expects.
    auto removed = DetachXdp(*ifindex, options.iface);
    if (!removed.ok()) return removed.status();
  }
  // After tc_underlay is in place: the kernel's socket opens behind it.
  AttachReport report;
  auto gro = ApplyTunnelGro(options, tc_ingress, old_port);
  if (!gro.ok()) return gro.status();
  report.tunnel_gro = *std::move(gro);

  auto endpoint = ChooseProg(bpf_program__fd((*tce)->progs.ovx_tc_endpoint),
                             ProgPin(bpffs, kTcEndpointName));
  if (!endpoint.ok()) return endpoint.status();
  if (endpoint->is_new) {
    status = ReplacePin(endpoint->fd.get(), ProgPin(bpffs, kTcEndpointName));
    if (!status.ok()) return status;
  }
  status = UpdateEndpointLinks(bpffs, *endpoint);
  if (!status.ok()) return status;
  // Every program now reads endpoint_slots2; the old layout has no reader.
  status = Unpin(absl::StrCat(bpffs, "/", OVX_MAP_ENDPOINT_SLOTS_OLD));
  if (!status.ok()) return status;
  if (options.big_tcp != 0) {
    auto big_tcp = SetBigTcp(options.iface, *ifindex, options.big_tcp);
    if (!big_tcp.ok()) return big_tcp.status();
    report.big_tcp = *std::move(big_tcp);
  }
  return report;
}

absl::Status AttachEndpoint(absl::string_view bpffs_view,
                            absl::string_view iface) {
  std::string bpffs(bpffs_view);
  auto ifindex = IfIndex(iface);
  if (!ifindex.ok()) return ifindex.status();
  auto lock = LockRoot(bpffs);
  if (!lock.ok()) {
    if (absl::IsNotFound(lock.status())) return NotAttachedError(bpffs);
    return lock.status();
  }
  auto prog = OpenPin(ProgPin(bpffs, kTcEndpointName));
  if (!prog.ok()) {
    if (absl::IsNotFound(prog.status())) return NotAttachedError(bpffs);
    return prog.status();
  }
  auto state = ReadProgState(prog->get());
  if (!state.ok()) return state.status();
  ChosenProg chosen{*std::move(prog), *state, false};
  return EnsureTcxLink(chosen, *ifindex, iface,
                       LinkPin(bpffs, kEndpointLinkPrefix, iface));
}

absl::Status Detach(absl::string_view bpffs_view, absl::string_view iface) {
  std::string bpffs(bpffs_view);
  if (iface.empty()) return absl::InvalidArgumentError("--iface is required");
  auto lock = LockRoot(bpffs);
  if (!lock.ok()) return lock.status();
  bool found = false;
  // The tunnel GRO device goes before the underlay program it sits behind.
  if (OpenPin(LinkPin(bpffs, kUnderlayLinkPrefix, iface)).ok()) {
    absl::Status closed = CloseTunnelGro(PinnedVxlanPort(bpffs));
    if (!closed.ok()) return closed;
  }
  for (absl::string_view prefix : {kEndpointLinkPrefix, kUnderlayLinkPrefix}) {
    std::string pin = LinkPin(bpffs, prefix, iface);
    absl::Status status = DetachAndUnpin(pin);
    if (absl::IsNotFound(status)) continue;
    if (!status.ok()) return status;
    found = true;
  }
  unsigned ifindex = if_nametoindex(std::string(iface).c_str());
  if (ifindex != 0) {
    PointLibxdpAt(bpffs);
    auto removed = DetachXdp(ifindex, iface);
    if (!removed.ok()) return removed.status();
    found = found || *removed;
  }
  if (!found) {
    return absl::NotFoundError(
        absl::StrCat("ovx has nothing attached to ", iface, " under ", bpffs));
  }
  return absl::OkStatus();
}

absl::Status DetachAll(absl::string_view bpffs_view,
                       const DetachAllOptions& opts) {
  std::string bpffs(bpffs_view);
  auto lock = LockRoot(bpffs);
  if (!lock.ok()) return lock.status();
  PointLibxdpAt(bpffs);
  absl::Status first;
  auto keep_first = [&first](absl::Status status) {
    if (first.ok()) first = std::move(status);
  };
  // The tunnel GRO device and the underlay's XDP program: where the
  // pinned config says they are.
  std::optional<ovx_config> cfg = PinnedConfig(bpffs);
  keep_first(CloseTunnelGro(cfg ? cfg->vxlan_port : OVX_VXLAN_PORT_DEFAULT));
  if (cfg && cfg->underlay_ifindex != 0) {
    char name[IF_NAMESIZE] = {};
    if (if_indextoname(cfg->underlay_ifindex, name) != nullptr) {
      keep_first(DetachXdp(cfg->underlay_ifindex, name).status());
    }
  }
  for (absl::string_view sub : {kLinksDir, kProgsDir}) {
    std::string dir = absl::StrCat(bpffs, "/", sub);
    for (const std::string& name : ListDir(dir)) {
      absl::Status status = sub == kLinksDir
                                ? DetachAndUnpin(absl::StrCat(dir, "/", name))
                                : Unpin(absl::StrCat(dir, "/", name));
      if (!absl::IsNotFound(status)) keep_first(status);
    }
    rmdir(dir.c_str());
  }
  if (opts.purge_maps) {
    for (absl::string_view name : kMapNames) {
      keep_first(Unpin(absl::StrCat(bpffs, "/", name)));
    }
    keep_first(Unpin(absl::StrCat(bpffs, "/", OVX_MAP_ENDPOINT_SLOTS_OLD)));
  }
  return first;
}

}  // namespace ovx::loader
