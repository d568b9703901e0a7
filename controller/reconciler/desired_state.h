// What one node's maps must hold, computed from a registry snapshot. A pure
// function: the only outside input, interface name -> ifindex, is injected.
#ifndef OVX_CONTROLLER_RECONCILER_DESIRED_STATE_H_
#define OVX_CONTROLLER_RECONCILER_DESIRED_STATE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "controller/reconciler/dataplane_state.h"
#include "controller/registry/model.h"

namespace ovx::controller {

// Interface name -> ifindex on this host, or nullopt while it does not exist.
using InterfaceResolver =
    std::function<std::optional<uint32_t>(const std::string& iface)>;

struct DesiredStateOptions {
  std::string node;  // this node's name in the registry
  // Container MTU written for networks whose registry mtu is 0 ("underlay
  // MTU - 50"); 0 when the underlay MTU is unknown.
  uint16_t default_mtu = 0;
};

// A local endpoint and its host-side interface.
struct LocalInterface {
  std::string endpoint;
  std::string iface;
  uint32_t ifindex = 0;  // 0 while waiting for the interface
  bool operator==(const LocalInterface&) const = default;
};

struct DesiredState {
  DataplaneState maps;
  bool node_known = false;  // this node is in the snapshot
  // Local endpoints whose interface exists (TC is attached to these).
  std::vector<LocalInterface> interfaces;
  // Local endpoints left out until their interface appears.
  std::vector<LocalInterface> waiting;
  // Records left out, with why ("endpoint web1: network red is unknown").
  std::vector<std::string> skipped;
};

// Rules (DESIGN.md "Control plane", docs/controller.md):
//  - a network is present here when one of its endpoints is on this node
//    and has an interface; only present networks are written;
//  - local endpoints -> endpoints (local ifindex) + interfaces, once their
//    interface exists;
//  - endpoints of other nodes in present networks -> endpoints (remote, the
//    node's VTEP), vteps (allow-list) and vtep_vnis (count per VTEP, VNI).
//  - endpoints carry the identity the registry allocated (0 for a record
//    not yet given one);
//  - policy: the rules of present --policy=deny networks, compiled by
//    controller/policy/compile.h.
DesiredState ComputeDesiredState(const Snapshot& snapshot,
                                 const DesiredStateOptions& options,
                                 const InterfaceResolver& resolve);

// Stable 32-bit id of a node name (FNV-1a), stored in vteps for humans and
// drop events.
uint32_t NodeId(absl::string_view name);

}  // namespace ovx::controller

#endif  // OVX_CONTROLLER_RECONCILER_DESIRED_STATE_H_
