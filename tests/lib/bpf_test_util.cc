#include "tests/lib/bpf_test_util.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "maps/dataplane_maps.h"

namespace ovx::testing {
namespace {

absl::Status Errno(absl::string_view what, int err) {
  return absl::Status(absl::ErrnoToStatusCode(err),
                      absl::StrCat(what, ": ", std::strerror(err)));
}

}  // namespace

absl::Status EnterPrivateNetns() {
  if (unshare(CLONE_NEWNET) != 0) return Errno("unshare(CLONE_NEWNET)", errno);
  return Sh("ip link set lo up");
}

absl::Status Sh(absl::string_view command) {
  std::string cmd = absl::StrCat(command, " 2>&1");
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return Errno(absl::StrCat("popen ", command), errno);
  std::string output;
  char buf[256];
  while (fgets(buf, sizeof(buf), p)) output += buf;
  int rc = pclose(p);
  if (rc != 0) {
    return absl::InternalError(
        absl::StrCat("`", command, "` exited ", WEXITSTATUS(rc), ": ", output));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> IfIndex(absl::string_view name) {
  std::string n(name);
  uint32_t idx = if_nametoindex(n.c_str());
  if (idx == 0) return Errno(absl::StrCat("if_nametoindex ", name), errno);
  return idx;
}

bool InCi() {
  const char* ci = std::getenv("CI");
  return ci && std::string(ci) == "true";
}

absl::StatusOr<RunResult> RunSkb(int prog_fd, const Bytes& in,
                                 uint32_t ifindex) {
  RunResult r;
  r.out.resize(in.size() + 256);
  __sk_buff ctx;
  std::memset(&ctx, 0, sizeof(ctx));
  ctx.ifindex = ifindex;
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(),
              .data_out = r.out.data(), .data_size_in = (__u32)in.size(),
              .data_size_out = (__u32)r.out.size(), .ctx_in = &ctx,
              .ctx_size_in = sizeof(ctx), .repeat = 1);
  if (bpf_prog_test_run_opts(prog_fd, &opts) != 0) {
    return Errno("BPF_PROG_TEST_RUN (skb)", errno);
  }
  r.retval = opts.retval;
  r.out.resize(opts.data_size_out);
  return r;
}

absl::StatusOr<RunResult> RunXdp(int prog_fd, const Bytes& in,
                                 const Bytes& meta_in) {
  RunResult r;
  Bytes data = meta_in;
  data.insert(data.end(), in.begin(), in.end());
  Bytes out(data.size() + 256);
  xdp_md ctx_in;
  std::memset(&ctx_in, 0, sizeof(ctx_in));
  ctx_in.data = meta_in.size();  // metadata length in front of the packet
  ctx_in.data_end = data.size();
  xdp_md ctx_out;
  std::memset(&ctx_out, 0, sizeof(ctx_out));
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = data.data(),
              .data_out = out.data(), .data_size_in = (__u32)data.size(),
              .data_size_out = (__u32)out.size(), .ctx_in = &ctx_in,
              .ctx_out = &ctx_out, .ctx_size_in = sizeof(ctx_in),
              .ctx_size_out = sizeof(ctx_out), .repeat = 1);
  if (bpf_prog_test_run_opts(prog_fd, &opts) != 0) {
    return Errno("BPF_PROG_TEST_RUN (xdp)", errno);
  }
  r.retval = opts.retval;
  out.resize(opts.data_size_out);
  // data_out holds metadata then packet; ctx_out.data is the meta length.
  size_t meta_len = std::min<size_t>(ctx_out.data, out.size());
  r.meta.assign(out.begin(), out.begin() + meta_len);
  r.out.assign(out.begin() + meta_len, out.end());
  return r;
}

absl::StatusOr<Counters> ReadCounters(int counters_fd) {
  int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return Errno("libbpf_num_possible_cpus", -ncpu);
  Counters sum(OVX_MAX_COUNTERS);
  std::vector<ovx_counter> percpu(ncpu);
  for (uint32_t i = 0; i < OVX_MAX_COUNTERS; ++i) {
    if (bpf_map_lookup_elem(counters_fd, &i, percpu.data()) != 0) {
      return Errno(absl::StrCat("read counter ", i), errno);
    }
    for (const auto& c : percpu) {
      sum[i].packets += c.packets;
      sum[i].bytes += c.bytes;
    }
  }
  return sum;
}

std::string CheckOnlyCounter(const Counters& before, const Counters& after,
                             uint32_t dir, uint32_t reason, uint64_t bytes) {
  std::string problems;
  uint32_t want = OVX_COUNTER_INDEX(dir, reason);
  for (uint32_t i = 0; i < OVX_MAX_COUNTERS; ++i) {
    uint64_t dp = after[i].packets - before[i].packets;
    uint64_t db = after[i].bytes - before[i].bytes;
    bool expected = reason != 0 && i == want;
    uint64_t want_p = expected ? 1 : 0;
    uint64_t want_b = expected ? bytes : 0;
    if (dp != want_p || db != want_b) {
      absl::StrAppend(
          &problems, "counter ", maps::DirectionName(i / OVX_REASON_MAX), "/",
          maps::ReasonName(i % OVX_REASON_MAX), " moved by ", dp, " packets ",
          db, " bytes, want ", want_p, "/", want_b, "\n");
    }
  }
  return problems;
}

absl::StatusOr<uint32_t> MovedReason(const Counters& before,
                                     const Counters& after, uint32_t dir) {
  uint32_t moved = 0;
  for (uint32_t reason = 1; reason < OVX_REASON_MAX; ++reason) {
    const uint32_t i = OVX_COUNTER_INDEX(dir, reason);
    if (after[i].packets == before[i].packets) continue;
    if (moved != 0) {
      return absl::InternalError(
          absl::StrCat("two counters moved: ", maps::ReasonName(moved), " and ",
                       maps::ReasonName(reason)));
    }
    moved = reason;
  }
  return moved;
}

absl::StatusOr<std::vector<ovx_drop_event>> DrainDropEvents(int events_fd) {
  std::vector<ovx_drop_event> events;
  auto on_event = [](void* ctx, void* data, size_t size) -> int {
    auto* out = static_cast<std::vector<ovx_drop_event>*>(ctx);
    ovx_drop_event ev;
    std::memset(&ev, 0, sizeof(ev));
    std::memcpy(&ev, data, std::min(size, sizeof(ev)));
    out->push_back(ev);
    return 0;
  };
  ring_buffer* rb = ring_buffer__new(events_fd, on_event, &events, nullptr);
  if (!rb) return Errno("ring_buffer__new", errno);
  int n = ring_buffer__consume(rb);
  ring_buffer__free(rb);
  if (n < 0) return Errno("ring_buffer__consume", -n);
  return events;
}

absl::Status ClearMap(int map_fd) {
  std::vector<uint8_t> key(64), next(64);
  bpf_map_info info;
  std::memset(&info, 0, sizeof(info));
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(map_fd, &info, &len) != 0) {
    return Errno("map info", errno);
  }
  key.resize(info.key_size);
  next.resize(info.key_size);
  while (bpf_map_get_next_key(map_fd, nullptr, next.data()) == 0) {
    if (bpf_map_delete_elem(map_fd, next.data()) != 0) {
      return Errno("map delete", errno);
    }
  }
  return absl::OkStatus();
}

}  // namespace ovx::testing
