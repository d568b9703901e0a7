#include "loader/xdp.h"

#include <bpf/bpf.h>
#include <linux/if_link.h>
#include <xdp/libxdp.h>

#include <cerrno>
#include <cstdlib>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "loader/kernel.h"
#include "maps/fd.h"

namespace ovx::loader {
namespace {

using Multiprog =
    std::unique_ptr<xdp_multiprog, decltype(&xdp_multiprog__close)>;
using Program = std::unique_ptr<xdp_program, decltype(&xdp_program__close)>;

// The XDP programs on ifindex; null when there are none.
absl::StatusOr<Multiprog> GetMultiprog(uint32_t ifindex,
                                       absl::string_view iface) {
  xdp_multiprog* mp = xdp_multiprog__get_from_ifindex(ifindex);
  long err = libxdp_get_error(mp);
  if (mp == nullptr || err == -ENOENT) return Multiprog(nullptr, nullptr);
  if (err != 0) {
    return ErrnoStatus(-err, absl::StrCat("read XDP programs of ", iface));
  }
  return Multiprog(mp, &xdp_multiprog__close);
}

bool IsOvx(const xdp_program* prog) {
  const char* name = xdp_program__name(prog);
  return name != nullptr && absl::StartsWith(name, kXdpProgPrefix);
}

xdp_program* FindOvx(const xdp_multiprog* mp) {
  for (xdp_program* p = xdp_multiprog__next_prog(nullptr, mp); p != nullptr;
       p = xdp_multiprog__next_prog(p, mp)) {
    if (IsOvx(p)) return p;
  }
  return nullptr;
}

xdp_attach_mode LibxdpMode(XdpMode mode) {
  return mode == XdpMode::kSkb ? XDP_MODE_SKB : XDP_MODE_NATIVE;
}

std::string ModeName(xdp_attach_mode mode) {
  switch (mode) {
    case XDP_MODE_NATIVE:
      return "native";
    case XDP_MODE_SKB:
      return "skb";
    case XDP_MODE_HW:
      return "hw";
    default:
      return "unknown";
  }
}

uint32_t ModeFlags(XdpMode mode) {
  return mode == XdpMode::kSkb ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
}

// Without a dispatcher (a kernel that refuses freplace extensions, where
// libxdp falls back to attaching the program itself) ovx's program is the
// interface's only one: an upgrade swaps it in one netlink call
// (XDP_FLAGS_REPLACE), and an identical program is left alone.
absl::Status ReplaceLegacyXdp(bpf_object* obj, xdp_program* old,
                              uint32_t ifindex, absl::string_view iface,
                              XdpMode mode) {
  if (bpf_object__load(obj) != 0) {
    return ErrnoStatus(errno, "load xdp_underlay (--verbose shows why)");
  }
  int new_fd = bpf_program__fd(bpf_object__next_program(obj, nullptr));
  auto fresh = ReadProgState(new_fd);
  if (!fresh.ok()) return fresh.status();
  maps::UniqueFd old_fd(bpf_prog_get_fd_by_id(xdp_program__id(old)));
  if (!old_fd.valid()) {
    return ErrnoStatus(errno, absl::StrCat("open xdp program of ", iface));
  }
  auto current = ReadProgState(old_fd.get());
  if (!current.ok()) return current.status();
  if (SameProgram(*current, *fresh)) return absl::OkStatus();
  bpf_xdp_attach_opts opts{};
  opts.sz = sizeof(opts);
  opts.old_prog_fd = old_fd.get();
  if (bpf_xdp_attach(static_cast<int>(ifindex), new_fd,
                     XDP_FLAGS_REPLACE | ModeFlags(mode), &opts) != 0) {
    return ErrnoStatus(errno, absl::StrCat("replace xdp program on ", iface));
  }
  return absl::OkStatus();
}

}  // namespace

void PointLibxdpAt(absl::string_view bpffs) {
  if (absl::StartsWith(bpffs, "/sys/fs/bpf")) return;
  setenv(XDP_BPFFS_ENVVAR, std::string(bpffs).c_str(), /*overwrite=*/0);
}

absl::Status CheckXdpSlot(uint32_t ifindex, absl::string_view iface,
                          XdpMode mode) {
  auto mp = GetMultiprog(ifindex, iface);
  if (!mp.ok()) return mp.status();
  if (*mp == nullptr) return absl::OkStatus();
  xdp_program* main = xdp_multiprog__main_prog(mp->get());
  if (xdp_multiprog__is_legacy(mp->get()) && !IsOvx(main)) {
    return absl::FailedPreconditionError(absl::StrCat(
        iface, " already has an XDP program attached without libxdp (id ",
        xdp_program__id(main), ", \"", xdp_program__name(main),
        "\"); remove it first (ip link set dev ", iface, " xdp off)"));
  }
  xdp_attach_mode current = xdp_multiprog__attach_mode(mp->get());
  if (current != LibxdpMode(mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(iface, " has an XDP dispatcher in ", ModeName(current),
                     " mode; attach with --xdp-mode=", ModeName(current),
                     " or detach its programs first"));
  }
  return absl::OkStatus();
}

absl::Status AttachXdp(bpf_object* obj, uint32_t ifindex,
                       absl::string_view iface, XdpMode mode) {
  auto before = GetMultiprog(ifindex, iface);
  if (!before.ok()) return before.status();
  if (*before != nullptr && xdp_multiprog__is_legacy(before->get())) {
    return ReplaceLegacyXdp(obj, xdp_multiprog__main_prog(before->get()),
                            ifindex, iface, mode);
  }
  std::optional<uint32_t> old_id;
  if (*before != nullptr) {
    if (xdp_program* old = FindOvx(before->get())) {
      old_id = xdp_program__id(old);
    }
  }
  xdp_program_opts opts{};
  opts.sz = sizeof(opts);
  opts.obj = obj;
  Program prog(xdp_program__create(&opts), &xdp_program__close);
  if (long err = libxdp_get_error(prog.get()); err != 0) {
    prog.release();
    return ErrnoStatus(-err, "prepare XDP program");
  }
  // libxdp loads obj here (as an freplace extension of its dispatcher, or
  // as a plain XDP program when the kernel refuses extensions).
  int err = xdp_program__attach(prog.get(), ifindex, LibxdpMode(mode), 0);
  if (err != 0) {
    return ErrnoStatus(
        -err, absl::StrCat("attach xdp to ", iface, " (--verbose shows why)"));
  }
  if (!old_id) return absl::OkStatus();
  // The new program runs; now take the previous one out.
  Program old(xdp_program__from_id(*old_id), &xdp_program__close);
  if (long e = libxdp_get_error(old.get()); e != 0) {
    old.release();
    return ErrnoStatus(-e, absl::StrCat("find previous xdp program id ",
                                        *old_id, " on ", iface));
  }
  err = xdp_program__detach(old.get(), ifindex, XDP_MODE_UNSPEC, 0);
  if (err != 0) {
    return ErrnoStatus(-err, absl::StrCat("remove previous xdp program id ",
                                          *old_id, " from ", iface));
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> DetachXdp(uint32_t ifindex, absl::string_view iface) {
  auto mp = GetMultiprog(ifindex, iface);
  if (!mp.ok()) return mp.status();
  if (*mp == nullptr) return false;
  xdp_program* ours = xdp_multiprog__is_legacy(mp->get())
                          ? xdp_multiprog__main_prog(mp->get())
                          : FindOvx(mp->get());
  if (ours == nullptr || !IsOvx(ours)) return false;
  // The mode it is attached in: libxdp 1.3 fails with EBUSY for an skb-mode
  // program detached as XDP_MODE_UNSPEC.
  int err = xdp_program__detach(ours, ifindex,
                                xdp_multiprog__attach_mode(mp->get()), 0);
  if (err != 0) {
    return ErrnoStatus(-err, absl::StrCat("detach xdp from ", iface));
  }
  return true;
}

std::optional<XdpAttachment> FindOvxXdp(uint32_t ifindex) {
  auto mp = GetMultiprog(ifindex, "");
  if (!mp.ok() || *mp == nullptr) return std::nullopt;
  bool legacy = xdp_multiprog__is_legacy(mp->get());
  xdp_program* ours =
      legacy ? xdp_multiprog__main_prog(mp->get()) : FindOvx(mp->get());
  if (ours == nullptr || !IsOvx(ours)) return std::nullopt;
  return XdpAttachment{
      xdp_program__id(ours),
      legacy ? 0 : xdp_program__id(xdp_multiprog__main_prog(mp->get())),
      ModeName(xdp_multiprog__attach_mode(mp->get()))};
}

}  // namespace ovx::loader
