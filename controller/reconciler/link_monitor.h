// Tells the controller promptly when network interfaces appear, vanish or
// are renamed: an rtnetlink socket subscribed to RTMGRP_LINK, polled by the
// controller's event loop (no periodic scan).
#ifndef OVX_CONTROLLER_RECONCILER_LINK_MONITOR_H_
#define OVX_CONTROLLER_RECONCILER_LINK_MONITOR_H_

#include "absl/status/statusor.h"
#include "maps/fd.h"

namespace ovx::controller {

class LinkMonitor {
 public:
  // Non-blocking socket in the calling thread's network namespace.
  static absl::StatusOr<LinkMonitor> Open();

  int fd() const { return fd_.get(); }

  // Reads every pending message; true when a link was added, changed or
  // removed, or when the kernel dropped messages (socket overrun), in which
  // case the caller must look again anyway.
  absl::StatusOr<bool> Drain();

 private:
  explicit LinkMonitor(maps::UniqueFd fd) : fd_(std::move(fd)) {}
  maps::UniqueFd fd_;
};

}  // namespace ovx::controller

#endif  // OVX_CONTROLLER_RECONCILER_LINK_MONITOR_H_
