#include "controller/registry/validate.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "controller/policy/identity.h"
#include "controller/policy/rule.h"

namespace ovx::controller {
namespace {

// The parsers below return "" on success, else what is wrong with the text
// ("is not an IPv4 address"), so each caller can say which flag held it.

std::string Ipv4Problem(absl::string_view text, uint32_t& out) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, '.');
  uint32_t ip = 0;
  bool ok = parts.size() == 4;
  for (absl::string_view p : parts) {
    if (!ok) break;
    uint32_t octet = 0;
    // No sign, no leading zeros (010 would be octal to inet_aton), <= 255.
    ok = !p.empty() && p.size() <= 3 && absl::ascii_isdigit(p[0]) &&
         !(p.size() > 1 && p[0] == '0') && absl::SimpleAtoi(p, &octet) &&
         octet <= 255;
    ip = ip << 8 | octet;
  }
  if (!ok) return "is not an IPv4 address";
  out = ip;
  return "";
}

std::string CidrProblem(absl::string_view text, Ipv4Cidr& out) {
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(text, absl::MaxSplits('/', 1));
  uint32_t ip = 0;
  int prefix = 0;
  if (!Ipv4Problem(parts.first, ip).empty() || parts.second.empty() ||
      !absl::ascii_isdigit(parts.second[0]) ||
      !absl::SimpleAtoi(parts.second, &prefix) || prefix > 32) {
    return "is not an IPv4 CIDR (want A.B.C.D/N)";
  }
  if (prefix < 8 || prefix > 30) {
    return absl::StrCat("has prefix /", prefix, "; want /8 to /30");
  }
  Ipv4Cidr cidr{.network = ip, .prefix = prefix};
  if ((ip & cidr.Mask()) != ip) {
    cidr.network = ip & cidr.Mask();
    return absl::StrCat("is not a network address (did you mean ",
                        cidr.ToString(), "?)");
  }
  out = cidr;
  return "";
}

std::string MacProblem(absl::string_view text, Mac& out) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, ':');
  bool ok = parts.size() == 6;
  Mac mac{};
  for (size_t i = 0; ok && i < parts.size(); ++i) {
    ok = parts[i].size() == 2 && absl::ascii_isxdigit(parts[i][0]) &&
         absl::ascii_isxdigit(parts[i][1]);
    if (ok) {
      mac[i] =
          static_cast<uint8_t>(std::stoul(std::string(parts[i]), nullptr, 16));
    }
  }
  if (!ok) return "is not a MAC address (want xx:xx:xx:xx:xx:xx)";
  out = mac;
  return "";
}

bool IsNameChar(char c) {
  return absl::ascii_isalnum(c) || c == '.' || c == '_' || c == '-';
}

bool AllOf(absl::string_view s, bool (*pred)(char)) {
  for (char c : s) {
    if (!pred(c)) return false;
  }
  return true;
}

bool IsLabelKeyChar(char c) { return IsNameChar(c) || c == '/'; }

// Linux IFNAMSIZ is 16 including the NUL.
bool IsIfaceChar(char c) {
  return absl::ascii_isgraph(c) && c != '/' && c != ':';
}

absl::Status Invalid(absl::string_view record, absl::string_view flag,
                     absl::string_view value, absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat(record, ": --", flag, "=", value, " ", problem));
}

uint32_t Fnv1a(absl::string_view s) {
  uint32_t h = 2166136261u;
  for (char c : s) {
    h ^= static_cast<uint8_t>(c);
    h *= 16777619u;
  }
  return h;
}

std::string LabelProblem(absl::string_view key, absl::string_view value) {
  if (key.empty() || key.size() > kMaxNameLength ||
      !AllOf(key, IsLabelKeyChar)) {
    return absl::StrCat("label key \"", key,
                        "\" must be 1..63 characters of [a-zA-Z0-9._/-]");
  }
  if (value.size() > kMaxNameLength || !AllOf(value, IsNameChar)) {
    return absl::StrCat("label ", key, "=", value,
                        ": value must be 0..63 characters of [a-zA-Z0-9._-]");
  }
  return "";
}

}  // namespace

absl::StatusOr<uint32_t> ParseIpv4(absl::string_view text) {
  uint32_t ip = 0;
  if (std::string p = Ipv4Problem(text, ip); !p.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" ", p));
  }
  return ip;
}

