#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "controller/registry/backend.h"
#include "controller/registry/etcd/etcd_backend.h"
#include "controller/registry/file_backend.h"

namespace ovx::controller {

absl::StatusOr<std::unique_ptr<RegistryBackend>> OpenRegistry(
    const RegistryOptions& options) {
  absl::string_view url = options.url;
  if (absl::ConsumePrefix(&url, "file:")) {
    // file:///x and file:/x both mean /x.
    if (absl::StartsWith(url, "//")) url.remove_prefix(2);
    if (url.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "registry URL \"", options.url, "\" has no path (want file:PATH)"));
    }
    return std::make_unique<FileBackend>(
        FileBackendOptions{.path = std::string(url)});
  }
  if (absl::StartsWith(url, "etcd://")) {
    return OpenEtcdRegistry(options);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("registry URL \"", options.url,
                   "\" is not supported (want file:PATH or "
                   "etcd://HOST:PORT[,HOST:PORT...])"));
}

}  // namespace ovx::controller
