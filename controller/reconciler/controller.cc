#include "controller/reconciler/controller.h"

#include <net/if.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "controller/reconciler/desired_state.h"
#include "controller/reconciler/link_monitor.h"
#include "controller/reconciler/map_writer.h"
#include "loader/loader.h"

namespace ovx::controller {
namespace {

// A retry is one request per registry member: cheap enough that capping it at
// 5 s bounds how long a node takes to notice the registry is back.
constexpr absl::Duration kBackoffMax = absl::Seconds(5);
// How long a watch waits before checking for shutdown or a due resync.
constexpr absl::Duration kWatchTick = absl::Milliseconds(500);

class Backoff {
 public:
  explicit Backoff(absl::Duration min) : min_(min), delay_(min) {}
  absl::Duration Next() {
    absl::Duration d = delay_;
    delay_ = std::min(delay_ * 2, kBackoffMax);
    return d;
  }
  void Reset() { delay_ = min_; }

 private:
  absl::Duration min_;
  absl::Duration delay_;
};

std::optional<uint32_t> ResolveInterface(const std::string& iface) {
  unsigned index = if_nametoindex(iface.c_str());
  if (index == 0) return std::nullopt;
  return index;
}

// Container MTU for networks that leave it to the underlay (mtu 0).
uint16_t DefaultMtu(const std::string& underlay) {
  if (underlay.empty() || underlay.size() >= IFNAMSIZ) return 0;
  maps::UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock.valid()) return 0;
  ifreq req{};
  std::memcpy(req.ifr_name, underlay.data(), underlay.size());
  if (::ioctl(sock.get(), SIOCGIFMTU, &req) != 0) return 0;
  if (req.ifr_mtu <= OVX_VXLAN_OVERHEAD) return 0;
  return static_cast<uint16_t>(
      std::min(req.ifr_mtu - OVX_VXLAN_OVERHEAD, 0xffff));
}

void WriteCounter(int fd) {
  uint64_t one = 1;
  // An eventfd write can only fail on overflow, which still wakes the loop.
  [[maybe_unused]] ssize_t n = ::write(fd, &one, sizeof(one));
}

void ReadCounter(int fd) {
  uint64_t value = 0;
  [[maybe_unused]] ssize_t n = ::read(fd, &value, sizeof(value));
}

std::string Describe(const std::vector<LocalInterface>& list) {
  return absl::StrJoin(list, ", ",
                       [](std::string* out, const LocalInterface& l) {
                         absl::StrAppend(out, l.endpoint, " (", l.iface, ")");
                       });
}

}  // namespace

class Controller::Impl {
 public:
  Impl(ControllerOptions options, ControllerDeps deps, LinkMonitor links,
       maps::UniqueFd stop_fd, maps::UniqueFd wake_fd)
      : options_(std::move(options)),
        deps_(std::move(deps)),
        reconciler_(*deps_.writer, options_.log),
        links_(std::move(links)),
        stop_fd_(std::move(stop_fd)),
        wake_fd_(std::move(wake_fd)),
        attached_(deps_.endpoint_links) {}

  ~Impl() { StopRegistryThread(); }

  absl::Status RunOnce() {
    auto snapshot = deps_.backend->Load();
    if (!snapshot.ok()) {
      return absl::Status(
          snapshot.status().code(),
          absl::StrCat("load registry ", deps_.backend->Describe(), ": ",
                       snapshot.status().message()));
    }
    if (absl::Status s = reconciler_.ReadCurrent(); !s.ok()) return s;
    return Reconcile(*snapshot, /*summarize_noop=*/true);
  }

