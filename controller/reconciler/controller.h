// ovx-controller as a library: keeps this node's maps equal to what the
// registry says, attaches tc_endpoint to local endpoint interfaces as they
// appear, and never flushes (see docs/controller.md).
#ifndef OVX_CONTROLLER_RECONCILER_CONTROLLER_H_
#define OVX_CONTROLLER_RECONCILER_CONTROLLER_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "controller/reconciler/reconciler.h"
#include "controller/registry/backend.h"
#include "maps/abi/ovx_abi.h"

namespace ovx::controller {

struct ControllerOptions {
  std::string node;  // this node's name in the registry (required)
  RegistryOptions registry;  // empty url: kDefaultRegistryUrl
  std::string bpffs = OVX_BPFFS_DEFAULT;
  // Reconcile once and return (no watch, no link events).
  bool once = false;
  // Full registry reload and map re-read, repairing anything a missed event
  // or a hand edit left behind. Zero disables it.
  absl::Duration resync_interval = absl::Minutes(5);
  LogFn log;  // one line per call; default: stderr
};

class Controller {
 public:
  // Checks that the node was attached (ovx-loader attach) and opens the
  // registry, the maps and the link-event socket.
  static absl::StatusOr<std::unique_ptr<Controller>> Create(
      ControllerOptions options);
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
