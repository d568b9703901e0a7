// Security identities: endpoints of one network with exactly the same labels
// share a number, allocated by the control plane and stored in the endpoint
// record. Pure functions over a Snapshot, so they run inside a registry
// Update (which may be retried); the etcd backend makes them race-safe with
// an index key per identity.
#ifndef OVX_CONTROLLER_POLICY_IDENTITY_H_
#define OVX_CONTROLLER_POLICY_IDENTITY_H_

#include <cstddef>
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

// Gives endpoints whose identity is 0 (records written before identities
// existed) theirs, at most `limit` of them, in name order. Returns how many
// endpoints changed.
int AssignIdentities(Snapshot& snap, size_t limit = SIZE_MAX);

// How many old records one registry write migrates besides its own: every
// changed endpoint is a put (and maybe an index key) in the same etcd
// transaction, which etcd caps (--max-txn-ops, 128 by default).
inline constexpr size_t kIdentityMigrationsPerWrite = 16;

// What an identity stands for, as the etcd index key's value:
// "blue/app=web,tier=front" ("blue/" for no labels).
std::string IdentityOwner(absl::string_view network,
                          const std::map<std::string, std::string>& labels);

}  // namespace ovx::controller

#endif  // OVX_CONTROLLER_POLICY_IDENTITY_H_
