#include "tests/bpf/live.h"

#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace ovx::testing {

ContainerNetns::ContainerNetns() {
  int ready[2];
  if (pipe(ready) != 0) return;
  pid_ = fork();
  if (pid_ == 0) {
    close(ready[0]);
    char ok = unshare(CLONE_NEWNET) == 0 ? 1 : 0;
    (void)!write(ready[1], &ok, 1);
    if (ok) pause();
    _exit(0);
  }
  close(ready[1]);
  char ok = 0;
  bool ready_ok = pid_ > 0 && read(ready[0], &ok, 1) == 1 && ok;
  close(ready[0]);
  if (pid_ > 0 && !ready_ok) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
}

ContainerNetns::~ContainerNetns() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

// /proc/net/dev shows the reader's netns.
absl::StatusOr<uint64_t> RxPackets(pid_t pid, absl::string_view dev) {
  std::string cmd = absl::StrCat("nsenter -t ", pid, " -n cat /proc/net/dev");
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return absl::InternalError("popen nsenter");
  char line[512];
  std::optional<uint64_t> rx;
  while (fgets(line, sizeof(line), p)) {
    std::vector<absl::string_view> parts =
        absl::StrSplit(line, absl::ByAnyChar(" :"), absl::SkipEmpty());
    uint64_t v;
    if (parts.size() > 2 && parts[0] == dev && absl::SimpleAtoi(parts[2], &v)) {
      rx = v;
    }
  }
  pclose(p);
  if (!rx) return absl::NotFoundError(absl::StrCat(dev, " not in container"));
  return *rx;
}

}  // namespace ovx::testing
