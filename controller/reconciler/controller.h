// ovx-controller as a library: keeps this node's maps equal to what the
// registry says, attaches tc_endpoint to local endpoint interfaces as they
// appear, and never flushes (see docs/controller.md).
#ifndef OVX_CONTROLLER_RECONCILER_CONTROLLER_H_
#define OVX_CONTROLLER_RECONCILER_CONTROLLER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "controller/reconciler/desired_state.h"
#include "controller/reconciler/map_writer.h"
#include "controller/reconciler/reconciler.h"
#include "controller/registry/backend.h"
#include "maps/abi/ovx_abi.h"

namespace ovx::controller {

struct ControllerOptions {
  std::string node;          // this node's name in the registry (required)
  RegistryOptions registry;  // empty url: kDefaultRegistryUrl
  std::string bpffs = OVX_BPFFS_DEFAULT;
  // Reconcile once and return (no watch, no link events).
  bool once = false;
  // Full registry reload and map re-read, repairing anything a missed event
  // or a hand edit left behind. Zero disables it.
  absl::Duration resync_interval = absl::Minutes(5);
  // First retry delay after a registry or map error; doubles up to 5 s.
  absl::Duration retry_min = absl::Milliseconds(250);
  LogFn log;  // one line per call; default: stderr
};

// What the controller acts on. Create() builds the real ones (registry
// backend, pinned maps, if_nametoindex, the loader); tests inject fakes.
struct ControllerDeps {
  std::unique_ptr<RegistryBackend> backend;
  std::unique_ptr<MapWriter> writer;
  InterfaceResolver resolve;
  // Attach tc_endpoint to an interface (idempotent) / drop its link pin.
  std::function<absl::Status(const std::string& iface)> attach;
  std::function<absl::Status(const std::string& iface)> detach;
  // What the loader recorded at attach time.
  std::string attached_vtep;  // checked against the registry's
  uint16_t default_mtu = 0;   // underlay MTU - 50, for networks' mtu 0
  std::map<std::string, uint32_t> endpoint_links;  // iface -> ifindex
};

class Controller {
 public:
  // Checks that the node was attached (ovx-loader attach) and opens the
  // registry, the maps and the link-event socket.
  static absl::StatusOr<std::unique_ptr<Controller>> Create(
      ControllerOptions options);
  // Same loop over injected dependencies.
  static absl::StatusOr<std::unique_ptr<Controller>> CreateWith(
      ControllerOptions options, ControllerDeps deps);
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // With options.once: one load, one reconcile, errors returned. Otherwise
  // runs until Stop(); registry and map errors are logged and retried with
  // backoff while the dataplane keeps its last state.
  absl::Status Run();

  // Makes Run() return soon without touching the maps. Async-signal-safe.
  void Stop();

  class Impl;

 private:
  explicit Controller(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ovx::controller

#endif  // OVX_CONTROLLER_RECONCILER_CONTROLLER_H_
