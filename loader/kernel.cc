#include "loader/kernel.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace ovx::loader {

absl::Status ErrnoStatus(int err, absl::string_view what) {
  std::string msg = absl::StrCat(what, ": ", std::strerror(err));
  switch (err) {
    case ENOENT:
    case ENODEV:
      return absl::NotFoundError(msg);
    case EPERM:
    case EACCES:
      return absl::PermissionDeniedError(msg);
    case EEXIST:
    case EBUSY:
      return absl::AlreadyExistsError(msg);
    case EINVAL:
      return absl::InvalidArgumentError(msg);
    default:
      return absl::InternalError(msg);
  }
}

std::string ProgPin(absl::string_view bpffs, absl::string_view prog) {
  return absl::StrCat(bpffs, "/", kProgsDir, "/", prog);
}

// bpffs refuses names with a dot (reserved for its own files), and
// interface names may have one (eth0.100): "%2e" stands for it.
std::string EncodePinName(absl::string_view name) {
  return absl::StrReplaceAll(name, {{"%", "%25"}, {".", "%2e"}});
}

std::string DecodePinName(absl::string_view name) {
  return absl::StrReplaceAll(name, {{"%2e", "."}, {"%25", "%"}});
}

std::string LinkPin(absl::string_view bpffs, absl::string_view prefix,
                    absl::string_view iface) {
  return absl::StrCat(bpffs, "/", kLinksDir, "/", prefix, EncodePinName(iface));
}

absl::StatusOr<maps::UniqueFd> OpenPin(const std::string& path) {
  int fd = bpf_obj_get(path.c_str());
  if (fd < 0) return ErrnoStatus(errno, absl::StrCat("open pin ", path));
  return maps::UniqueFd(fd);
}

absl::Status ReplacePin(int fd, const std::string& path) {
  // Pin beside, then rename over: readers never see the path missing.
  std::string tmp = absl::StrCat(path, "_new");
  ::unlink(tmp.c_str());
  if (bpf_obj_pin(fd, tmp.c_str()) != 0) {
    return ErrnoStatus(errno, absl::StrCat("pin ", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoStatus(err, absl::StrCat("rename pin to ", path));
  }
  return absl::OkStatus();
}

absl::Status Unpin(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus(errno, absl::StrCat("unpin ", path));
  }
  return absl::OkStatus();
}

namespace {

// Reads ovx_cfg out of the program's .rodata map, finding its offset in the
// map's BTF datasec, so that it does not matter what else .rodata holds.
absl::Status ReadCfgFromMap(uint32_t map_id, ProgState& state) {
  int raw = bpf_map_get_fd_by_id(map_id);
  if (raw < 0) return ErrnoStatus(errno, absl::StrCat("open map id ", map_id));
  maps::UniqueFd fd(raw);
  bpf_map_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) {
    return ErrnoStatus(errno, absl::StrCat("read info of map id ", map_id));
  }
  if (!absl::EndsWith(info.name, ".rodata") || info.btf_id == 0) {
    return absl::OkStatus();
  }
  std::unique_ptr<btf, decltype(&btf__free)> types(
      btf__load_from_kernel_by_id(info.btf_id), &btf__free);
  if (!types) return ErrnoStatus(errno, "load BTF of .rodata");
  const btf_type* sec = btf__type_by_id(types.get(), info.btf_value_type_id);
  if (sec == nullptr || !btf_is_datasec(sec)) return absl::OkStatus();
  const btf_var_secinfo* var = btf_var_secinfos(sec);
  for (int i = 0; i < btf_vlen(sec); ++i, ++var) {
    const btf_type* t = btf__type_by_id(types.get(), var->type);
    if (absl::string_view(btf__name_by_offset(types.get(), t->name_off)) !=
        "ovx_cfg") {
      continue;
    }
    if (var->size != sizeof(ovx_config) ||
        var->offset + sizeof(ovx_config) > info.value_size) {
      return absl::FailedPreconditionError(
          "ovx_cfg of a loaded program has another layout");
    }
    std::vector<uint8_t> value(info.value_size);
    uint32_t key = 0;
    if (bpf_map_lookup_elem(fd.get(), &key, value.data()) != 0) {
      return ErrnoStatus(errno, "read .rodata");
    }
    std::memcpy(&state.cfg, value.data() + var->offset, sizeof(ovx_config));
    state.has_cfg = true;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ProgState> ReadProgState(int prog_fd) {
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0) {
    return ErrnoStatus(errno, "read program info");
  }
  std::vector<uint32_t> map_ids(info.nr_map_ids);
  if (!map_ids.empty()) {
    uint32_t nr = info.nr_map_ids;
    info = {};
    info.nr_map_ids = nr;
    info.map_ids = reinterpret_cast<uint64_t>(map_ids.data());
    len = sizeof(info);
    if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0) {
      return ErrnoStatus(errno, "read program map ids");
    }
    map_ids.resize(std::min<uint32_t>(nr, info.nr_map_ids));
  }
  ProgState state;
  state.id = info.id;
  state.name = info.name;
  std::memcpy(state.tag.data(), info.tag, state.tag.size());
  for (uint32_t id : map_ids) {
    absl::Status status = ReadCfgFromMap(id, state);
    if (!status.ok()) return status;
    if (state.has_cfg) break;
  }
  return state;
}

bool SameProgram(const ProgState& a, const ProgState& b) {
  return a.tag == b.tag && a.has_cfg == b.has_cfg &&
         std::memcmp(&a.cfg, &b.cfg, sizeof(ovx_config)) == 0;
}

absl::StatusOr<LinkState> ReadLinkState(int link_fd) {
  bpf_link_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(link_fd, &info, &len) != 0) {
    return ErrnoStatus(errno, "read link info");
  }
  LinkState state{info.id, info.type, info.prog_id, 0};
  // struct tcx {ifindex, attach_type} starts the union, like xdp's ifindex.
  if (info.type == kLinkTypeTcx) state.ifindex = info.xdp.ifindex;
  return state;
}

