// ovx_bpf_stats: runs a command with the kernel's BPF run-time statistics on.
//
// While the fd BPF_ENABLE_STATS returns is open, every program's run_cnt
// and run_time_ns count. The fd dies with this process, even a killed one,
// so no kernel.bpf_stats_enabled sysctl is left on behind a failed run.
// bench/lib/measure.sh reads the counters before and after.
#include <bpf/bpf.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

int main(int argc, char** argv) {
  if (argc < 2 || std::string_view(argv[1]) == "--help") {
    std::fprintf(stderr,
                 "usage: ovx_bpf_stats COMMAND [ARG...]\n"
                 "Runs COMMAND with BPF run-time statistics (run_cnt, "
                 "run_time_ns of every program) counting, and exits with its "
                 "status. Needs root.\n");
    return 2;
  }
  const int stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
  if (stats_fd < 0) {
    std::fprintf(stderr, "ovx_bpf_stats: BPF_ENABLE_STATS: %s\n",
                 std::strerror(-stats_fd));
    return 1;
  }
  const pid_t child = fork();
  if (child < 0) {
    std::fprintf(stderr, "ovx_bpf_stats: fork: %s\n", std::strerror(errno));
    return 1;
  }
  if (child == 0) {
    execvp(argv[1], argv + 1);
    std::fprintf(stderr, "ovx_bpf_stats: %s: %s\n", argv[1],
                 std::strerror(errno));
    _exit(127);
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) {
      std::fprintf(stderr, "ovx_bpf_stats: waitpid: %s\n",
                   std::strerror(errno));
      return 1;
    }
  }
  close(stats_fd);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}