  absl::Status RunForever() {
    Backoff map_backoff(options_.retry_min);
    while (true) {
      absl::Status s = reconciler_.ReadCurrent();
      if (s.ok()) break;
      absl::Duration d = map_backoff.Next();
      Log(absl::StrCat("read pinned maps: ", s.message(), "; retry in ",
                       absl::FormatDuration(d)));
      if (WaitForStop(d)) return absl::OkStatus();
    }
    registry_thread_ = std::thread([this] { RegistryLoop(); });

    std::optional<Snapshot> snapshot;
    bool dirty = false, from_registry = false;
    Backoff retry_backoff(options_.retry_min);
    std::optional<absl::Time> retry_at;
    absl::Time resync_at = NextResync();
    while (true) {
      int timeout_ms = -1;
      absl::Time now = absl::Now();
      for (std::optional<absl::Time> t : {retry_at, std::optional(resync_at)}) {
        if (!t.has_value() || *t == absl::InfiniteFuture()) continue;
        int ms = static_cast<int>(
            std::max<int64_t>(0, absl::ToInt64Milliseconds(*t - now) + 1));
        timeout_ms = timeout_ms < 0 ? ms : std::min(timeout_ms, ms);
      }
      pollfd fds[3] = {{stop_fd_.get(), POLLIN, 0},
                       {wake_fd_.get(), POLLIN, 0},
                       {links_.fd(), POLLIN, 0}};
      if (::poll(fds, 3, timeout_ms) < 0 && errno != EINTR) {
        return absl::InternalError(
            absl::StrCat("poll: ", std::strerror(errno)));
      }
      if (fds[0].revents) break;
      if (fds[1].revents) {
        ReadCounter(wake_fd_.get());
        std::lock_guard<std::mutex> lock(mu_);
        if (pending_.has_value()) {
          snapshot = std::move(pending_);
          pending_.reset();
          dirty = from_registry = true;
        }
      }
      if (fds[2].revents) {
        auto changed = links_.Drain();
        if (!changed.ok()) Log(changed.status().message());
        // On a read error, look at the interfaces anyway.
        if (!changed.ok() || *changed) dirty = true;
      }
      now = absl::Now();
      if (retry_at.has_value() && now >= *retry_at) {
        retry_at.reset();
        dirty = true;
      }
      if (now >= resync_at) {
        resync_at = NextResync();
        if (absl::Status s = reconciler_.ReadCurrent(); !s.ok()) {
          Log(absl::StrCat("resync: read pinned maps: ", s.message()));
        }
        dirty = true;
      }
      if (!dirty || !snapshot.has_value()) continue;
      dirty = false;
      absl::Status s = Reconcile(*snapshot, from_registry);
      from_registry = false;
      if (s.ok() || absl::IsNotFound(s)) {  // NotFound: node not registered
        retry_backoff.Reset();
        continue;
      }
      // Each failure was logged where it happened.
      absl::Duration d = retry_backoff.Next();
      Log(absl::StrCat("reconcile incomplete; retry in ",
                       absl::FormatDuration(d)));
      retry_at = absl::Now() + d;
    }
    Log("stopping: maps left as they are");
    StopRegistryThread();
    return absl::OkStatus();
  }

  void Stop() { WriteCounter(stop_fd_.get()); }
  bool once() const { return options_.once; }

 private:
  void Log(absl::string_view line) { options_.log(line); }

  absl::Time NextResync() const {
    if (options_.resync_interval <= absl::ZeroDuration()) {
      return absl::InfiniteFuture();
    }
    return absl::Now() + options_.resync_interval;
  }

  // Sleeps up to d; true when Stop() was called.
  bool WaitForStop(absl::Duration d) {
    pollfd fd = {stop_fd_.get(), POLLIN, 0};
    return ::poll(&fd, 1, static_cast<int>(absl::ToInt64Milliseconds(d))) > 0;
  }

  // Registry side, on its own thread so that a slow or dead backend never
  // delays link events: load, watch, apply events, hand the main loop the
  // latest snapshot. Any error: back off, reload.
  void RegistryLoop() {
    Backoff backoff(options_.retry_min);
    while (!Stopping()) {
      auto snapshot = deps_.backend->Load();
      if (!snapshot.ok()) {
        RegistryError("load", snapshot.status(), backoff);
        continue;
      }
      Publish(*snapshot);
      auto watcher = deps_.backend->Watch(snapshot->revision);
      if (!watcher.ok()) {
        RegistryError("watch", watcher.status(), backoff);
        continue;
      }
      backoff.Reset();
      absl::Time reload_at = NextResync();
      while (!Stopping() && absl::Now() < reload_at) {
        auto event = (*watcher)->Next(kWatchTick);
        if (absl::IsDeadlineExceeded(event.status())) continue;
        if (!event.ok()) {
          RegistryError("watch", event.status(), backoff);
          break;
        }
        if (event->snapshot.has_value()) {
          *snapshot = *std::move(event->snapshot);
        } else {
          ApplyChanges(event->changes, *snapshot);
        }
        snapshot->revision = event->revision;
        Publish(*snapshot);
      }
    }
  }

