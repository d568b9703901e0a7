// Helpers for the BPF packet tests: a private network namespace to run in,
// BPF_PROG_TEST_RUN wrappers for skb and XDP programs, and counter
// snapshots to assert that exactly one (direction, reason) moved.
#ifndef OVX_TESTS_LIB_BPF_TEST_UTIL_H_
#define OVX_TESTS_LIB_BPF_TEST_UTIL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "maps/abi/ovx_abi.h"
#include "tests/lib/packet_builder.h"

namespace ovx::testing {

// Moves the calling thread into a fresh network namespace (only it, so call
// it from the thread that runs the tests, before any other thread exists).
// Everything created in it vanishes with the process.
absl::Status EnterPrivateNetns();

// Runs a shell command (in the caller's netns); error carries its output.
absl::Status Sh(absl::string_view command);

// ifindex of a device in the current netns, or an error.
absl::StatusOr<uint32_t> IfIndex(absl::string_view name);

// True when the environment demands that root-only tests run (CI=true).
bool InCi();

struct RunResult {
  uint32_t retval = 0;
  Bytes out;   // output packet (XDP: without the metadata)
  Bytes meta;  // XDP only: the metadata area in front of it
};

// One BPF_PROG_TEST_RUN of a tc (sched_cls) program, repeat = 1. ifindex
// becomes skb->dev (and skb->ifindex); 0 means loopback.
absl::StatusOr<RunResult> RunSkb(int prog_fd, const Bytes& in,
                                 uint32_t ifindex);
// Same for XDP; meta_in is put in front of the packet as metadata.
absl::StatusOr<RunResult> RunXdp(int prog_fd, const Bytes& in,
                                 const Bytes& meta_in = {});

// The counters map, summed over CPUs: index OVX_COUNTER_INDEX(dir, reason).
using Counters = std::vector<ovx_counter>;
absl::StatusOr<Counters> ReadCounters(int counters_fd);

// Empty when, from before to after, exactly counter (dir, reason) moved by
// one packet of `bytes` and nothing else moved; otherwise what did move.
// reason 0 means "nothing may move".
std::string CheckOnlyCounter(const Counters& before, const Counters& after,
                             uint32_t dir, uint32_t reason, uint64_t bytes);

// The one reason whose (dir, reason) counter moved from before to after;
// 0 when none did, an error naming them when several did.
absl::StatusOr<uint32_t> MovedReason(const Counters& before,
                                     const Counters& after, uint32_t dir);

// Every ovx_drop_event waiting in an events ring buffer, consumed.
absl::StatusOr<std::vector<ovx_drop_event>> DrainDropEvents(int events_fd);

// Deletes every key of a hash map.
absl::Status ClearMap(int map_fd);

}  // namespace ovx::testing

#endif  // OVX_TESTS_LIB_BPF_TEST_UTIL_H_