std::string FormatIpv4(uint32_t ip) {
  return absl::StrCat(ip >> 24, ".", (ip >> 16) & 0xff, ".", (ip >> 8) & 0xff,
                      ".", ip & 0xff);
}

std::string Ipv4Cidr::ToString() const {
  return absl::StrCat(FormatIpv4(network), "/", prefix);
}

absl::StatusOr<Ipv4Cidr> ParseCidr(absl::string_view text) {
  Ipv4Cidr cidr;
  if (std::string p = CidrProblem(text, cidr); !p.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" ", p));
  }
  return cidr;
}

absl::StatusOr<Mac> ParseMac(absl::string_view text) {
  Mac mac;
  if (std::string p = MacProblem(text, mac); !p.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" ", p));
  }
  return mac;
}

std::string FormatMac(const Mac& m) {
  return absl::StrFormat("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
                         m[3], m[4], m[5]);
}

absl::StatusOr<std::map<std::string, std::string>> ParseLabels(
    absl::string_view text) {
  std::map<std::string, std::string> labels;
  if (text.empty()) return labels;
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(item, absl::MaxSplits('=', 1));
    if (item.find('=') == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("--labels=", text, ": \"", item, "\" is not key=value"));
    }
    if (std::string p = LabelProblem(kv.first, kv.second); !p.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--labels=", text, ": ", p));
    }
    if (!labels.emplace(kv.first, kv.second).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--labels=", text, ": label key \"", kv.first, "\" is repeated"));
    }
  }
  return labels;
}

std::string FormatLabels(const std::map<std::string, std::string>& labels) {
  return absl::StrJoin(labels, ",", absl::PairFormatter("="));
}

absl::Status ValidateName(absl::string_view kind, absl::string_view name) {
  if (name.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(kind, ": name is empty"));
  }
  if (name.size() > kMaxNameLength || !AllOf(name, IsNameChar)) {
    return absl::InvalidArgumentError(
        absl::StrCat(kind, " \"", name,
                     "\": name must be 1..63 characters of [a-zA-Z0-9._-]"));
  }
  return absl::OkStatus();
}

absl::Status ValidateNetwork(const Snapshot& snap, const Network& n) {
  if (absl::Status s = ValidateName("network", n.name); !s.ok()) return s;
  const std::string what = absl::StrCat("network ", n.name);
  if (snap.networks.contains(n.name)) {
    return absl::AlreadyExistsError(absl::StrCat(what, " already exists"));
  }
  if (n.vni < 1 || n.vni > kMaxVni) {
    return Invalid(what, "vni", absl::StrCat(n.vni),
                   absl::StrCat("is out of range 1..", kMaxVni));
  }
  for (const auto& [name, other] : snap.networks) {
    if (other.vni == n.vni) {
      return absl::AlreadyExistsError(absl::StrCat(
          what, ": --vni=", n.vni, " is already used by network ", name));
    }
  }
  if (n.subnet.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": --subnet is required (e.g. 10.10.0.0/24)"));
  }
  Ipv4Cidr cidr;
  if (std::string p = CidrProblem(n.subnet, cidr); !p.empty()) {
    return Invalid(what, "subnet", n.subnet, p);
  }
  if (!n.gateway.empty()) {
    uint32_t gw = 0;
    if (std::string p = Ipv4Problem(n.gateway, gw); !p.empty()) {
      return Invalid(what, "gateway", n.gateway, p);
    }
    if (!cidr.Contains(gw)) {
      return Invalid(what, "gateway", n.gateway,
                     absl::StrCat("is outside --subnet=", n.subnet));
    }
    if (gw == cidr.network || gw == cidr.Broadcast()) {
      return Invalid(
          what, "gateway", n.gateway,
          absl::StrCat("is the ", gw == cidr.network ? "network" : "broadcast",
                       " address of ", n.subnet));
    }
  }
  if (n.mtu != 0 && (n.mtu < kMinMtu || n.mtu > kMaxMtu)) {
    return Invalid(what, "mtu", absl::StrCat(n.mtu),
                   absl::StrCat("is out of range ", kMinMtu, "..", kMaxMtu,
                                " (or 0: underlay MTU - 50)"));
  }
  if (n.policy != "allow" && n.policy != "deny") {
    return Invalid(what, "policy", n.policy, "must be allow or deny");
  }
  return absl::OkStatus();
}