  void RegistryError(absl::string_view what, const absl::Status& status,
                     Backoff& backoff) {
    absl::Duration d = backoff.Next();
    Log(absl::StrCat("registry ", deps_.backend->Describe(), ": ", what, ": ",
                     status.message(), "; dataplane kept as is, retry in ",
                     absl::FormatDuration(d)));
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, absl::ToChronoNanoseconds(d),
                 [this] { return stopping_; });
  }

  bool Stopping() {
    std::lock_guard<std::mutex> lock(mu_);
    return stopping_;
  }

  void Publish(const Snapshot& snapshot) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      pending_ = snapshot;  // latest wins: the main loop only needs the last
    }
    WriteCounter(wake_fd_.get());
  }

  void StopRegistryThread() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (registry_thread_.joinable()) registry_thread_.join();
  }

  // One pass: desired state, diff/apply, TC attach. NotFound when this node
  // is not in the registry (maps untouched).
  absl::Status Reconcile(const Snapshot& snapshot, bool summarize_noop) {
    DesiredStateOptions desired_options{options_.node, deps_.default_mtu};
    DesiredState desired =
        ComputeDesiredState(snapshot, desired_options, deps_.resolve);
    if (!desired.node_known) {
      std::string msg =
          absl::StrCat("node '", options_.node, "' is not in the registry ",
                       deps_.backend->Describe(), " (revision ",
                       snapshot.revision, "): add it with 'ovxctl node add ",
                       options_.node, " --vtep=...'; maps left as they are");
      if (!options_.once && msg != last_node_msg_) {
        Log(absl::StrCat(msg, ", waiting"));
      }
      last_node_msg_ = msg;
      return absl::NotFoundError(msg);
    }
    last_node_msg_.clear();
    const std::string& vtep = snapshot.nodes.at(options_.node).vtep;
    if (!deps_.attached_vtep.empty() && vtep != deps_.attached_vtep &&
        vtep != warned_vtep_) {
      Log(absl::StrCat(
          "warning: registry gives node ", options_.node, " vtep ", vtep,
          " but it was attached with --vtep=", deps_.attached_vtep));
      warned_vtep_ = vtep;
    }
    for (const std::string& line : desired.skipped) {
      if (!reported_skips_.contains(line)) Log(absl::StrCat("skipped: ", line));
    }
    reported_skips_ = {desired.skipped.begin(), desired.skipped.end()};
    if (desired.waiting != last_waiting_ && !desired.waiting.empty()) {
      Log(absl::StrCat("waiting for interface: ", Describe(desired.waiting)));
    }
    last_waiting_ = desired.waiting;

    if (!desired.maps.policy.empty() && !deps_.writer->SupportsPolicy()) {
      if (!warned_policy_) {
        Log(absl::StrCat(
            "warning: no ", OVX_MAP_POLICY,
            " map under the bpffs root: the "
            "loaded programs do not support policy; ",
            desired.maps.policy.size(),
            " policy entries not written; upgrade them (ovx-loader attach) "
            "to enforce policy"));
        warned_policy_ = true;
      }
      desired.maps.policy.clear();
    }
    ReconcileResult result =
        reconciler_.Apply(desired.maps, snapshot.revision, summarize_noop);
    absl::Status attach = SyncAttachments(desired);
    if (!result.status.ok()) return result.status;
    return attach;
  }

  // Maps are written first, so a packet through a new attachment finds its
  // entries.
  absl::Status SyncAttachments(const DesiredState& desired) {
    absl::Status first_error;
    std::map<std::string, uint32_t> wanted;
    for (const LocalInterface& l : desired.interfaces) {
      wanted[l.iface] = l.ifindex;
      auto it = attached_.find(l.iface);
      if (it != attached_.end() && it->second == l.ifindex) continue;
      if (it != attached_.end()) {
        // Same name, new interface: the old link died with the old one.
        [[maybe_unused]] absl::Status s = deps_.detach(l.iface);
      }
      absl::Status s = deps_.attach(l.iface);
      if (!s.ok()) {
        s = absl::Status(s.code(), absl::StrCat("attach tc_endpoint to ",
                                                l.iface, ": ", s.message()));
        Log(s.message());
        if (first_error.ok()) first_error = s;
        continue;
      }
      attached_[l.iface] = l.ifindex;
      Log(absl::StrCat("attached tc_endpoint to ", l.iface, " (ifindex ",
                       l.ifindex, ") for endpoint ", l.endpoint));
    }
    // A vanished interface took its tcx link with it: drop the stale pin.
    // One that still exists but lost its endpoint keeps the program, which
    // drops its traffic (unknown-interface) rather than handing the
    // container to the host stack.
    for (auto it = attached_.begin(); it != attached_.end();) {
      std::optional<uint32_t> now = deps_.resolve(it->first);
      if (wanted.contains(it->first) ||
          (now.has_value() && *now == it->second)) {
        ++it;
        continue;
      }
      absl::Status s = deps_.detach(it->first);
      if (!s.ok() && !absl::IsNotFound(s)) {
        Log(absl::StrCat("remove stale link of ", it->first, ": ",
                         s.message()));
      }
      it = attached_.erase(it);
    }
    return first_error;
  }

  ControllerOptions options_;
  ControllerDeps deps_;
  Reconciler reconciler_;
  LinkMonitor links_;
  maps::UniqueFd stop_fd_;
  maps::UniqueFd wake_fd_;
  std::map<std::string, uint32_t> attached_;  // endpoint iface -> ifindex

  // What was logged last, so a steady state does not repeat itself.
  std::string last_node_msg_;
  std::string warned_vtep_;
  bool warned_policy_ = false;
  std::set<std::string> reported_skips_;
  std::vector<LocalInterface> last_waiting_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;            // guarded by mu_
  std::optional<Snapshot> pending_;  // guarded by mu_
  std::thread registry_thread_;
};

