// ovx_udp_rate: small-packet UDP rate between two containers.
//
// iperf3 spends ~15 us of user space per datagram, so on a small machine it
// measures itself, not the network path. This tool moves datagrams in
// batches (sendmmsg/recvmmsg) so the path's per-packet cost shows. The
// receiver counts only datagrams of the expected size that carry our magic,
// so the figure is what the receiving container really got.
//
// With --targets it drives several paths from one process, each socket
// opened in the path's namespace: the sender takes them in turn for
// --slice-ms each, so this VM's slow phases (seconds of ~1.5x slower CPU)
// fall on every path alike, as for ovx_rr.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gflags/gflags.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
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

DEFINE_string(mode, "", "recv or send");
DEFINE_string(bind, "0.0.0.0", "recv: address to listen on");
DEFINE_string(dst, "", "send: receiver's address");
DEFINE_uint32(port, 5301, "UDP port");
DEFINE_uint32(duration, 3,
              "recv: measuring window in seconds; send: sends "
              "for one second longer so it outlasts the window");
DEFINE_uint32(size, 64, "UDP payload bytes per datagram (>= 16)");
DEFINE_uint32(batch, 64, "datagrams per sendmmsg/recvmmsg call");
DEFINE_string(ready_file, "", "recv: file created once the socket is bound");
DEFINE_string(targets, "",
              "NAME=NETNS/IP,...: several paths, one socket each in NETNS "
              "(recv: the receivers' namespaces and addresses; send: the "
              "senders' namespaces and the receivers' addresses)");
DEFINE_uint32(slice_ms, 10,
              "send with --targets: milliseconds per path in turn");

namespace ovx::bench {
namespace {

// Payload: this magic, then a 64-bit sequence number, then zeros.
constexpr char kMagic[8] = {'o', 'v', 'x', 'u', 'd', 'p', 'r', '1'};
// With --targets: the sender's "this path is done", sent a few times.
constexpr char kEndMagic[8] = {'o', 'v', 'x', 'u', 'd', 'p', 'e', '1'};
constexpr int kEndMarkers = 3;
constexpr size_t kHeaderBytes = sizeof(kMagic) + sizeof(uint64_t);
constexpr int kRcvBufBytes = 4 << 20;
constexpr double kFirstDatagramGraceS = 5;

double Now() { return MonotonicNs() / 1e9; }

absl::Status Errno(absl::string_view what) {
  return absl::ErrnoToStatus(errno, what);
}

bool IsOurs(const uint8_t* data, size_t len) {
  return len == FLAGS_size && std::memcmp(data, kMagic, sizeof(kMagic)) == 0;
}

bool IsEnd(const uint8_t* data, size_t len) {
  return len == FLAGS_size &&
         std::memcmp(data, kEndMagic, sizeof(kEndMagic)) == 0;
}

absl::StatusOr<sockaddr_in> Address(const std::string& ip) {
  auto parsed = maps::ParseIpv4(ip);
  if (!parsed.ok()) return parsed.status();
  return Ipv4SocketAddress(*parsed, FLAGS_port);
}

// FORCE passes rmem_max; a bursty sender overflows a small buffer.
void LargeReceiveBuffer(int fd) {
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &kRcvBufBytes,
                 sizeof(kRcvBufBytes)) != 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kRcvBufBytes, sizeof(kRcvBufBytes));
}

