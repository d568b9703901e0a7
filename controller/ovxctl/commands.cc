#include "controller/ovxctl/commands.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "controller/registry/migrate.h"
#include "controller/registry/record_json.h"
#include "controller/registry/validate.h"
#include "nlohmann/json.hpp"

namespace ovx::controller {
namespace {

using nlohmann::json;

struct Args {
  const Invocation& invocation;
  std::string name;  // the NAME operand, when the command takes one

  const std::string* Flag(const char* flag) const {
    auto it = invocation.flags.find(flag);
    return it == invocation.flags.end() ? nullptr : &it->second;
  }
  std::string FlagOr(const char* flag, std::string fallback = "") const {
    const std::string* v = Flag(flag);
    return v ? *v : fallback;
  }
};

struct Command {
  const char* path;   // "network create"
  const char* usage;  // operands and flags
  const char* help;
  bool takes_name;
  std::vector<std::string> flags;
  std::function<absl::StatusOr<std::string>(RegistryBackend&, const Args&)> run;
};

// --- output -----------------------------------------------------------------

// Left-aligned columns separated by two spaces; "-" for empty cells.
std::string Table(const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  auto cell = [](const std::string& s) { return s.empty() ? "-" : s; };
  for (size_t c = 0; c < header.size(); ++c) {
    width[c] = header[c].size();
    for (const auto& row : rows)
      width[c] = std::max(width[c], cell(row[c]).size());
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& row, bool is_header) {
    std::string l;
    for (size_t c = 0; c < row.size(); ++c) {
      std::string v = is_header ? row[c] : cell(row[c]);
      if (c + 1 < row.size()) v.resize(width[c] + 2, ' ');
      l += v;
    }
    absl::StrAppend(&out, l, "\n");
  };
  line(header, true);
  for (const auto& row : rows) line(row, false);
  return out;
}

std::vector<std::string> NetworkRow(const Network& n, const Snapshot& s) {
  size_t endpoints =
      std::count_if(s.endpoints.begin(), s.endpoints.end(),
                    [&](const auto& e) { return e.second.network == n.name; });
  return {n.name,
          absl::StrCat(n.vni),
          n.subnet,
          n.gateway,
          n.mtu ? absl::StrCat(n.mtu) : "auto",
          n.policy,
          absl::StrCat(endpoints)};
}
const std::vector<std::string> kNetworkHeader = {
    "NAME", "VNI", "SUBNET", "GATEWAY", "MTU", "POLICY", "ENDPOINTS"};

std::vector<std::string> NodeRow(const Node& n, const Snapshot& s) {
  size_t endpoints =
      std::count_if(s.endpoints.begin(), s.endpoints.end(),
                    [&](const auto& e) { return e.second.node == n.name; });
  return {n.name, n.vtep, absl::StrCat(endpoints)};
}
const std::vector<std::string> kNodeHeader = {"NAME", "VTEP", "ENDPOINTS"};

std::vector<std::string> EndpointRow(const Endpoint& e) {
  return {e.name,
          e.network,
          e.node,
          e.ip,
          e.mac,
          e.iface,
          FormatLabels(e.labels),
          e.identity ? absl::StrCat(e.identity) : ""};
}
const std::vector<std::string> kEndpointHeader = {
    "NAME", "NETWORK", "NODE", "IP", "MAC", "IFACE", "LABELS", "IDENTITY"};

std::vector<std::string> PolicyRow(const Policy& p) {
  return {p.name, p.network, p.from, p.to, p.proto, p.port};
}
const std::vector<std::string> kPolicyHeader = {"NAME", "NETWORK", "FROM",
                                                "TO",   "PROTO",   "PORT"};

std::string Dump(const json& j) { return j.dump(2) + "\n"; }

// --- flag parsing
// -------------------------------------------------------------

absl::Status ParseUint(const Args& a, const char* kind, const char* flag,
                       uint32_t& out) {
  const std::string* v = a.Flag(flag);
  if (v == nullptr) return absl::OkStatus();
  if (v->empty() || !absl::ascii_isdigit((*v)[0]) ||
      !absl::SimpleAtoi(*v, &out)) {
    return absl::InvalidArgumentError(absl::StrCat(
        kind, " ", a.name, ": --", flag, "=", *v, " is not a number"));
  }
  return absl::OkStatus();
}

// Runs `mutate` under the registry's write lock; `mutate` may run more than
// once (etcd retries), so it only touches the snapshot and `result`.
template <typename T>
absl::StatusOr<T> Write(RegistryBackend& registry,
                        const std::function<absl::StatusOr<T>(Snapshot&)>& f) {
  T result;
  absl::Status st = registry.Update([&](Snapshot& s) -> absl::Status {
    absl::StatusOr<T> r = f(s);
    if (!r.ok()) return r.status();
    result = *std::move(r);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return result;
}

std::string Removed(const Args& a, const char* kind) {
  if (a.invocation.json) return Dump(json{{"removed", kind}, {"name", a.name}});
  return absl::StrCat("removed ", kind, " ", a.name, "\n");
}

// --- commands ----------------------------------------------------------------

absl::StatusOr<std::string> NetworkCreate(RegistryBackend& r, const Args& a) {
  Network n{.name = a.name,
            .subnet = a.FlagOr("subnet"),
            .gateway = a.FlagOr("gateway"),
            .policy = a.FlagOr("policy", "allow")};
  if (a.Flag("vni") == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "network ", a.name, ": --vni is required (1..", kMaxVni, ")"));
  }
  if (absl::Status s = ParseUint(a, "network", "vni", n.vni); !s.ok()) return s;
  if (absl::Status s = ParseUint(a, "network", "mtu", n.mtu); !s.ok()) return s;
  absl::StatusOr<Network> made =
      Write<Network>(r, [&](Snapshot& s) { return AddNetwork(s, n); });
  if (!made.ok()) return made.status();
  if (a.invocation.json) return Dump(ToJson(*made));
  return Table(kNetworkHeader, {NetworkRow(*made, Snapshot{})});
}

absl::StatusOr<std::string> NetworkLs(RegistryBackend& r, const Args& a) {
  absl::StatusOr<Snapshot> s = r.Load();
  if (!s.ok()) return s.status();
  json out = json::array();
  std::vector<std::vector<std::string>> rows;
  for (const auto& [name, n] : s->networks) {
    out.push_back(ToJson(n));
    rows.push_back(NetworkRow(n, *s));
  }
  return a.invocation.json ? Dump(out) : Table(kNetworkHeader, rows);
}

absl::StatusOr<std::string> NetworkRm(RegistryBackend& r, const Args& a) {
  absl::Status st =
      r.Update([&](Snapshot& s) { return RemoveNetwork(s, a.name); });
  if (!st.ok()) return st;
  return Removed(a, "network");
}

absl::StatusOr<std::string> NodeAdd(RegistryBackend& r, const Args& a) {
  Node n{.name = a.name, .vtep = a.FlagOr("vtep")};
  absl::StatusOr<Node> made =
      Write<Node>(r, [&](Snapshot& s) { return AddNode(s, n); });
  if (!made.ok()) return made.status();
  if (a.invocation.json) return Dump(ToJson(*made));
  return Table(kNodeHeader, {NodeRow(*made, Snapshot{})});
}

absl::StatusOr<std::string> NodeLs(RegistryBackend& r, const Args& a) {
  absl::StatusOr<Snapshot> s = r.Load();
  if (!s.ok()) return s.status();
  json out = json::array();
  std::vector<std::vector<std::string>> rows;
  for (const auto& [name, n] : s->nodes) {
    out.push_back(ToJson(n));
    rows.push_back(NodeRow(n, *s));
  }
  return a.invocation.json ? Dump(out) : Table(kNodeHeader, rows);
}

absl::StatusOr<std::string> NodeRm(RegistryBackend& r, const Args& a) {
  absl::Status st =
      r.Update([&](Snapshot& s) { return RemoveNode(s, a.name); });
  if (!st.ok()) return st;
  return Removed(a, "node");
}

absl::StatusOr<std::string> EndpointAdd(RegistryBackend& r, const Args& a) {
  Endpoint e{.name = a.name,
             .network = a.FlagOr("network"),
             .node = a.FlagOr("node"),
             .ip = a.FlagOr("ip"),
             .mac = a.FlagOr("mac"),
             .iface = a.FlagOr("iface")};
  absl::StatusOr<std::map<std::string, std::string>> labels =
      ParseLabels(a.FlagOr("labels"));
  if (!labels.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("endpoint ", a.name, ": ", labels.status().message()));
  }
  e.labels = *std::move(labels);
  absl::StatusOr<Endpoint> made =
      Write<Endpoint>(r, [&](Snapshot& s) { return AddEndpoint(s, e); });
  if (!made.ok()) return made.status();
  if (a.invocation.json) return Dump(ToJson(*made));
  return Table(kEndpointHeader, {EndpointRow(*made)});
}

absl::StatusOr<std::string> EndpointLs(RegistryBackend& r, const Args& a) {
  absl::StatusOr<Snapshot> s = r.Load();
  if (!s.ok()) return s.status();
  const std::string* network = a.Flag("network");
  const std::string* node = a.Flag("node");
  json out = json::array();
  std::vector<std::vector<std::string>> rows;
  for (const auto& [name, e] : s->endpoints) {
    if ((network && e.network != *network) || (node && e.node != *node)) {
      continue;
    }
    out.push_back(ToJson(e));
    rows.push_back(EndpointRow(e));
  }
  return a.invocation.json ? Dump(out) : Table(kEndpointHeader, rows);
}

absl::StatusOr<std::string> EndpointRm(RegistryBackend& r, const Args& a) {
  absl::Status st =
      r.Update([&](Snapshot& s) { return RemoveEndpoint(s, a.name); });
  if (!st.ok()) return st;
  return Removed(a, "endpoint");
}

absl::StatusOr<std::string> PolicyAdd(RegistryBackend& r, const Args& a) {
  Policy p{.name = a.name,
           .network = a.FlagOr("network"),
           .from = a.FlagOr("from"),
           .to = a.FlagOr("to"),
           .proto = a.FlagOr("proto", "any"),
           .port = a.FlagOr("port")};
  absl::StatusOr<Policy> made =
      Write<Policy>(r, [&](Snapshot& s) { return AddPolicy(s, p); });
  if (!made.ok()) return made.status();
  if (a.invocation.json) return Dump(ToJson(*made));
  return Table(kPolicyHeader, {PolicyRow(*made)});
}

absl::StatusOr<std::string> PolicyLs(RegistryBackend& r, const Args& a) {
  absl::StatusOr<Snapshot> s = r.Load();
  if (!s.ok()) return s.status();
  const std::string* network = a.Flag("network");
  json out = json::array();
  std::vector<std::vector<std::string>> rows;
  for (const auto& [name, p] : s->policies) {
    if (network && p.network != *network) continue;
    out.push_back(ToJson(p));
    rows.push_back(PolicyRow(p));
  }
  return a.invocation.json ? Dump(out) : Table(kPolicyHeader, rows);
}

absl::StatusOr<std::string> PolicyRm(RegistryBackend& r, const Args& a) {
  absl::Status st =
      r.Update([&](Snapshot& s) { return RemovePolicy(s, a.name); });
  if (!st.ok()) return st;
  return Removed(a, "policy");
}

absl::StatusOr<std::string> Migrate(RegistryBackend& from, const Args& a) {
  const std::string* to_url = a.Flag("to");
  if (to_url == nullptr || to_url->empty()) {
    return absl::InvalidArgumentError(
        "migrate: --to=URL is required (e.g. --to=etcd://127.0.0.1:2379)");
  }
  RegistryOptions options = a.invocation.registry;
  options.url = *to_url;
  absl::StatusOr<std::unique_ptr<RegistryBackend>> to = OpenRegistry(options);
  if (!to.ok()) return to.status();
  if (absl::Status s = MigrateRegistry(from, **to); !s.ok()) return s;
  absl::StatusOr<Snapshot> copied = (*to)->Load();
  if (!copied.ok()) return copied.status();
  json out = {{"from", from.Describe()},
              {"to", (*to)->Describe()},
              {"networks", copied->networks.size()},
              {"nodes", copied->nodes.size()},
              {"endpoints", copied->endpoints.size()},
              {"policies", copied->policies.size()}};
  if (a.invocation.json) return Dump(out);
  return absl::StrCat("migrated ", copied->networks.size(), " networks, ",
                      copied->nodes.size(), " nodes, ",
                      copied->endpoints.size(), " endpoints, ",
                      copied->policies.size(), " policies from ",
                      from.Describe(), " to ", (*to)->Describe(), "\n");
}

const std::vector<Command>& Commands() {
  static const std::vector<Command> kCommands = {
      {"network create",
       "NAME --vni=N --subnet=CIDR [--gateway=IP] [--mtu=N] "
       "[--policy=allow|deny]",
       "create an overlay network (VNI 1..16777215, subnet /8../30; MTU 0 or "
       "576..9000, 0 = underlay MTU - 50)",
       true,
       {"vni", "subnet", "gateway", "mtu", "policy"},
       NetworkCreate},
      {"network ls", "", "list networks", false, {}, NetworkLs},
      {"network rm",
       "NAME",
       "remove a network that has no endpoints",
       true,
       {},
       NetworkRm},
      {"node add",
       "NAME --vtep=IP",
       "register a host and its underlay (VTEP) address",
       true,
       {"vtep"},
       NodeAdd},
      {"node ls", "", "list nodes", false, {}, NodeLs},
      {"node rm",
       "NAME",
       "remove a node that has no endpoints",
       true,
       {},
       NodeRm},
      {"endpoint add",
       "NAME --network=NET --node=NODE [--iface=IF] [--ip=IP] [--mac=MAC] "
       "[--labels=k=v,k=v]",
       "register a container; ip and mac are allocated when omitted",
       true,
       {"network", "node", "iface", "ip", "mac", "labels"},
       EndpointAdd},
      {"endpoint ls",
       "[--network=NET] [--node=NODE]",
       "list endpoints",
       false,
       {"network", "node"},
       EndpointLs},
      {"endpoint rm", "NAME", "remove an endpoint", true, {}, EndpointRm},
      {"policy add",
       "NAME --network=NET --from=SELECTOR --to=SELECTOR "
       "[--proto=tcp|udp|icmp|any] [--port=N|N-M]",
       "allow traffic in a --policy=deny network from the endpoints --from "
       "selects to those --to selects (selector: k=v[,k=v] = all labels "
       "match, or *); --port needs --proto=tcp or udp",
       true,
       {"network", "from", "to", "proto", "port"},
       PolicyAdd},
      {"policy ls",
       "[--network=NET]",
       "list policy rules",
       false,
       {"network"},
       PolicyLs},
      {"policy rm", "NAME", "remove a policy rule", true, {}, PolicyRm},
      {"migrate",
       "--to=URL",
       "copy every record of --registry into --to (e.g. file: -> etcd://); "
       "the target must be empty or hold the same records, so an "
       "interrupted run can be repeated",
       false,
       {"to"},
       Migrate},
  };
  return kCommands;
}

std::string CommandList() {
  std::vector<std::string> names;
  for (const Command& c : Commands()) names.push_back(c.path);
  return absl::StrJoin(names, ", ");
}

}  // namespace