absl::Status ValidateNode(const Snapshot& snap, const Node& n) {
  if (absl::Status s = ValidateName("node", n.name); !s.ok()) return s;
  const std::string what = absl::StrCat("node ", n.name);
  if (snap.nodes.contains(n.name)) {
    return absl::AlreadyExistsError(absl::StrCat(what, " already exists"));
  }
  if (n.vtep.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": --vtep is required (the node's underlay IPv4 address)"));
  }
  uint32_t vtep = 0;
  if (std::string p = Ipv4Problem(n.vtep, vtep); !p.empty()) {
    return Invalid(what, "vtep", n.vtep, p);
  }
  if (vtep == 0 || vtep >= 0xe0000000u || (vtep >> 24) == 127) {
    return Invalid(what, "vtep", n.vtep,
                   "is not a unicast address another host can reach");
  }
  for (const auto& [name, other] : snap.nodes) {
    if (other.vtep == n.vtep) {
      return absl::AlreadyExistsError(absl::StrCat(
          what, ": --vtep=", n.vtep, " is already used by node ", name));
    }
  }
  return absl::OkStatus();
}

namespace {

absl::Status ValidateEndpointRefs(const Snapshot& snap, const Endpoint& e) {
  if (absl::Status s = ValidateName("endpoint", e.name); !s.ok()) return s;
  const std::string what = absl::StrCat("endpoint ", e.name);
  if (auto it = snap.endpoints.find(e.name); it != snap.endpoints.end()) {
    return absl::AlreadyExistsError(
        absl::StrCat(what, " already exists (network ", it->second.network,
                     ", ip ", it->second.ip, ")"));
  }
  if (e.network.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": --network is required"));
  }
  auto net = snap.networks.find(e.network);
  if (net == snap.networks.end()) {
    return absl::NotFoundError(
        absl::StrCat(what, ": --network=", e.network, " does not exist"));
  }
  if (e.node.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": --node is required"));
  }
  if (!snap.nodes.contains(e.node)) {
    return absl::NotFoundError(
        absl::StrCat(what, ": --node=", e.node, " does not exist"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateEndpoint(const Snapshot& snap, const Endpoint& e) {
  if (absl::Status s = ValidateEndpointRefs(snap, e); !s.ok()) return s;
  const std::string what = absl::StrCat("endpoint ", e.name);
  const Network& network = snap.networks.at(e.network);
  Ipv4Cidr cidr;
  if (std::string p = CidrProblem(network.subnet, cidr); !p.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, ": network ", network.name, " has a bad subnet ",
                     network.subnet));
  }
  uint32_t ip = 0;
  if (std::string p = Ipv4Problem(e.ip, ip); !p.empty()) {
    return Invalid(what, "ip", e.ip, p);
  }
  if (!cidr.Contains(ip)) {
    return Invalid(what, "ip", e.ip,
                   absl::StrCat("is outside network ", network.name,
                                "'s subnet ", network.subnet));
  }
  if (ip == cidr.network || ip == cidr.Broadcast() || e.ip == network.gateway) {
    const char* role = ip == cidr.network       ? "network address"
                       : ip == cidr.Broadcast() ? "broadcast address"
                                                : "gateway";
    return Invalid(what, "ip", e.ip,
                   absl::StrCat("is network ", network.name, "'s ", role));
  }
  Mac mac;
  if (std::string p = MacProblem(e.mac, mac); !p.empty()) {
    return Invalid(what, "mac", e.mac, p);
  }
  if (mac[0] & 1) {
    return Invalid(what, "mac", e.mac, "is a multicast address");
  }
  if (mac == Mac{}) {
    return Invalid(what, "mac", e.mac, "is the zero address");
  }
  const std::string mac_text = FormatMac(mac);
  if (!e.iface.empty() &&
      (e.iface.size() > 15 || !AllOf(e.iface, IsIfaceChar))) {
    return Invalid(what, "iface", e.iface,
                   "is not an interface name (1..15 characters, no '/', ':' "
                   "or spaces)");
  }
  for (const auto& [key, value] : e.labels) {
    if (std::string p = LabelProblem(key, value); !p.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": ", p));
    }
  }
  for (const auto& [name, other] : snap.endpoints) {
    if (other.network == e.network && other.ip == e.ip) {
      return absl::AlreadyExistsError(
          absl::StrCat(what, ": --ip=", e.ip, " is already used by endpoint ",
                       name, " in network ", e.network));
    }
    if (absl::AsciiStrToLower(other.mac) == mac_text) {
      return absl::AlreadyExistsError(absl::StrCat(
          what, ": --mac=", e.mac, " is already used by endpoint ", name));
    }
    if (!e.iface.empty() && other.node == e.node && other.iface == e.iface) {
      return absl::AlreadyExistsError(absl::StrCat(
          what, ": --iface=", e.iface, " is already used by endpoint ", name,
          " on node ", e.node));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> AllocateIp(const Snapshot& snap,
                                       const Network& network) {
  Ipv4Cidr cidr;
  if (std::string p = CidrProblem(network.subnet, cidr); !p.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "network ", network.name, ": --subnet=", network.subnet, " ", p));
  }
  std::vector<bool> used(cidr.Broadcast() - cidr.network + 1);
  auto mark = [&](absl::string_view text) {
    uint32_t ip = 0;
    if (Ipv4Problem(text, ip).empty() && cidr.Contains(ip)) {
      used[ip - cidr.network] = true;
    }
  };
  mark(network.gateway);
  for (const auto& [name, e] : snap.endpoints) {
    if (e.network == network.name) mark(e.ip);
  }
  for (uint32_t ip = cidr.network + 1; ip < cidr.Broadcast(); ++ip) {
    if (!used[ip - cidr.network]) return FormatIpv4(ip);
  }
  return absl::ResourceExhaustedError(
      absl::StrCat("network ", network.name, ": subnet ", network.subnet,
                   " has no free address left"));
}