// Datagram buffers and the mmsghdr array that points into them.
struct Batch {
  explicit Batch(size_t bytes_each) {
    bufs.assign(FLAGS_batch, std::vector<uint8_t>(bytes_each));
    iovs.resize(FLAGS_batch);
    msgs.resize(FLAGS_batch);
    for (size_t i = 0; i < FLAGS_batch; ++i) {
      iovs[i] = {bufs[i].data(), bytes_each};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_iov = &iovs[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
  }
  std::vector<std::vector<uint8_t>> bufs;
  std::vector<iovec> iovs;
  std::vector<mmsghdr> msgs;
};

absl::StatusOr<maps::UniqueFd> BoundReceiver() {
  auto addr = Address(FLAGS_bind);
  if (!addr.ok()) return addr.status();
  maps::UniqueFd fd(socket(AF_INET, SOCK_DGRAM, 0));
  if (!fd.valid()) return Errno("socket");
  LargeReceiveBuffer(fd.get());
  // Wake up now and then to check the clock when nothing arrives.
  timeval poll_interval{.tv_sec = 0, .tv_usec = 100000};
  if (setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &poll_interval,
                 sizeof(poll_interval)) != 0)
    return Errno("SO_RCVTIMEO");
  if (bind(fd.get(), reinterpret_cast<const sockaddr*>(&*addr),
           sizeof(*addr)) != 0)
    return Errno(absl::StrCat("bind ", FLAGS_bind, ":", FLAGS_port));
  return fd;
}

absl::Status CreateReadyFile() {
  if (FLAGS_ready_file.empty()) return absl::OkStatus();
  int fd = open(FLAGS_ready_file.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  if (fd < 0) return Errno(absl::StrCat("create ", FLAGS_ready_file));
  close(fd);
  return absl::OkStatus();
}

// The window opens when the first valid datagram is seen; datagrams of that
// first batch (queued before it opened) and of a batch returned after it
// closed are not counted.
absl::Status Receive() {
  auto fd = BoundReceiver();
  if (!fd.ok()) return fd.status();
  if (auto s = CreateReadyFile(); !s.ok()) return s;
  // One spare byte: a longer datagram shows up as longer than --size.
  Batch batch(FLAGS_size + 1);
  const double give_up = Now() + FLAGS_duration + kFirstDatagramGraceS;
  std::optional<double> window_end;
  uint64_t received = 0, bad = 0;
  while (true) {
    int n = recvmmsg(fd->get(), batch.msgs.data(), FLAGS_batch, MSG_WAITFORONE,
                     nullptr);
    const double now = Now();
    if (n < 0 && errno != EAGAIN && errno != EINTR) return Errno("recvmmsg");
    if (window_end && now >= *window_end) break;
    uint64_t valid = 0;
    for (int i = 0; i < n; ++i) {
      const bool ours = IsOurs(batch.bufs[i].data(), batch.msgs[i].msg_len);
      valid += ours;
      bad += !ours;
    }
    if (window_end) {
      received += valid;
    } else if (valid > 0) {
      window_end = now + FLAGS_duration;
    } else if (now >= give_up) {
      return absl::DeadlineExceededError(absl::StrFormat(
          "no valid %u-byte datagram on %s:%u within %.0f s", FLAGS_size,
          FLAGS_bind, FLAGS_port, FLAGS_duration + kFirstDatagramGraceS));
    }
  }
  const double seconds = FLAGS_duration;
  std::printf("{\"received\":%lu,\"seconds\":%.3f,\"pps\":%.1f,\"bad\":%lu}\n",
              received, seconds, received / seconds, bad);
  return absl::OkStatus();
}

// Numbers the batch's datagrams and sends them on fd, counting what went
// out and the errors a busy or finished receiver causes.
absl::Status SendBatch(int fd, Batch& batch, uint64_t& seq, uint64_t& sent,
                       uint64_t& errors) {
  for (auto& buf : batch.bufs) {
    std::memcpy(buf.data() + sizeof(kMagic), &seq, sizeof(seq));
    ++seq;
  }
  int n = sendmmsg(fd, batch.msgs.data(), FLAGS_batch, 0);
  if (n >= 0) {
    sent += n;
  } else if (errno == ENOBUFS || errno == ECONNREFUSED || errno == EAGAIN ||
             errno == EINTR) {
    // Queue full, or an ICMP port unreachable once the receiver is gone.
    ++errors;
  } else {
    return Errno("sendmmsg");
  }
  return absl::OkStatus();
}

absl::Status Send() {
  auto addr = Address(FLAGS_dst);
  if (!addr.ok()) return addr.status();
  maps::UniqueFd fd(socket(AF_INET, SOCK_DGRAM, 0));
  if (!fd.valid()) return Errno("socket");
  if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&*addr),
              sizeof(*addr)) != 0)
    return Errno(absl::StrCat("connect ", FLAGS_dst, ":", FLAGS_port));
  Batch batch(FLAGS_size);
  for (auto& buf : batch.bufs) std::memcpy(buf.data(), kMagic, sizeof(kMagic));
  const double start = Now(), end = start + FLAGS_duration + 1;
  uint64_t seq = 0, sent = 0, errors = 0;
  double now = start;
  while (now < end) {
    if (auto s = SendBatch(fd.get(), batch, seq, sent, errors); !s.ok())
      return s;
    now = Now();
  }
  std::printf("{\"sent\":%lu,\"errors\":%lu,\"seconds\":%.3f}\n", sent, errors,
              now - start);
  return absl::OkStatus();
}

