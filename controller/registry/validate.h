// Validation and allocation of registry records. Pure functions over a
// Snapshot, so they can run inside RegistryBackend::Update's mutate (which may
// be retried). Every error is one line naming the record, the flag and the
// value: "endpoint web1: --ip=10.20.0.5 is outside network blue's subnet
// 10.10.0.0/24". A failed Add/Remove leaves the snapshot unchanged.
#ifndef OVX_CONTROLLER_REGISTRY_VALIDATE_H_
#define OVX_CONTROLLER_REGISTRY_VALIDATE_H_

#include <array>
#include <cstdint>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "controller/registry/model.h"

namespace ovx::controller {

inline constexpr uint32_t kMaxVni = 16777215;
inline constexpr uint32_t kMinMtu = 576;
inline constexpr uint32_t kMaxMtu = 9000;
inline constexpr size_t kMaxNameLength = 63;

// Host byte order IPv4 and its dotted form.
absl::StatusOr<uint32_t> ParseIpv4(absl::string_view text);
std::string FormatIpv4(uint32_t ip);

struct Ipv4Cidr {
  uint32_t network = 0;  // host byte order
  int prefix = 0;
  uint32_t Mask() const {
    return prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
  }
  uint32_t Broadcast() const { return network | ~Mask(); }
  bool Contains(uint32_t ip) const { return (ip & Mask()) == network; }
  std::string ToString() const;
};
// A network address with a prefix of 8..30 ("10.10.0.0/24").
absl::StatusOr<Ipv4Cidr> ParseCidr(absl::string_view text);

using Mac = std::array<uint8_t, 6>;
absl::StatusOr<Mac> ParseMac(absl::string_view text);  // xx:xx:xx:xx:xx:xx
std::string FormatMac(const Mac& mac);                 // lower case

// "app=web,tier=front" -> {app: web, tier: front}; "" -> {}.
absl::StatusOr<std::map<std::string, std::string>> ParseLabels(
    absl::string_view text);
std::string FormatLabels(const std::map<std::string, std::string>& labels);

// 1..63 characters of [a-zA-Z0-9._-]. `kind` is "network", "node", ...
absl::Status ValidateName(absl::string_view kind, absl::string_view name);

// Checks a record against the snapshot (which must not hold it yet).
absl::Status ValidateNetwork(const Snapshot& snap, const Network& network);
absl::Status ValidateNode(const Snapshot& snap, const Node& node);
absl::Status ValidateEndpoint(const Snapshot& snap, const Endpoint& endpoint);
// Syntax (selectors, proto, port), the network (must exist and be a
// --policy=deny network: rules on an allow network would be ignored) and
// name uniqueness.
absl::Status ValidatePolicy(const Snapshot& snap, const Policy& policy);

// Lowest free address of the network's subnet, skipping the network,
// broadcast and gateway addresses; ResourceExhausted when none is left.
absl::StatusOr<std::string> AllocateIp(const Snapshot& snap,
                                       const Network& network);
// 02:hh:a:b:c:d: locally administered unicast, hh from the network name and
// a.b.c.d the IP, so it is stable for (network, ip); hh moves on if that MAC
// is taken.
absl::StatusOr<std::string> AllocateMac(const Snapshot& snap,
                                        const Network& network,
                                        absl::string_view ip);

// Validate (allocating ip/mac/identity when empty, filling defaults) and
// insert. Return the record as stored. Every successful Add/Remove also
// gives an identity to endpoints still without one (records written before
// identities existed), kIdentityMigrationsPerWrite at a time, so writes
// migrate them without outgrowing an etcd transaction.
absl::StatusOr<Network> AddNetwork(Snapshot& snap, Network network);
absl::StatusOr<Node> AddNode(Snapshot& snap, Node node);
absl::StatusOr<Endpoint> AddEndpoint(Snapshot& snap, Endpoint endpoint);
absl::StatusOr<Policy> AddPolicy(Snapshot& snap, Policy policy);

// NotFound when absent; FailedPrecondition while endpoints still use it.
absl::Status RemoveNetwork(Snapshot& snap, absl::string_view name);
absl::Status RemoveNode(Snapshot& snap, absl::string_view name);
absl::Status RemoveEndpoint(Snapshot& snap, absl::string_view name);
absl::Status RemovePolicy(Snapshot& snap, absl::string_view name);

}  // namespace ovx::controller

#endif  // OVX_CONTROLLER_REGISTRY_VALIDATE_H_
