// ovx-loader: flags are bound here; everything else is in cli.cc.
#include <iostream>
#include <string>
#include <vector>

#include "gflags/gflags.h"
#include "loader/cli.h"

DEFINE_string(iface, "", "interface to attach to or detach from");
DEFINE_string(vtep, "", "this node's VTEP address (IPv4)");
DEFINE_string(xdp_mode, "native", "XDP mode: native or skb");
DEFINE_int32(vxlan_port, OVX_VXLAN_PORT_DEFAULT, "outer UDP destination port");
DEFINE_string(sport_range, "49152-65535", "outer UDP source port range");
DEFINE_string(decap_delivery, "tc", "decap delivery hook: tc or xdp");
DEFINE_string(ingress, "auto",
              "underlay ingress hook: auto (from the driver), xdp or tc");
DEFINE_bool(tunnel_gro, true,
            "with tc ingress: a GRO-only kernel vxlan socket on the port");
DEFINE_int64(big_tcp, 0,
             "attach: IPv4 BIG TCP size on the underlay (0: leave it)");
DEFINE_string(bpffs, OVX_BPFFS_DEFAULT, "bpffs pin root");
DEFINE_bool(endpoint, false, "attach: iface is a container's host-side veth");
DEFINE_bool(all, false, "detach: everything under --bpffs");
DEFINE_bool(purge_maps, false, "detach --all: also remove the maps");
DEFINE_bool(json, false, "status: print JSON");
DEFINE_int32(count, 0, "monitor: stop after N events (0: never)");
DEFINE_bool(verbose, false, "show libbpf and libxdp messages");
DECLARE_bool(help);  // gflags' own; --help prints our text, not its list

int main(int argc, char** argv) {
  gflags::ParseCommandLineNonHelpFlags(&argc, &argv, /*remove_flags=*/true);
  ovx::loader::CliFlags f{
      FLAGS_iface,       FLAGS_vtep,           FLAGS_xdp_mode, FLAGS_vxlan_port,
      FLAGS_sport_range, FLAGS_decap_delivery, FLAGS_ingress,  FLAGS_tunnel_gro,
      FLAGS_big_tcp,     FLAGS_bpffs,          FLAGS_endpoint, FLAGS_all,
      FLAGS_purge_maps,  FLAGS_json,           FLAGS_count,    FLAGS_verbose};
  std::vector<std::string> args(argv + 1, argv + argc);
  if (FLAGS_help) args = {"help"};
  return ovx::loader::Run(args, f, std::cout, std::cerr);
}