absl::StatusOr<maps::UniqueFd> LockRoot(const std::string& bpffs) {
  maps::UniqueFd fd(open(bpffs.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus(errno, absl::StrCat("open ", bpffs));
  if (flock(fd.get(), LOCK_EX) != 0) {
    return ErrnoStatus(errno, absl::StrCat("lock ", bpffs));
  }
  return fd;  // closing it releases the lock
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  struct Closer {
    void operator()(DIR* d) const { closedir(d); }
  };
  std::unique_ptr<DIR, Closer> d(opendir(dir.c_str()));
  if (!d) return names;
  while (dirent* e = readdir(d.get())) {
    absl::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    names.emplace_back(name);
  }
  return names;
}

absl::StatusOr<std::string> DriverName(absl::string_view iface) {
  const std::string what = absl::StrCat("ETHTOOL_GDRVINFO on ", iface);
  ifreq ifr{};
  if (iface.empty() || iface.size() >= sizeof(ifr.ifr_name)) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": not an interface name"));
  }
  iface.copy(ifr.ifr_name, iface.size());
  ethtool_drvinfo info{};
  info.cmd = ETHTOOL_GDRVINFO;
  ifr.ifr_data = reinterpret_cast<char*>(&info);
  // Any socket reaches the device ioctls; the netns is the caller's.
  maps::UniqueFd sock(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock.valid()) return ErrnoStatus(errno, what);
  if (ioctl(sock.get(), SIOCETHTOOL, &ifr) != 0) {
    return ErrnoStatus(errno, what);
  }
  return std::string(info.driver, strnlen(info.driver, sizeof(info.driver)));
}

absl::StatusOr<bool> Ipv4Forwarding(absl::string_view iface) {
  std::string path =
      absl::StrCat("/proc/sys/net/ipv4/conf/", iface, "/forwarding");
  std::FILE* f = std::fopen(path.c_str(), "re");
  if (f == nullptr) return ErrnoStatus(errno, absl::StrCat("read ", path));
  int on = 0;
  bool read = std::fscanf(f, "%d", &on) == 1;
  std::fclose(f);
  if (!read) return absl::InternalError(absl::StrCat("read ", path));
  return on != 0;
}

}  // namespace ovx::loader
