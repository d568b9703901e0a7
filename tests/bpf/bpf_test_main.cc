// Entry point of the packet tests: moves into a private netns and builds the
// world there before any test (and any thread) runs. Not root: every test
// fails under CI=true and is skipped otherwise (see RequireWorld()).
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>

#include "gtest/gtest.h"
#include "tests/bpf/world.h"
#include "tests/lib/bpf_test_util.h"

namespace {

// libbpf warnings (verifier logs) only; its info/debug lines are noise here.
int LibbpfPrint(enum libbpf_print_level level, const char* fmt, va_list ap) {
  if (level != LIBBPF_WARN) return 0;
  return std::vfprintf(stderr, fmt, ap);
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  libbpf_set_print(LibbpfPrint);
  if (geteuid() == 0) {
    absl::Status s = ovx::testing::EnterPrivateNetns();
    absl::StatusOr<ovx::testing::World> world =
        s.ok() ? ovx::testing::BuildWorld()
               : absl::StatusOr<ovx::testing::World>(s);
    if (!world.ok()) {
      std::fprintf(stderr, "packet tests: cannot build the test netns: %s\n",
                   world.status().ToString().c_str());
      return 1;
    }
    ovx::testing::SetTheWorld(*world);
  }
  return RUN_ALL_TESTS();
}
