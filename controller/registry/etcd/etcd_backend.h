// The etcd registry backend: etcd://HOST:PORT[,HOST:PORT...], spoken through
// etcd's v3 JSON gateway. Key layout and transaction design: etcd_layout.h
// and docs/etcd.md.
#ifndef OVX_CONTROLLER_REGISTRY_ETCD_ETCD_BACKEND_H_
#define OVX_CONTROLLER_REGISTRY_ETCD_ETCD_BACKEND_H_

#include <memory>

#include "absl/status/statusor.h"
#include "controller/registry/backend.h"

namespace ovx::controller {

// Checks the URL and the TLS files; does not contact etcd (a controller must
// start while etcd is down and retry), so an unreachable cluster shows up
// as Unavailable from Load/Update/Watcher::Next, naming the URL.
absl::StatusOr<std::unique_ptr<RegistryBackend>> OpenEtcdRegistry(
    const RegistryOptions& options);

}  // namespace ovx::controller

#endif  // OVX_CONTROLLER_REGISTRY_ETCD_ETCD_BACKEND_H_