const std::vector<std::string>& CommandFlagNames() {
  static const std::vector<std::string> kNames = {
      "vni",     "subnet", "gateway", "mtu", "policy", "vtep",
      "network", "node",   "iface",   "ip",  "mac",    "labels",
      "to",      "from",   "proto",   "port"};
  return kNames;
}

absl::StatusOr<std::string> RunCommand(RegistryBackend& registry,
                                       const Invocation& inv) {
  if (inv.words.empty()) {
    return absl::InvalidArgumentError("no command given (try: ovxctl --help)");
  }
  // A command is one word ("migrate") or two ("network create").
  std::string path = inv.words[0];
  auto it = std::find_if(Commands().begin(), Commands().end(),
                         [&](const Command& c) { return c.path == path; });
  size_t path_words = 1;
  if (it == Commands().end() && inv.words.size() > 1) {
    path = absl::StrCat(inv.words[0], " ", inv.words[1]);
    path_words = 2;
    it = std::find_if(Commands().begin(), Commands().end(),
                      [&](const Command& c) { return c.path == path; });
  }
  if (it == Commands().end()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown command \"", path, "\" (commands: ", CommandList(), ")"));
  }
  const Command& cmd = *it;
  const std::string usage = absl::StrCat("usage: ovxctl ", cmd.path,
                                         cmd.usage[0] ? " " : "", cmd.usage);
  const size_t operands = inv.words.size() - path_words;
  if (operands != (cmd.takes_name ? 1u : 0u)) {
    return absl::InvalidArgumentError(absl::StrCat(
        cmd.path, ": ", cmd.takes_name ? "takes one NAME" : "takes no NAME",
        ", got ", operands, " (", usage, ")"));
  }
  for (const auto& [flag, value] : inv.flags) {
    if (std::find(cmd.flags.begin(), cmd.flags.end(), flag) ==
        cmd.flags.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          cmd.path, ": --", flag, " does not apply (", usage, ")"));
    }
  }
  Args args{.invocation = inv,
            .name = cmd.takes_name ? inv.words[path_words] : ""};
  return cmd.run(registry, args);
}

