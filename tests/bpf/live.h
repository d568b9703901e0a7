// Helpers for the live tests (programs attached to real veths in the test
// netns): a process parked in its own netns standing in for a container,
// and what a device inside it received.
#ifndef OVX_TESTS_BPF_LIVE_H_
#define OVX_TESTS_BPF_LIVE_H_

#include <sys/types.h>

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ovx::testing {

// A child process in a fresh netns; killed (and its netns with it) on
// destruction. pid() is -1 if it could not be created.
class ContainerNetns {
 public:
  ContainerNetns();
  ~ContainerNetns();
  ContainerNetns(const ContainerNetns&) = delete;
  ContainerNetns& operator=(const ContainerNetns&) = delete;

  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

// rx packets of dev inside the netns of pid.
absl::StatusOr<uint64_t> RxPackets(pid_t pid, absl::string_view dev);

// The IP layer's InReceives inside the netns of pid. A frame the stack
// marked OTHERHOST (for another MAC) is dropped before it is counted.
absl::StatusOr<uint64_t> IpInReceives(pid_t pid);

}  // namespace ovx::testing

#endif  // OVX_TESTS_BPF_LIVE_H_
