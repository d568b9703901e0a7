#include "tests/bpf/live.h"

#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/match.h"
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

namespace {

// The lines of a /proc/net file as the netns of pid shows it: those files
// show the reader's netns, so the reader runs there.
absl::StatusOr<std::vector<std::string>> ProcNetLines(pid_t pid,
                                                      absl::string_view file) {
  std::string cmd =
      absl::StrCat("nsenter -t ", pid, " -n cat /proc/net/", file);
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return absl::InternalError("popen nsenter");
  std::vector<std::string> lines;
  char line[4096];
  while (fgets(line, sizeof(line), p)) lines.emplace_back(line);
  if (pclose(p) != 0)
    return absl::InternalError(absl::StrCat("cannot read /proc/net/", file));
  return lines;
}

}  // namespace

absl::StatusOr<uint64_t> RxPackets(pid_t pid, absl::string_view dev) {
  auto lines = ProcNetLines(pid, "dev");
  if (!lines.ok()) return lines.status();
  for (const std::string& line : *lines) {
    std::vector<absl::string_view> parts =
        absl::StrSplit(line, absl::ByAnyChar(" :"), absl::SkipEmpty());
    uint64_t v;
    if (parts.size() > 2 && parts[0] == dev && absl::SimpleAtoi(parts[2], &v))
      return v;
  }
  return absl::NotFoundError(absl::StrCat(dev, " not in container"));
}

// /proc/net/snmp has two "Ip:" lines: the names, then the values.
absl::StatusOr<uint64_t> IpInReceives(pid_t pid) {
  auto lines = ProcNetLines(pid, "snmp");
  if (!lines.ok()) return lines.status();
  std::vector<std::vector<absl::string_view>> ip;
  for (const std::string& line : *lines) {
    if (absl::StartsWith(line, "Ip:"))
      ip.push_back(
          absl::StrSplit(line, absl::ByAnyChar(" \n"), absl::SkipEmpty()));
  }
  if (ip.size() == 2 && ip[0].size() == ip[1].size()) {
    for (size_t i = 1; i < ip[0].size(); ++i) {
      uint64_t v;
      if (ip[0][i] == "InReceives" && absl::SimpleAtoi(ip[1][i], &v)) return v;
    }
  }
  return absl::NotFoundError("no Ip InReceives in /proc/net/snmp");
}

}  // namespace ovx::testing