absl::StatusOr<std::string> AllocateMac(const Snapshot& snap,
                                        const Network& network,
                                        absl::string_view ip_text) {
  uint32_t ip = 0;
  if (std::string p = Ipv4Problem(ip_text, ip); !p.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--ip=", ip_text, " ", p));
  }
  const uint32_t seed = Fnv1a(network.name);
  for (uint32_t i = 0; i < 256; ++i) {
    Mac mac = {0x02,
               static_cast<uint8_t>((seed + i) & 0xff),
               static_cast<uint8_t>(ip >> 24),
               static_cast<uint8_t>(ip >> 16),
               static_cast<uint8_t>(ip >> 8),
               static_cast<uint8_t>(ip)};
    std::string text = FormatMac(mac);
    bool taken = false;
    for (const auto& [name, e] : snap.endpoints) {
      if (absl::AsciiStrToLower(e.mac) == text) {
        taken = true;
        break;
      }
    }
    if (!taken) return text;
  }
  return absl::ResourceExhaustedError(
      absl::StrCat("network ", network.name, ": no free MAC for ip ", ip_text));
}

absl::Status ValidatePolicy(const Snapshot& snap, const Policy& p) {
  if (absl::Status s = ValidateName("policy", p.name); !s.ok()) return s;
  const std::string what = absl::StrCat("policy ", p.name);
  if (auto it = snap.policies.find(p.name); it != snap.policies.end()) {
    return absl::AlreadyExistsError(absl::StrCat(
        what, " already exists (network ", it->second.network, ")"));
  }
  if (p.network.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": --network is required"));
  }
  auto net = snap.networks.find(p.network);
  if (net == snap.networks.end()) {
    return absl::NotFoundError(
        absl::StrCat(what, ": --network=", p.network, " does not exist"));
  }
  if (absl::StatusOr<Rule> rule = ParseRule(p); !rule.ok()) {
    return rule.status();
  }
  if (net->second.policy != "deny") {
    return absl::FailedPreconditionError(absl::StrCat(
        what, ": --network=", p.network, " has --policy=", net->second.policy,
        ", where everything is allowed and rules are ignored; rules apply to "
        "networks created with --policy=deny (ovxctl network create NAME "
        "--vni=N --subnet=CIDR --policy=deny)"));
  }
  return absl::OkStatus();
}

namespace {

// Every write ends here: identities for (a bounded number of) endpoints
// written before identities existed.
template <typename T>
T Assigned(Snapshot& snap, T result) {
  AssignIdentities(snap, kIdentityMigrationsPerWrite);
  return result;
}

}  // namespace

absl::StatusOr<Network> AddNetwork(Snapshot& snap, Network network) {
  if (network.policy.empty()) network.policy = "allow";
  if (absl::Status s = ValidateNetwork(snap, network); !s.ok()) return s;
  snap.networks[network.name] = network;
  return Assigned(snap, network);
}

