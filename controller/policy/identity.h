// Security identities: endpoints of one network with exactly the same labels
// share a number, allocated by the control plane and stored in the endpoint
// record. Pure functions over a Snapshot, so they run inside a registry
// Update (which may be retried); the etcd backend makes them race-safe with
// an index key per identity.
#ifndef OVX_CONTROLLER_POLICY_IDENTITY_H_
#define OVX_CONTROLLER_POLICY_IDENTITY_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/strings/string_view.h"
#include "controller/registry/model.h"

namespace ovx::controller {

// The identity of an endpoint of `network` with `labels`: the one an
// endpoint of the same network with the same labels already has, else the
// smallest unused id >= OVX_IDENTITY_FIRST (unique across networks). Ids no
// endpoint holds any more are free again.
uint32_t AllocateIdentity(const Snapshot& snap, absl::string_view network,
                          const std::map<std::string, std::string>& labels);

// Gives every endpoint whose identity is 0 (a new record, or one written
// before identities existed) its identity, in name order. Returns how many
// endpoints changed.
int AssignIdentities(Snapshot& snap);

// What an identity stands for, as the etcd index key's value:
// "blue/app=web,tier=front" ("blue/" for no labels).
std::string IdentityOwner(absl::string_view network,
                          const std::map<std::string, std::string>& labels);

}  // namespace ovx::controller

#endif  // OVX_CONTROLLER_POLICY_IDENTITY_H_
