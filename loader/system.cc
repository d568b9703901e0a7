// Process-level setup: library log bridging, privilege check, bpffs mount.
#include <bpf/libbpf.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <xdp/libxdp.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "loader/kernel.h"
#include "loader/loader.h"

namespace ovx::loader {
namespace {

bool g_verbose = false;

// Library chatter (probing, verifier logs, states they then handle) is for
// --verbose only: we report what matters in our own error, once.
void Print(const char* prefix, const char* format, va_list args) {
  if (!g_verbose) return;
  std::fputs(prefix, stderr);
  std::vfprintf(stderr, format, args);
}

// libbpf starts its lines with "libbpf: " itself.
int LibbpfPrint(libbpf_print_level /*level*/, const char* format,
                va_list args) {
  Print("", format, args);
  return 0;
}

int LibxdpPrint(libxdp_print_level /*level*/, const char* format,
                va_list args) {
  Print("libxdp: ", format, args);
  return 0;
}

bool IsBpffs(const std::string& path) {
  struct statfs st {};
  return statfs(path.c_str(), &st) == 0 &&
         static_cast<unsigned long>(st.f_type) == BPF_FS_MAGIC;
}

absl::Status MkdirP(const std::string& dir) {
  std::string partial;
  for (size_t pos = 0; pos != std::string::npos;) {
    pos = dir.find('/', pos + 1);
    partial = dir.substr(0, pos);
    if (partial.empty()) continue;
    if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
      return ErrnoStatus(errno, absl::StrCat("create directory ", partial));
    }
  }
  return absl::OkStatus();
}

// The deepest existing ancestor of path (path itself if it exists).
std::string ExistingAncestor(std::string path) {
  struct stat st {};
  while (!path.empty() && ::stat(path.c_str(), &st) != 0) {
    size_t slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    path = slash == 0 ? "/" : path.substr(0, slash);
  }
  return path.empty() ? "." : path;
}

}  // namespace

void BridgeLibraryLogs(bool verbose) {
  g_verbose = verbose;
  libbpf_set_print(LibbpfPrint);
  libxdp_set_print(LibxdpPrint);
}

absl::Status CheckPrivileges(uint64_t effective_caps) {
  constexpr int kCapNetAdmin = 12, kCapSysAdmin = 21, kCapBpf = 39;
  auto has = [&](int cap) { return (effective_caps >> cap) & 1; };
  if (has(kCapNetAdmin) && (has(kCapBpf) || has(kCapSysAdmin))) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      "ovx-loader must run as root (it needs CAP_BPF or CAP_SYS_ADMIN, and "
      "CAP_NET_ADMIN)");
}

absl::Status CheckCurrentPrivileges() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (!absl::StartsWith(line, "CapEff:")) continue;
    uint64_t caps = 0;
    std::string hex(absl::StripAsciiWhitespace(line.substr(7)));
    if (!absl::SimpleHexAtoi(hex, &caps)) break;
    return CheckPrivileges(caps);
  }
  return absl::InternalError("cannot read CapEff from /proc/self/status");
}

absl::Status EnsureBpffs(absl::string_view dir_view) {
  std::string dir(dir_view);
  if (dir.empty() || dir[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("bpffs directory '", dir, "' must be an absolute path"));
  }
  if (!IsBpffs(ExistingAncestor(dir))) {
    // Under /sys/fs/bpf, mount the standard place so bpftool, libxdp and
    // other tools share it; elsewhere (tests, simulated hosts) mount dir.
    std::string target = absl::StartsWith(dir, "/sys/fs/bpf/")
                             ? std::string("/sys/fs/bpf")
                             : dir;
    if (!IsBpffs(target)) {
      absl::Status made = MkdirP(target);
      if (!made.ok()) {
        return absl::FailedPreconditionError(
            absl::StrCat("no bpffs at ", dir, " and cannot create ", target,
                         ": ", made.message()));
      }
      if (::mount("bpf", target.c_str(), "bpf", 0, "mode=0700") != 0) {
        return absl::FailedPreconditionError(absl::StrCat(
            "no bpffs at ", dir, " and mounting one on ", target,
            " failed: ", std::strerror(errno),
            " (mount it yourself: mount -t bpf bpf ", target, ")"));
      }
    }
  }
  absl::Status made = MkdirP(dir);
  if (!made.ok()) return made;
  if (!IsBpffs(dir)) {
    return absl::FailedPreconditionError(
        absl::StrCat(dir, " is not on a bpffs"));
  }
  return absl::OkStatus();
}

}  // namespace ovx::loader