absl::StatusOr<std::unique_ptr<Controller>> Controller::Create(
    ControllerOptions options) {
  if (absl::Status s = loader::CheckNodeAttached(options.bpffs); !s.ok()) {
    std::string maps_pin = absl::StrCat(options.bpffs, "/", OVX_MAP_ENDPOINTS);
    if (::access(maps_pin.c_str(), F_OK) != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "no ovx maps under ", options.bpffs,
          ": run 'ovx-loader attach --iface=... --vtep=...' first"));
    }
    return s;  // half attached or another layout: the loader says what
  }
  ControllerDeps deps;
  auto writer = PinnedMapWriter::Open(options.bpffs);
  if (!writer.ok()) return writer.status();
  deps.writer = *std::move(writer);
  if (options.registry.url.empty()) options.registry.url = kDefaultRegistryUrl;
  auto backend = OpenRegistry(options.registry);
  if (!backend.ok()) return backend.status();
  deps.backend = *std::move(backend);
  deps.resolve = ResolveInterface;
  const std::string bpffs = options.bpffs;
  deps.attach = [bpffs](const std::string& iface) {
    return loader::AttachEndpoint(bpffs, iface);
  };
  deps.detach = [bpffs](const std::string& iface) {
    return loader::Detach(bpffs, iface);
  };
  // Our VTEP, the underlay (for the default MTU) and the endpoint links
  // already in place (they survive controller restarts).
  auto status = loader::GetStatus(bpffs);
  if (status.ok()) {
    deps.attached_vtep = status->config.vtep;
    deps.default_mtu = DefaultMtu(status->config.underlay_iface);
    for (const loader::AttachedInterface& a : status->interfaces) {
      if (a.program == "tc_endpoint") deps.endpoint_links[a.iface] = a.ifindex;
    }
  } else if (options.log) {
    options.log(absl::StrCat("warning: cannot read node status: ",
                             status.status().message()));
  }
  return CreateWith(std::move(options), std::move(deps));
}

absl::StatusOr<std::unique_ptr<Controller>> Controller::CreateWith(
    ControllerOptions options, ControllerDeps deps) {
  if (options.node.empty()) {
    return absl::InvalidArgumentError("--node is required");
  }
  if (!options.log) {
    options.log = [](absl::string_view line) {
      std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()),
                   line.data());
    };
  }
  auto links = LinkMonitor::Open();
  if (!links.ok()) return links.status();
  maps::UniqueFd stop_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  maps::UniqueFd wake_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop_fd.valid() || !wake_fd.valid()) {
    return absl::InternalError(absl::StrCat("eventfd: ", std::strerror(errno)));
  }
  auto impl = std::make_unique<Impl>(std::move(options), std::move(deps),
                                     *std::move(links), std::move(stop_fd),
                                     std::move(wake_fd));
  return std::unique_ptr<Controller>(new Controller(std::move(impl)));
}

Controller::Controller(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Controller::~Controller() = default;

absl::Status Controller::Run() {
  return impl_->once() ? impl_->RunOnce() : impl_->RunForever();
}

void Controller::Stop() { impl_->Stop(); }

}  // namespace ovx::controller