absl::StatusOr<Node> AddNode(Snapshot& snap, Node node) {
  if (absl::Status s = ValidateNode(snap, node); !s.ok()) return s;
  snap.nodes[node.name] = node;
  return Assigned(snap, node);
}

absl::StatusOr<Policy> AddPolicy(Snapshot& snap, Policy policy) {
  if (policy.proto.empty()) policy.proto = "any";
  if (absl::Status s = ValidatePolicy(snap, policy); !s.ok()) return s;
  snap.policies[policy.name] = policy;
  return Assigned(snap, policy);
}

absl::Status RemovePolicy(Snapshot& snap, absl::string_view name) {
  if (snap.policies.erase(std::string(name)) == 0) {
    return absl::NotFoundError(
        absl::StrCat("policy ", name, " does not exist"));
  }
  return Assigned(snap, absl::OkStatus());
}

absl::StatusOr<Endpoint> AddEndpoint(Snapshot& snap, Endpoint e) {
  // Allocation needs the name and the references to be right: check those
  // first so that an allocation error cannot hide a simpler mistake.
  if (absl::Status s = ValidateEndpointRefs(snap, e); !s.ok()) return s;
  const Network& network = snap.networks.at(e.network);
  if (e.ip.empty()) {
    absl::StatusOr<std::string> ip = AllocateIp(snap, network);
    if (!ip.ok()) {
      return absl::Status(
          ip.status().code(),
          absl::StrCat("endpoint ", e.name, ": ", ip.status().message()));
    }
    e.ip = *ip;
  }
  uint32_t ip = 0;
  if (e.mac.empty() && Ipv4Problem(e.ip, ip).empty()) {
    absl::StatusOr<std::string> mac = AllocateMac(snap, network, e.ip);
    if (!mac.ok()) {
      return absl::Status(
          mac.status().code(),
          absl::StrCat("endpoint ", e.name, ": ", mac.status().message()));
    }
    e.mac = *mac;
  }
  if (absl::Status s = ValidateEndpoint(snap, e); !s.ok()) return s;
  Mac mac;
  if (MacProblem(e.mac, mac).empty()) e.mac = FormatMac(mac);
  // The control plane owns identities: reuse or allocate, never trust one
  // given by the caller.
  e.identity = AllocateIdentity(snap, e.network, e.labels);
  snap.endpoints[e.name] = e;
  return Assigned(snap, e);
}

absl::Status RemoveNetwork(Snapshot& snap, absl::string_view name) {
  auto it = snap.networks.find(std::string(name));
  if (it == snap.networks.end()) {
    return absl::NotFoundError(
        absl::StrCat("network ", name, " does not exist"));
  }
  std::vector<std::string> users;
  for (const auto& [ename, e] : snap.endpoints) {
    if (e.network == name) users.push_back(ename);
  }
  if (!users.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("network ", name, " still has endpoints (",
                     absl::StrJoin(users, ", "), "): remove them first"));
  }
  for (const auto& [pname, p] : snap.policies) {
    if (p.network == name) users.push_back(pname);
  }
  if (!users.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("network ", name, " still has policies (",
                     absl::StrJoin(users, ", "), "): remove them first"));
  }
  snap.networks.erase(it);
  return Assigned(snap, absl::OkStatus());
}

absl::Status RemoveNode(Snapshot& snap, absl::string_view name) {
  auto it = snap.nodes.find(std::string(name));
  if (it == snap.nodes.end()) {
    return absl::NotFoundError(absl::StrCat("node ", name, " does not exist"));
  }
  std::vector<std::string> users;
  for (const auto& [ename, e] : snap.endpoints) {
    if (e.node == name) users.push_back(ename);
  }
  if (!users.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("node ", name, " still has endpoints (",
                     absl::StrJoin(users, ", "), "): remove them first"));
  }
  snap.nodes.erase(it);
  return Assigned(snap, absl::OkStatus());
}

absl::Status RemoveEndpoint(Snapshot& snap, absl::string_view name) {
  if (snap.endpoints.erase(std::string(name)) == 0) {
    return absl::NotFoundError(
        absl::StrCat("endpoint ", name, " does not exist"));
  }
  return Assigned(snap, absl::OkStatus());
}

}  // namespace ovx::controller
