#include "controller/registry/file_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "controller/registry/record_json.h"
#include "maps/fd.h"
#include "nlohmann/json.hpp"

namespace ovx::controller {
namespace {

using maps::UniqueFd;

absl::Status ErrnoError(int err, absl::string_view what) {
  return absl::ErrnoToStatus(err, absl::StrCat(what, ": ", std::strerror(err)));
}

std::string ParentDir(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  return dir.empty() ? "." : dir;
}

std::string BaseName(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

absl::Status MakeParentDir(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(ParentDir(path), ec);
  if (ec) {
    return absl::PermissionDeniedError(
        absl::StrCat("registry ", path, ": create directory ", ParentDir(path),
                     ": ", ec.message()));
  }
  return absl::OkStatus();
}

// Reads and parses the document; a missing file is an empty registry.
absl::StatusOr<Snapshot> ReadDocument(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return Snapshot{};
    return ErrnoError(errno, absl::StrCat("registry ", path, ": open"));
  }
  std::string text;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return ErrnoError(errno, absl::StrCat("registry ", path, ": read"));
    if (n == 0) break;
    text.append(buf, n);
  }
  try {
    return SnapshotFromText(text, absl::StrCat("registry ", path));
  } catch (const nlohmann::json::parse_error& e) {
    // e.what(): "[json.exception.parse_error.101] parse error at line 3,
    // column 5: syntax error while parsing ..."; keep what follows "at ".
    std::string why = e.what();
    if (size_t at = why.find(" at line "); at != std::string::npos) {
      why = why.substr(at + 4);
    } else if (size_t colon = why.find("] "); colon != std::string::npos) {
      why = why.substr(colon + 2);
    }
    return absl::FailedPreconditionError(
        absl::StrCat("registry ", path, ": not valid JSON at ", why));
  }
}

absl::Status WriteAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(errno, "write");
    data.remove_prefix(n);
  }
  return absl::OkStatus();
}

// Replaces `path` with `text` atomically: readers see the old or the new
// document, never a mix, and a crash leaves at worst a stray tmp file.
absl::Status WriteAtomically(const std::string& path, absl::string_view text) {
  const std::string tmp = absl::StrCat(path, ".tmp.", ::getpid());
  UniqueFd fd(
      ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) {
    return ErrnoError(errno, absl::StrCat("registry ", path, ": create ", tmp));
  }
  absl::Status s = WriteAll(fd.get(), text);
  if (s.ok() && ::fsync(fd.get()) != 0) s = ErrnoError(errno, "fsync");
  fd.Reset();
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    s = ErrnoError(errno, "rename");
  }
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return absl::Status(s.code(),
                        absl::StrCat("registry ", path, ": ", s.message()));
  }
  // Make the rename itself durable.
  UniqueFd dir(
      ::open(ParentDir(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.valid()) ::fsync(dir.get());
  return absl::OkStatus();
}

class FileWatcher : public Watcher {
 public:
  FileWatcher(std::string path, UniqueFd inotify, int64_t revision)
      : path_(std::move(path)),
        base_(BaseName(path_)),
        inotify_(std::move(inotify)),
        last_(revision) {}

  absl::StatusOr<WatchEvent> Next(absl::Duration timeout) override {
    const absl::Time deadline = absl::Now() + timeout;
    for (;;) {
      if (check_) {
        check_ = false;
        absl::StatusOr<Snapshot> snap = ReadDocument(path_);
        if (!snap.ok()) {
          // Keep the last good state; the next write wakes us up again.
          return absl::UnavailableError(snap.status().message());
        }
        if (snap->revision > last_) {
          last_ = snap->revision;
          WatchEvent event;
          event.revision = snap->revision;
          event.snapshot = *std::move(snap);
          return event;
        }
      }
      int timeout_ms = -1;
      if (deadline != absl::InfiniteFuture()) {
        absl::Duration left = deadline - absl::Now();
        if (left <= absl::ZeroDuration()) {
          return absl::DeadlineExceededError(
              absl::StrCat("no change to ", path_, " within ",
                           absl::FormatDuration(timeout)));
        }
        timeout_ms = static_cast<int>(
            absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1))));
      }
      pollfd p = {.fd = inotify_.get(), .events = POLLIN, .revents = 0};
      int n = ::poll(&p, 1, timeout_ms);
      if (n < 0 && errno != EINTR) {
        return ErrnoError(errno, absl::StrCat("watch ", path_, ": poll"));
      }
      if (n > 0) {
        if (absl::Status s = Drain(); !s.ok()) return s;
      }
    }
  }

 private:
  // Reads pending inotify events; sets check_ if one concerns our file.
  absl::Status Drain() {
    alignas(inotify_event) char buf[16384];
    for (;;) {
      ssize_t n = ::read(inotify_.get(), buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return absl::OkStatus();
      if (n < 0)
        return ErrnoError(errno, absl::StrCat("watch ", path_, ": read"));
      for (ssize_t off = 0; off < n;) {
        const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
        if (ev->mask & IN_Q_OVERFLOW) check_ = true;
        if (ev->mask & IN_IGNORED) {
          return absl::UnavailableError(absl::StrCat(
              "watch ", path_, ": directory ", ParentDir(path_), " went away"));
        }
        if (ev->len > 0 && base_ == ev->name) check_ = true;
        off += sizeof(inotify_event) + ev->len;
      }
    }
  }

  std::string path_;
  std::string base_;
  UniqueFd inotify_;
  int64_t last_;
  // Read the file before the first wait: it may have changed between the
  // caller's Load() and Watch().
  bool check_ = true;
};

}  // namespace

