// ovxctl: the registry CLI. Flags live here; the commands in commands.cc.
#include <cstdlib>
#include <iostream>

#include "controller/ovxctl/commands.h"
#include "gflags/gflags.h"

DEFINE_string(registry, "",
              "file:PATH or etcd://HOST:PORT[,...] (default: $OVX_REGISTRY, "
              "else file:/var/lib/ovx/registry.json)");
DEFINE_bool(json, false, "print JSON instead of a table");
DEFINE_string(vni, "", "network create: VXLAN network identifier");
DEFINE_string(subnet, "", "network create: IPv4 CIDR");
DEFINE_string(gateway, "", "network create: gateway IP, never allocated");
DEFINE_string(mtu, "", "network create: container MTU (0 = underlay - 50)");
DEFINE_string(policy, "", "network create: allow|deny");
DEFINE_string(vtep, "", "node add: underlay IPv4 address");
DEFINE_string(network, "", "endpoint add/ls, policy add/ls: network name");
DEFINE_string(node, "", "endpoint add/ls: node name");
DEFINE_string(iface, "", "endpoint add: host-side interface");
DEFINE_string(ip, "", "endpoint add: IPv4 (allocated when omitted)");
DEFINE_string(mac, "", "endpoint add: MAC (allocated when omitted)");
DEFINE_string(labels, "", "endpoint add: k=v,k=v");
DEFINE_string(to, "",
              "migrate: registry URL to copy into; policy add: destination "
              "selector");
DEFINE_string(from, "", "policy add: source selector (k=v[,k=v] or *)");
DEFINE_string(proto, "", "policy add: tcp|udp|icmp|any (default any)");
DEFINE_string(port, "", "policy add: destination port N or range N-M");
DEFINE_string(etcd_ca, "", "etcd TLS: CA certificate file");
DEFINE_string(etcd_cert, "", "etcd TLS: client certificate file");
DEFINE_string(etcd_key, "", "etcd TLS: client key file");
DECLARE_bool(help);

namespace ovx::controller {
namespace {

int Main(int argc, char** argv) {
  gflags::SetUsageMessage("see ovxctl --help");
  gflags::ParseCommandLineNonHelpFlags(&argc, &argv, /*remove_flags=*/true);
  if (FLAGS_help || (argc > 1 && std::string(argv[1]) == "help")) {
    std::cout << Usage();
    return 0;
  }
  Invocation inv{.words = {argv + 1, argv + argc}, .json = FLAGS_json};
  for (const std::string& name : CommandFlagNames()) {
    gflags::CommandLineFlagInfo info =
        gflags::GetCommandLineFlagInfoOrDie(name.c_str());
    if (!info.is_default) inv.flags[name] = info.current_value;
  }
  const char* env = std::getenv("OVX_REGISTRY");
  inv.registry = {.url = !FLAGS_registry.empty() ? FLAGS_registry
                         : env && *env           ? env
                                                 : kDefaultRegistryUrl,
                  .ca_file = FLAGS_etcd_ca,
                  .cert_file = FLAGS_etcd_cert,
                  .key_file = FLAGS_etcd_key};
  absl::StatusOr<std::unique_ptr<RegistryBackend>> registry =
      OpenRegistry(inv.registry);
  absl::StatusOr<std::string> out =
      registry.ok() ? RunCommand(**registry, inv) : registry.status();
  if (!out.ok()) {
    std::cerr << "ovxctl: " << out.status().message() << "\n";
    return 1;
  }
  std::cout << *out;
  return 0;
}

}  // namespace
}  // namespace ovx::controller

int main(int argc, char** argv) { return ovx::controller::Main(argc, argv); }