struct PathSocket {
  Target target;
  maps::UniqueFd fd;
  uint64_t count = 0;  // recv: valid datagrams; send: datagrams sent
  uint64_t other = 0;  // recv: foreign datagrams; send: send errors
  double seconds = 0;  // send: time spent sending on this path
  bool ended = false;  // recv: its end marker arrived
};

absl::StatusOr<std::vector<PathSocket>> OpenPaths(bool receive) {
  auto targets = ParseTargets(FLAGS_targets);
  if (!targets.ok()) return targets.status();
  std::vector<PathSocket> paths(targets->size());
  for (size_t i = 0; i < paths.size(); ++i) {
    PathSocket& p = paths[i];
    p.target = (*targets)[i];
    auto fd = SocketInNetns(p.target.netns, SOCK_DGRAM);
    if (!fd.ok()) return fd.status();
    p.fd = *std::move(fd);
    sockaddr_in addr = Ipv4SocketAddress(p.target.ip, FLAGS_port);
    const std::string where =
        absl::StrCat(p.target.name, ": ", maps::FormatIpv4(p.target.ip), ":",
                     FLAGS_port, " in ", p.target.netns);
    if (receive) {
      LargeReceiveBuffer(p.fd.get());
      if (bind(p.fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)))
        return Errno(absl::StrCat("bind ", where));
    } else if (connect(p.fd.get(), reinterpret_cast<sockaddr*>(&addr),
                       sizeof(addr))) {
      return Errno(absl::StrCat("connect ", where));
    }
  }
  return paths;
}

// Counts valid datagrams per path until every path's end marker came.
absl::Status ReceiveMany() {
  auto paths = OpenPaths(/*receive=*/true);
  if (!paths.ok()) return paths.status();
  maps::UniqueFd ep(epoll_create1(EPOLL_CLOEXEC));
  if (!ep.valid()) return Errno("epoll_create1");
  for (size_t i = 0; i < paths->size(); ++i) {
    epoll_event ev{.events = EPOLLIN, .data = {.u64 = i}};
    if (epoll_ctl(ep.get(), EPOLL_CTL_ADD, (*paths)[i].fd.get(), &ev) != 0)
      return Errno("epoll_ctl");
  }
  if (auto s = CreateReadyFile(); !s.ok()) return s;
  Batch batch(FLAGS_size + 1);
  const double give_up =
      Now() + FLAGS_duration * paths->size() + kFirstDatagramGraceS + 10;
  size_t ended = 0;
  while (ended < paths->size()) {
    if (Now() > give_up) {
      for (const PathSocket& p : *paths) {
        if (!p.ended)
          return absl::DeadlineExceededError(
              absl::StrCat(p.target.name, ": no end marker from the sender"));
      }
    }
    epoll_event events[16];
    int n = epoll_wait(ep.get(), events, 16, 100);
    if (n < 0 && errno != EINTR) return Errno("epoll_wait");
    for (int e = 0; e < n; ++e) {
      PathSocket& p = (*paths)[events[e].data.u64];
      int got;
      while ((got = recvmmsg(p.fd.get(), batch.msgs.data(), FLAGS_batch,
                             MSG_DONTWAIT, nullptr)) > 0) {
        for (int i = 0; i < got; ++i) {
          const uint8_t* data = batch.bufs[i].data();
          const size_t len = batch.msgs[i].msg_len;
          if (IsOurs(data, len)) {
            ++p.count;
          } else if (IsEnd(data, len)) {
            ended += !p.ended;
            p.ended = true;
          } else {
            ++p.other;
          }
        }
      }
      if (got < 0 && errno != EAGAIN && errno != EINTR)
        return Errno("recvmmsg");
    }
  }
  nlohmann::json out = {{"paths", nlohmann::json::object()}};
  for (const PathSocket& p : *paths)
    out["paths"][p.target.name] = {{"received", p.count}, {"bad", p.other}};
  std::printf("%s\n", out.dump().c_str());
  return absl::OkStatus();
}