FileBackend::FileBackend(FileBackendOptions options)
    : options_(std::move(options)) {}

absl::StatusOr<Snapshot> FileBackend::Load() {
  return ReadDocument(options_.path);
}

absl::Status FileBackend::Update(
    const std::function<absl::Status(Snapshot&)>& mutate) {
  const std::string& path = options_.path;
  if (absl::Status s = MakeParentDir(path); !s.ok()) return s;
  const std::string lock_path = absl::StrCat(path, ".lock");
  UniqueFd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!lock.valid()) {
    return ErrnoError(errno,
                      absl::StrCat("registry ", path, ": open ", lock_path));
  }
  while (::flock(lock.get(), LOCK_EX) != 0) {
    if (errno != EINTR) {
      return ErrnoError(errno,
                        absl::StrCat("registry ", path, ": lock ", lock_path));
    }
  }
  // Under the lock nobody else writes: read, mutate once, write, unlock
  // (closing the fd releases the lock).
  absl::StatusOr<Snapshot> current = ReadDocument(path);
  if (!current.ok()) return current.status();
  Snapshot next = *current;
  if (absl::Status s = mutate(next); !s.ok()) return s;
  next.revision = current->revision;
  if (next == *current) return absl::OkStatus();
  next.revision = current->revision + 1;
  return WriteAtomically(path, SnapshotToText(next));
}

absl::StatusOr<std::unique_ptr<Watcher>> FileBackend::Watch(int64_t revision) {
  const std::string& path = options_.path;
  if (absl::Status s = MakeParentDir(path); !s.ok()) return s;
  UniqueFd fd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!fd.valid()) {
    return ErrnoError(errno, absl::StrCat("watch ", path, ": inotify_init1"));
  }
  if (::inotify_add_watch(fd.get(), ParentDir(path).c_str(),
                          IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
    return ErrnoError(
        errno,
        absl::StrCat("watch ", path, ": inotify_add_watch ", ParentDir(path)));
  }
  return std::make_unique<FileWatcher>(path, std::move(fd), revision);
}

std::string FileBackend::Describe() const {
  return absl::StrCat("file:", options_.path);
}

}  // namespace ovx::controller