std::string Usage() {
  std::string out =
      "ovxctl: edit the ovx registry (networks, nodes, endpoints, policy).\n\n"
      "usage: ovxctl COMMAND [NAME] [--flag=value ...]\n\ncommands:\n";
  for (const Command& c : Commands()) {
    absl::StrAppend(&out, "  ", c.path, c.usage[0] ? " " : "", c.usage,
                    "\n      ", c.help, "\n");
  }
  absl::StrAppend(
      &out,
      "\nglobal flags:\n"
      "  --registry=URL  file:PATH or etcd://HOST:PORT[,HOST:PORT...]\n"
      "                  (default: $OVX_REGISTRY, else ",
      kDefaultRegistryUrl,
      ")\n"
      "  --json          print JSON instead of a table (for scripts)\n"
      "  --etcd_ca=FILE --etcd_cert=FILE --etcd_key=FILE\n"
      "                  TLS files for etcd:// registries\n"
      "\nexamples:\n"
      "  ovxctl network create blue --vni=100 --subnet=10.10.0.0/24\n"
      "  ovxctl node add host1 --vtep=192.168.50.1\n"
      "  ovxctl endpoint add web1 --network=blue --node=host1 "
      "--iface=veth-web1 --labels=app=web\n"
      "  ovxctl endpoint ls --network=blue --json\n"
      "  ovxctl network create red --vni=200 --subnet=10.20.0.0/24 "
      "--policy=deny\n"
      "  ovxctl policy add web-db --network=red --from=app=web --to=app=db "
      "--proto=tcp --port=5432\n"
      "  ovxctl endpoint rm web1\n"
      "  ovxctl migrate --registry=file:/var/lib/ovx/registry.json "
      "--to=etcd://10.0.0.1:2379\n"
      "\nOn any error ovxctl prints one line, exits 1 and changes nothing.\n");
  return out;
}

}  // namespace ovx::controller
