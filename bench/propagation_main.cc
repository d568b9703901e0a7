// ovx_propagation: ovxctl -> remote map propagation latency.
//
// For each change it runs `ovxctl endpoint add|rm` (the user's command, so its
// own run time counts) and polls the remote node's pinned endpoints map
// through the typed wrappers until the entry appears or disappears. Prints
// one JSON document on stdout. Driven by bench/propagation.sh, which sets up
// the node, its maps and its ovx-controller.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gflags/gflags.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/tool_flags.h"
#include "maps/dataplane_maps.h"
#include "nlohmann/json.hpp"

DEFINE_string(bpffs, "", "remote node's bpffs (where its controller writes)");
DEFINE_string(ovxctl, "", "ovxctl binary");
DEFINE_string(registry, "", "registry URL given to ovxctl");
DEFINE_string(network, "bench", "network the endpoints are added to");
DEFINE_uint32(vni, 100, "that network's VNI");
DEFINE_string(node, "n1", "node the endpoints live on (not the remote one)");
DEFINE_string(subnet_base, "10.50.0.0", "first endpoint IP is base + 1");
DEFINE_uint32(changes, 200, "endpoints added, then as many removed");
DEFINE_uint32(timeout_ms, 10000, "give up on one change after this long");

extern char** environ;

namespace ovx::bench {
namespace {

using Clock = std::chrono::steady_clock;

absl::Status RunOvxctl(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  std::string reg = absl::StrCat("--registry=", FLAGS_registry);
  argv.push_back(const_cast<char*>(FLAGS_ovxctl.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(reg.data());
  argv.push_back(nullptr);
  pid_t pid;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  int err = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (err != 0)
    return absl::InternalError(
        absl::StrCat("spawn ", FLAGS_ovxctl, ": ", std::strerror(err)));
  int status = 0;
  if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0)
    return absl::InternalError(absl::StrCat("ovxctl ", args[0], " ", args[1],
                                            " ", args[2], " failed"));
  return absl::OkStatus();
}

// Milliseconds until the endpoint's presence in the map equals want.
absl::StatusOr<double> WaitFor(const maps::EndpointsMap& m, in_addr ip,
                               bool want, Clock::time_point start) {
  const auto key = maps::EndpointKey(FLAGS_vni, ip);
  while (true) {
    auto v = m.Lookup(key);
    if (!v.ok()) return v.status();
    auto now = Clock::now();
    double ms = std::chrono::duration<double, std::milli>(now - start).count();
    if (v->has_value() == want) return ms;
    if (ms > FLAGS_timeout_ms)
      return absl::DeadlineExceededError(
          absl::StrFormat("%s %s not %s the remote endpoints map after %d ms",
                          want ? "added" : "removed", maps::FormatIpv4(ip),
                          want ? "in" : "gone from", FLAGS_timeout_ms));
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

double Pct(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  double pos = q * (v.size() - 1);
  size_t lo = static_cast<size_t>(pos);
  size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - lo) * (v[hi] - v[lo]);
}

nlohmann::json Summary(const std::vector<double>& v) {
  return {{"changes", v.size()},
          {"p50_ms", Pct(v, 0.5)},
          {"p99_ms", Pct(v, 0.99)},
          {"max_ms", *std::max_element(v.begin(), v.end())}};
}

absl::StatusOr<nlohmann::json> Run() {
  auto maps = maps::DataplaneMaps::Open(FLAGS_bpffs);
  if (!maps.ok()) return maps.status();
  auto base = maps::ParseIpv4(FLAGS_subnet_base);
  if (!base.ok()) return base.status();
  std::vector<double> added, removed, ovxctl_ms;
  auto since = [](Clock::time_point t) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
  };
  auto ip_of = [&](uint32_t i) {
    return in_addr{.s_addr = htonl(ntohl(base->s_addr) + 1 + i)};
  };
  auto name_of = [](uint32_t i) { return absl::StrCat("bench-ep", i); };
  for (uint32_t i = 0; i < FLAGS_changes; ++i) {
    in_addr ip = ip_of(i);
    std::string mac = absl::StrFormat(
        "02:0e:00:%02x:%02x:%02x", (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff);
    auto start = Clock::now();
    if (auto s = RunOvxctl({"endpoint", "add", name_of(i),
                            absl::StrCat("--network=", FLAGS_network),
                            absl::StrCat("--node=", FLAGS_node),
                            absl::StrCat("--ip=", maps::FormatIpv4(ip)),
                            absl::StrCat("--mac=", mac)});
        !s.ok())
      return s;
    ovxctl_ms.push_back(since(start));
    auto ms = WaitFor(maps->endpoints, ip, true, start);
    if (!ms.ok()) return ms.status();
    added.push_back(*ms);
  }
  for (uint32_t i = 0; i < FLAGS_changes; ++i) {
    auto start = Clock::now();
    if (auto s = RunOvxctl({"endpoint", "rm", name_of(i)}); !s.ok()) return s;
    ovxctl_ms.push_back(since(start));
    auto ms = WaitFor(maps->endpoints, ip_of(i), false, start);
    if (!ms.ok()) return ms.status();
    removed.push_back(*ms);
  }
  std::vector<double> all = added;
  all.insert(all.end(), removed.begin(), removed.end());
  nlohmann::json out = Summary(all);
  out["add"] = Summary(added);
  out["remove"] = Summary(removed);
  // How much of it is the ovxctl command itself (process, registry write).
  out["ovxctl_exit"] = Summary(ovxctl_ms);
  return out;
}

}  // namespace
}  // namespace ovx::bench

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "ovx_propagation --bpffs=DIR --ovxctl=PATH --registry=URL "
      "[--changes=N]\n"
      "Times ovxctl endpoint add/rm until a node's pinned endpoints map has "
      "the change (run by bench/propagation.sh).");
  ovx::bench::ParseToolFlags(&argc, &argv, __FILE__);
  if (FLAGS_bpffs.empty() || FLAGS_ovxctl.empty() || FLAGS_registry.empty() ||
      FLAGS_changes == 0) {
    std::fprintf(stderr,
                 "ovx_propagation: --bpffs, --ovxctl, --registry and "
                 "--changes > 0 are required\n");
    return 2;
  }
  auto out = ovx::bench::Run();
  if (!out.ok()) {
    std::fprintf(stderr, "ovx_propagation: %s\n",
                 out.status().ToString().c_str());
    return 1;
  }
  std::cout << out->dump(1) << std::endl;
  return 0;
}
