// Diff and apply: brings the maps from what they hold to what they must hold
// with the fewest writes, every put before any delete, and never a flush.
#ifndef OVX_CONTROLLER_RECONCILER_RECONCILER_H_
#define OVX_CONTROLLER_RECONCILER_RECONCILER_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "controller/reconciler/dataplane_state.h"
#include "controller/reconciler/map_writer.h"

namespace ovx::controller {

using LogFn = std::function<void(absl::string_view line)>;

// Change lines logged per Apply; a larger diff (a cold sync) is counted.
inline constexpr int kMaxChangeLines = 1000;

struct ReconcileResult {
  int added = 0;
  int updated = 0;
  int removed = 0;
  int failed = 0;
  absl::Status status;  // first failure, OK when failed == 0
  int writes() const { return added + updated + removed; }
};

class Reconciler {
 public:
  // `writer` must outlive the reconciler; `log` gets one line per change,
  // up to kMaxChangeLines per Apply (the summary counts the rest), and one
  // per failure.
  Reconciler(MapWriter& writer, LogFn log)
      : writer_(writer), log_(std::move(log)) {}

  // Reads what the maps hold now. Called once at start (and on a periodic
  // resync, to repair changes made behind our back); afterwards `current`
  // follows every successful write.
  absl::Status ReadCurrent();

  // Applies desired - current: puts (policy, networks, vteps, vtep_vnis,
  // interfaces, endpoints) then deletes in reverse order, so nothing in the
  // maps ever refers to an entry that is not there yet. A failed write is
  // logged, counted and retried on the next call; the others still happen. Logs
  // "reconciled revision=N: +A ~U -R" (when nothing was written only if
  // `summarize_noop`, so that link flaps do not fill the log).
  ReconcileResult Apply(const DataplaneState& desired, int64_t revision,
                        bool summarize_noop = true);

  const DataplaneState& current() const { return current_; }

 private:
  MapWriter& writer_;
  LogFn log_;
  DataplaneState current_;
};

}  // namespace ovx::controller

#endif  // OVX_CONTROLLER_RECONCILER_RECONCILER_H_
