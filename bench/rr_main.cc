// ovx_rr: TCP request/response round trips over several paths at once,
// interleaved in short slices.
//
// This VM's CPUs run ~1.5x slower for seconds at a time (other tenants; a
// shell loop timed between tests slows as much). One 3 s sockperf test per
// path lands whole in a fast or a slow phase, so a path's p50 was 8 or 12
// us by luck (docs/performance.md, "Noise"). Here one client holds a
// connection per path, each opened in that path's client namespace, and
// alternates between them every --slice-ms, so a slow phase falls on every
// path alike. Each echoed message is checked, so a broken path fails the
// run rather than reporting a figure.
#include <gflags/gflags.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/multipath.h"
#include "bench/tool_flags.h"
#include "maps/dataplane_maps.h"
#include "maps/fd.h"
#include "nlohmann/json.hpp"

DEFINE_string(mode, "", "server or client");
DEFINE_string(bind, "0.0.0.0", "server: address to listen on");
DEFINE_uint32(port, 5401, "TCP port of every server");
DEFINE_string(targets, "",
              "client: NAME=NETNS/IP,... one server per path, reached from "
              "the named network namespace (ip netns)");
DEFINE_double(duration, 3, "client: seconds measured per path");
DEFINE_uint32(slice_ms, 10, "client: milliseconds on one path at a time");
DEFINE_uint32(size, 64, "message bytes each way (>= 8)");

namespace ovx::bench {
namespace {

constexpr int kWarmupExchanges = 200;  // per path, not counted

absl::Status Errno(absl::string_view what) {
  return absl::ErrnoToStatus(errno, what);
}

absl::Status WriteAll(int fd, const uint8_t* data, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Errno("write");
    data += n;
    len -= n;
  }
  return absl::OkStatus();
}

// false on a clean end of stream before the first byte.
absl::StatusOr<bool> ReadAll(int fd, uint8_t* data, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = read(fd, data + got, len - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("read");
    if (n == 0) {
      if (got == 0) return false;
      return absl::DataLossError("connection closed mid-message");
    }
    got += n;
  }
  return true;
}

void NoDelay(int fd) {
  int on = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

// Echoes each --size message back, one connection at a time, forever.
absl::Status Serve() {
  auto ip = maps::ParseIpv4(FLAGS_bind);
  if (!ip.ok()) return ip.status();
  maps::UniqueFd listener(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener.valid()) return Errno("socket");
  int on = 1;
  setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  sockaddr_in addr = Ipv4SocketAddress(*ip, FLAGS_port);
  if (bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)))
    return Errno(absl::StrCat("bind ", FLAGS_bind, ":", FLAGS_port));
  if (listen(listener.get(), 4) != 0) return Errno("listen");
  std::vector<uint8_t> msg(FLAGS_size);
  while (true) {
    maps::UniqueFd conn(
        accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn.valid()) {
      if (errno == EINTR) continue;
      return Errno("accept");
    }
    NoDelay(conn.get());
    while (true) {
      auto more = ReadAll(conn.get(), msg.data(), msg.size());
      if (!more.ok() || !*more) break;  // the client went away
      if (!WriteAll(conn.get(), msg.data(), msg.size()).ok()) break;
    }
  }
}

struct Path {
  Target target;
  maps::UniqueFd fd;
  std::vector<uint32_t> rtt_ns;
  uint64_t sequence = 0;
  int slices = 0;
};

absl::Status Connect(Path& p) {
  auto fd = SocketInNetns(p.target.netns, SOCK_STREAM);
  if (!fd.ok()) return fd.status();
  p.fd = *std::move(fd);
  sockaddr_in addr = Ipv4SocketAddress(p.target.ip, FLAGS_port);
  if (connect(p.fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)))
    return Errno(absl::StrCat(p.target.name, ": connect from ", p.target.netns,
                              " to ", maps::FormatIpv4(p.target.ip), ":",
                              FLAGS_port));
  NoDelay(p.fd.get());
  return absl::OkStatus();
}

// One message out and its echo back, checked; returns the round trip.
absl::StatusOr<int64_t> Exchange(Path& p, std::vector<uint8_t>& out,
                                 std::vector<uint8_t>& in) {
  ++p.sequence;
  std::memcpy(out.data(), &p.sequence, sizeof(p.sequence));
  const int64_t start = MonotonicNs();
  if (auto s = WriteAll(p.fd.get(), out.data(), out.size()); !s.ok())
    return absl::Status(s.code(),
                        absl::StrCat(p.target.name, ": ", s.message()));
  auto got = ReadAll(p.fd.get(), in.data(), in.size());
  const int64_t rtt = MonotonicNs() - start;
  if (!got.ok() || !*got)
    return absl::DataLossError(absl::StrCat(p.target.name, ": no echo"));
  if (std::memcmp(in.data(), out.data(), out.size()) != 0)
    return absl::DataLossError(absl::StrCat(p.target.name, ": echo differs"));
  return rtt;
}

