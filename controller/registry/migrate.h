// Copies a whole registry from one backend to another (file: -> etcd:// when
// a single host grows into a cluster; the reverse works too). Behind
// `ovxctl migrate`.
#ifndef OVX_CONTROLLER_REGISTRY_MIGRATE_H_
#define OVX_CONTROLLER_REGISTRY_MIGRATE_H_

#include "absl/status/status.h"
#include "controller/registry/backend.h"

namespace ovx::controller {

// Copies every record of `from` into `to`, unchanged (no re-validation: the
// records were valid where they came from). `to` must be empty or hold only
// records equal to `from`'s, so an interrupted migration can simply be run
// again; any other record there is FailedPrecondition and nothing is written.
// Records go in batches (networks, nodes, endpoints, policies, in that order)
// because etcd bounds the size of one transaction; at the end `to` is read
// back and compared.
absl::Status MigrateRegistry(RegistryBackend& from, RegistryBackend& to);

}  // namespace ovx::controller

#endif  // OVX_CONTROLLER_REGISTRY_MIGRATE_H_
