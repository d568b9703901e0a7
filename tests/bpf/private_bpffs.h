// PrivateBpffs: a bpffs of a test's own, for what pins maps by name.
#ifndef OVX_TESTS_BPF_PRIVATE_BPFFS_H_
#define OVX_TESTS_BPF_PRIVATE_BPFFS_H_

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace ovx::testing {

// Mounted at /tmp/ovx-<what>-<pid>; unmounted and removed on the way out.
class PrivateBpffs {
 public:
  explicit PrivateBpffs(absl::string_view what)
      : dir_(absl::StrCat("/tmp/ovx-", what, "-", getpid())) {
    if (mkdir(dir_.c_str(), 0700) != 0) return;
    made_ = true;
    mounted_ = mount("bpf", dir_.c_str(), "bpf", 0, nullptr) == 0;
  }
  ~PrivateBpffs() {
    if (mounted_) umount2(dir_.c_str(), MNT_DETACH);
    if (made_) rmdir(dir_.c_str());
  }
  PrivateBpffs(const PrivateBpffs&) = delete;
  PrivateBpffs& operator=(const PrivateBpffs&) = delete;

  bool ok() const { return mounted_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  bool made_ = false;
  bool mounted_ = false;
};

}  // namespace ovx::testing

#endif  // OVX_TESTS_BPF_PRIVATE_BPFFS_H_