double PercentileUs(std::vector<uint32_t>& v, double q) {
  size_t rank = static_cast<size_t>(std::ceil(q * v.size()));
  size_t i = rank == 0 ? 0 : rank - 1;
  std::nth_element(v.begin(), v.begin() + i, v.end());
  return v[i] / 1000.0;
}

absl::Status Client() {
  auto targets = ParseTargets(FLAGS_targets);
  if (!targets.ok()) return targets.status();
  std::vector<Path> paths(targets->size());
  for (size_t i = 0; i < targets->size(); ++i) paths[i].target = (*targets)[i];
  std::vector<uint8_t> out(FLAGS_size, 0x5a), in(FLAGS_size);
  for (Path& p : paths) {
    if (auto s = Connect(p); !s.ok()) return s;
    for (int i = 0; i < kWarmupExchanges; ++i) {
      if (auto r = Exchange(p, out, in); !r.ok()) return r.status();
    }
  }
  absl::Status run = TakeTurns(paths.size(), FLAGS_duration, FLAGS_slice_ms,
                               [&](size_t i, int64_t end) -> absl::Status {
                                 Path& p = paths[i];
                                 ++p.slices;
                                 while (MonotonicNs() < end) {
                                   auto rtt = Exchange(p, out, in);
                                   if (!rtt.ok()) return rtt.status();
                                   p.rtt_ns.push_back(static_cast<uint32_t>(
                                       std::min<int64_t>(*rtt, UINT32_MAX)));
                                 }
                                 return absl::OkStatus();
                               });
  if (!run.ok()) return run;
  nlohmann::json result = {{"slice_ms", FLAGS_slice_ms},
                           {"size", FLAGS_size},
                           {"paths", nlohmann::json::object()}};
  for (Path& p : paths) {
    if (p.rtt_ns.empty())
      return absl::DeadlineExceededError(
          absl::StrCat(p.target.name, ": no exchange"));
    result["paths"][p.target.name] = {{"exchanges", p.rtt_ns.size()},
                                      {"slices", p.slices},
                                      {"p50_us", PercentileUs(p.rtt_ns, 0.50)},
                                      {"p99_us", PercentileUs(p.rtt_ns, 0.99)}};
  }
  std::printf("%s\n", result.dump().c_str());
  return absl::OkStatus();
}

}  // namespace
}  // namespace ovx::bench

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "TCP request/response round trips, several paths interleaved.\n"
      "  ovx_rr --mode=server --bind=IP [--port=5401] [--size=64]\n"
      "  ovx_rr --mode=client --targets=NAME=NETNS/IP,... [--port=5401]\n"
      "         [--duration=3] [--slice-ms=10] [--size=64]\n"
      "The server echoes every message, one connection at a time, until "
      "killed. The client (root: it enters each NETNS to connect) runs "
      "--slice-ms on one path, then the next, until each path had "
      "--duration s, checks every echo, and prints {\"paths\": {NAME: "
      "{\"exchanges\", \"slices\", \"p50_us\", \"p99_us\"}}}. Pin both ends "
      "with taskset to compare paths on one CPU.");
  ovx::bench::ParseToolFlags(&argc, &argv, __FILE__);
  const bool server = FLAGS_mode == "server", client = FLAGS_mode == "client";
  if ((!server && !client) || FLAGS_size < sizeof(uint64_t) ||
      FLAGS_size > (1 << 20) || FLAGS_port == 0 || FLAGS_port > 65535 ||
      (client && (FLAGS_duration <= 0 || FLAGS_slice_ms == 0))) {
    std::fprintf(stderr,
                 "ovx_rr: need --mode=server|client, 8 <= --size <= 1 MiB, "
                 "a port, and for the client --duration > 0 and --slice-ms > "
                 "0 (see --help)\n");
    return 2;
  }
  absl::Status s = server ? ovx::bench::Serve() : ovx::bench::Client();
  if (!s.ok()) {
    std::fprintf(stderr, "ovx_rr --mode=%s: %s\n", FLAGS_mode.c_str(),
                 s.ToString().c_str());
    return 1;
  }
  return 0;
}
