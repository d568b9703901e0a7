// ovx_loader: loads the ovx programs, pins them and their maps under a bpffs
// root, and attaches them to interfaces. Used by ovx-loader (attach, detach,
// status) and by ovx-controller (endpoint attach as interfaces appear).
//
// Pin layout under the root (default OVX_BPFFS_DEFAULT, see docs/loader.md):
//   <root>/<map>                 every ABI map, pinned by name
//   <root>/progs/tc_endpoint     the loaded TC programs, so that endpoint
//   <root>/progs/tc_underlay     attach reuses them without reloading
//   <root>/links/underlay-<if>   tcx ingress link of tc_underlay
//   <root>/links/endpoint-<if>   tcx ingress link of tc_endpoint
// The XDP program lives in libxdp's dispatcher on the underlay interface.
//
// Attach is idempotent and an upgrade never detaches: maps are reused, tcx
// links are switched with bpf_link_update, XDP is swapped inside the
// dispatcher (new program added before the old one is removed).
#ifndef OVX_LOADER_LOADER_H_
#define OVX_LOADER_LOADER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "maps/abi/ovx_abi.h"

namespace ovx::loader {

// Routes libbpf and libxdp messages to stderr with a prefix; warnings always,
// info and debug only when verbose. Call once, before any other function.
void BridgeLibraryLogs(bool verbose);

// Fails with a one-sentence error unless the effective capability set
// (as in /proc/self/status CapEff) allows loading and attaching programs.
absl::Status CheckPrivileges(uint64_t effective_caps);
// CheckPrivileges for the calling process.
absl::Status CheckCurrentPrivileges();

// mkdir -p dir; mounts bpffs when dir is not on one (on /sys/fs/bpf for a
// dir below it, else on dir itself). Clear error when it cannot.
absl::Status EnsureBpffs(absl::string_view dir);

enum class XdpMode { kNative, kSkb };

// Where the underlay receives VXLAN. kXdp: xdp_underlay checks and
// decapsulates, tc_underlay (or XDP_REDIRECT) delivers; on a physical NIC
// it drops floods before an skb exists. kTc: tc_underlay alone runs the same
// checks and decapsulates GSO packets whole. kAuto: one of the two, from
// the underlay's driver at attach time (ChooseIngress).
enum class IngressHook { kAuto, kXdp, kTc };

struct UnderlayOptions {
  std::string bpffs = OVX_BPFFS_DEFAULT;
  std::string iface;  // underlay interface, e.g. "eth0"
  std::string vtep;   // this node's VTEP, IPv4 dotted quad
  XdpMode mode = XdpMode::kNative;
  uint16_t vxlan_port = OVX_VXLAN_PORT_DEFAULT;
  uint16_t sport_min = OVX_SPORT_MIN_DEFAULT;
  uint16_t sport_max = OVX_SPORT_MAX_DEFAULT;
  bool xdp_deliver = false;  // decap delivery by XDP_REDIRECT, not TC
  IngressHook ingress = IngressHook::kAuto;
  // With TC ingress: the tunnel GRO device (loader/tunnel_gro.h).
  bool tunnel_gro = true;
  // IPv4 BIG TCP size for iface (loader/big_tcp.h); 0 leaves it as it is.
  uint32_t big_tcp = 0;
};

// Validates options without touching the kernel (VTEP, ports, range, BIG
// TCP size).
absl::Status ValidateUnderlayOptions(const UnderlayOptions& options);

struct IngressChoice {
  IngressHook hook = IngressHook::kXdp;  // never kAuto
  std::string reason;                    // for the attach log line
};

// The hook for options.ingress. kXdp and kTc are forced. kAuto picks kXdp
// when an XDP-only option is set (--decap-delivery=xdp, --xdp-mode=skb),
// else asks driver() for the underlay's driver name: kTc for "veth", whose
// peer loses GSO under a native XDP program and whose XDP copies every skb
// (TCP 2.4-2.6x slower with XDP ingress, docs/performance.md "Ingress
// hook"); kXdp for any other driver, the design's hook, and when driver()
// fails (the log line says so). virtio_net stays XDP: it gives up receive
// offloads for XDP, but XDP decapsulates before GRO, which TC cannot, and
// nothing here can measure which weighs more.
IngressChoice ChooseIngress(
    const UnderlayOptions& options,
    absl::FunctionRef<absl::StatusOr<std::string>()> driver);
// ChooseIngress with the driver read from the kernel (ETHTOOL_GDRVINFO).
IngressChoice ResolveIngress(const UnderlayOptions& options);
// One line: "ingress: tc (auto: driver veth; ...)".
std::string FormatIngressChoice(const IngressChoice& choice);

// attach's warning when --decap-delivery=xdp meets a veth underlay, else
// "". XDP_REDIRECT drops the skb's checksum state, so TCP from a sender on
// this machine whose veth leaves checksums to offload (tx on) reaches the
// container unfinished, and its stack drops it (docs/performance.md,
// "Decap delivery").
std::string XdpDeliveryWarning(
    const UnderlayOptions& options,
    absl::FunctionRef<absl::StatusOr<std::string>()> driver);

// Loads the three programs with ovx_cfg filled in, creates or reuses the
// pinned maps (refusing maps of another layout), attaches XDP through
// libxdp's dispatcher (when ResolveIngress picks kXdp; with kTc ovx's XDP
// program is removed instead) and tc_underlay by tcx on options.iface, pins the
// TC programs and switches every pinned endpoint link to the new tc_endpoint.
// With TC ingress, also (re)opens the tunnel GRO device behind tc_underlay
// (tunnel_gro.h); with XDP ingress, removes it. Last, with options.big_tcp,
// sets iface's IPv4 BIG TCP sizes (big_tcp.h).
struct AttachReport {
  std::string tunnel_gro;  // one line for the attach log: "tunnel-gro: ..."
  std::string big_tcp;     // "big-tcp: ...", empty without --big-tcp
};
absl::StatusOr<AttachReport> AttachUnderlay(const UnderlayOptions& options);

// tcx ingress link of the pinned tc_endpoint program on iface, pinned at
// <bpffs>/links/endpoint-<iface>. No-op when already attached to the current
// program. Needs AttachUnderlay first (FailedPrecondition otherwise).
absl::Status AttachEndpoint(absl::string_view bpffs, absl::string_view iface);

// Removes what ovx attached to iface (endpoint link, or underlay XDP program,
// tcx link and tunnel GRO device) and their pins. Maps stay: the dataplane
// state is kept.
absl::Status Detach(absl::string_view bpffs, absl::string_view iface);

struct DetachAllOptions {
  bool purge_maps = false;  // also unpin the maps: drops all dataplane state
};
// Detaches every interface ovx attached, removes the tunnel GRO device and
// unpins the programs.
absl::Status DetachAll(absl::string_view bpffs, const DetachAllOptions& opts);

// OK iff the maps and the TC programs are pinned under bpffs, i.e. the node
// was attached. The controller refuses to run on an unattached node.
absl::Status CheckNodeAttached(absl::string_view bpffs);

struct NodeConfig {
  std::string vtep;
  std::string underlay_iface;  // empty when the ifindex no longer exists
  uint32_t underlay_ifindex = 0;
  uint16_t vxlan_port = 0;
  uint16_t sport_min = 0;
  uint16_t sport_max = 0;
  bool xdp_deliver = false;
  bool tc_ingress = false;  // IngressHook::kTc
  // The underlay's IPv4 GSO / GRO size limits, read live (big_tcp.h);
  // 0: not known. Above 65536 is BIG TCP.
  uint32_t gso_ipv4_max_size = 0;
  uint32_t gro_ipv4_max_size = 0;
};

struct AttachedInterface {
  std::string iface;
  uint32_t ifindex = 0;  // 0: the interface is gone (link is defunct)
  std::string hook;      // "xdp", "tcx-ingress"
  std::string program;   // "xdp_underlay", "tc_underlay", "tc_endpoint"
  uint32_t prog_id = 0;
  uint32_t link_id = 0;  // tcx link id; for xdp the dispatcher program id
                         // (0: no dispatcher, the kernel refused freplace)
  std::string mode;      // xdp only: "native" or "skb"
};

struct MapStatus {
  std::string name;
  uint32_t id = 0;
  std::string type;      // "hash", "percpu_array", "ringbuf"...
  int64_t entries = -1;  // -1 when not countable (ring buffer)
  uint32_t max_entries = 0;
};

struct CounterStatus {
  std::string direction;  // "egress", "ingress"
  std::string reason;     // maps::ReasonName
  bool drop = false;
  uint64_t packets = 0;
  uint64_t bytes = 0;
};

struct NodeStatus {
  std::string bpffs;
  bool attached = false;  // config below is valid
  NodeConfig config;
  std::vector<AttachedInterface> interfaces;
  std::vector<MapStatus> maps;
  std::vector<CounterStatus> counters;  // non-zero ones only
};

absl::StatusOr<NodeStatus> GetStatus(absl::string_view bpffs);

// Reads drop events from the pinned events ring buffer and hands each to
// on_event until it returns false, max_events were seen (0: no limit), a
// poll of timeout_ms (-1: none) finds nothing, or a signal interrupts.
struct MonitorOptions {
  int max_events = 0;
  int timeout_ms = -1;
};
absl::Status Monitor(
    absl::string_view bpffs, const MonitorOptions& options,
    const std::function<bool(const ovx_drop_event&)>& on_event);

}  // namespace ovx::loader

#endif  // OVX_LOADER_LOADER_H_
