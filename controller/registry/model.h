// Registry records as users write them (JSON-friendly strings), and a
// consistent snapshot of all of them at one revision. Validation and
// allocation live in validate.h; storage in backend.h.
#ifndef OVX_CONTROLLER_REGISTRY_MODEL_H_
#define OVX_CONTROLLER_REGISTRY_MODEL_H_

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace ovx::controller {

// Schema version written in every record/document; newer ones are refused.
inline constexpr int kSchemaVersion = 1;

struct Network {
  std::string name;
  uint32_t vni = 0;
  std::string subnet;   // CIDR, e.g. 10.10.0.0/24
  std::string gateway;  // optional; excluded from allocation
  uint32_t mtu = 0;     // container MTU; 0 = underlay MTU - 50
  std::string policy = "allow";  // "allow" | "deny"
  bool operator==(const Network&) const = default;
};

struct Node {
  std::string name;
  std::string vtep;  // IPv4 of the node's underlay address
  bool operator==(const Node&) const = default;
};

struct Endpoint {
  std::string name;
  std::string network;
  std::string node;
  std::string ip;
  std::string mac;
  std::string iface;  // host-side interface on node; empty = not ovx-managed
  std::map<std::string, std::string> labels;
  // Security identity, shared by the endpoints of one network with the same
  // labels; allocated on write (controller/policy/identity.h). 0 = not yet
  // (a record written before identities existed): given one on next write.
  uint32_t identity = 0;
  bool operator==(const Endpoint&) const = default;
};

// An allow rule of a --policy=deny network (docs/policy.md).
struct Policy {
  std::string name;
  std::string network;
  std::string from;   // selector: "app=web,tier=front" or "*"
  std::string to;
  std::string proto = "any";  // tcp | udp | icmp | any
  std::string port;           // "", "N" or "N-M"
  bool operator==(const Policy&) const = default;
};

struct Snapshot {
  int64_t revision = 0;  // backend revision this snapshot was read at
  std::map<std::string, Network> networks;
  std::map<std::string, Node> nodes;
  std::map<std::string, Endpoint> endpoints;
  std::map<std::string, Policy> policies;
  bool operator==(const Snapshot&) const = default;
};

enum class RecordKind { kNetwork, kNode, kEndpoint, kPolicy };

// One record put or deleted, as a watch reports it.
struct RecordChange {
  RecordKind kind = RecordKind::kNetwork;
  std::string name;
  bool deleted = false;
  std::variant<Network, Node, Endpoint, Policy> value;  // when !deleted
};

// Applies changes to a snapshot in order (used by incremental watchers).
void ApplyChanges(const std::vector<RecordChange>& changes, Snapshot& snap);

}  // namespace ovx::controller

#endif  // OVX_CONTROLLER_REGISTRY_MODEL_H_