// --duration s per path, --slice-ms on each in turn; then end markers.
absl::Status SendMany() {
  auto paths = OpenPaths(/*receive=*/false);
  if (!paths.ok()) return paths.status();
  Batch batch(FLAGS_size);
  for (auto& buf : batch.bufs) std::memcpy(buf.data(), kMagic, sizeof(kMagic));
  uint64_t seq = 0;
  absl::Status run = TakeTurns(
      paths->size(), FLAGS_duration, FLAGS_slice_ms,
      [&](size_t i, int64_t end) -> absl::Status {
        PathSocket& p = (*paths)[i];
        const int64_t start = MonotonicNs();
        int64_t now = start;
        while (now < end) {
          absl::Status s = SendBatch(p.fd.get(), batch, seq, p.count, p.other);
          if (!s.ok())
            return absl::Status(s.code(),
                                absl::StrCat(p.target.name, ": ", s.message()));
          now = MonotonicNs();
        }
        p.seconds += (now - start) / 1e9;
        return absl::OkStatus();
      });
  if (!run.ok()) return run;
  // Whatever is still queued drains first; a marker may be lost, so a few.
  std::vector<uint8_t> end_marker(FLAGS_size, 0);
  std::memcpy(end_marker.data(), kEndMagic, sizeof(kEndMagic));
  for (int i = 0; i < kEndMarkers; ++i) {
    usleep(100000);
    for (PathSocket& p : *paths)
      (void)send(p.fd.get(), end_marker.data(), end_marker.size(), 0);
  }
  nlohmann::json out = {{"slice_ms", FLAGS_slice_ms},
                        {"paths", nlohmann::json::object()}};
  for (const PathSocket& p : *paths)
    out["paths"][p.target.name] = {
        {"sent", p.count}, {"errors", p.other}, {"seconds", p.seconds}};
  std::printf("%s\n", out.dump().c_str());
  return absl::OkStatus();
}

}  // namespace
}  // namespace ovx::bench

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "small-packet UDP rate, counted at the receiver.\n"
      "  ovx_udp_rate --mode=recv --bind=IP --port=P --duration=S "
      "[--size=64] [--ready-file=PATH]\n"
      "  ovx_udp_rate --mode=send --dst=IP --port=P --duration=S "
      "[--size=64] [--batch=64]\n"
      "Start the receiver first (it creates --ready-file once bound). Its "
      "window opens at the first valid datagram and lasts --duration s; it "
      "prints {\"received\",\"seconds\",\"pps\",\"bad\"} and exits 0, or "
      "non-zero if no valid datagram came within duration+5 s. The sender "
      "sends for duration+1 s and prints {\"sent\",\"errors\",\"seconds\"}.\n"
      "  ovx_udp_rate --mode=recv|send --targets=NAME=NETNS/IP,... "
      "--port=P --duration=S [--slice-ms=10]\n"
      "Several paths from one process: the sender spends --slice-ms on each "
      "path in turn until each had --duration s, then sends end markers; "
      "the receiver counts per path until every marker came. They print "
      "{\"paths\": {NAME: {\"sent\",\"errors\",\"seconds\"}}} and "
      "{\"paths\": {NAME: {\"received\",\"bad\"}}}: a path's rate is its "
      "received / its seconds.");
  ovx::bench::ParseToolFlags(&argc, &argv, __FILE__);
  const bool recv = FLAGS_mode == "recv", send = FLAGS_mode == "send";
  const bool many = !FLAGS_targets.empty();
  if ((!recv && !send) || (send && !many && FLAGS_dst.empty()) ||
      (many && FLAGS_slice_ms == 0) || FLAGS_duration == 0 ||
      FLAGS_batch == 0 || FLAGS_size < ovx::bench::kHeaderBytes ||
      FLAGS_size > 65507) {
    std::fprintf(stderr,
                 "ovx_udp_rate: need --mode=recv|send (send needs --dst), "
                 "--duration > 0, --batch > 0, 16 <= --size <= 65507 "
                 "(see --help)\n");
    return 2;
  }
  absl::Status s =
      many ? (recv ? ovx::bench::ReceiveMany() : ovx::bench::SendMany())
           : (recv ? ovx::bench::Receive() : ovx::bench::Send());
  if (!s.ok()) {
    std::fprintf(stderr, "ovx_udp_rate --mode=%s: %s\n", FLAGS_mode.c_str(),
                 s.ToString().c_str());
    return 1;
  }
  return 0;
}
