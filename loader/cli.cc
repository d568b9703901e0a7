#include "loader/cli.h"

#include <signal.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "loader/big_tcp.h"
#include "loader/kernel.h"
#include "loader/status_format.h"

namespace ovx::loader {
namespace {

absl::Status RunAttach(const CliFlags& f, std::ostream& out) {
  absl::Status status;
  if (f.endpoint) {
    if (f.iface.empty())
      return absl::InvalidArgumentError("--iface is required");
    if (f.big_tcp != 0) {
      return absl::InvalidArgumentError(
          "--big-tcp is for the underlay; a container's veth pair is its "
          "runtime's to size (docs/loader.md, \"BIG TCP\")");
    }
    status = CheckCurrentPrivileges();
    if (status.ok()) status = AttachEndpoint(f.bpffs, f.iface);
    if (status.ok()) out << "attached tc_endpoint to " << f.iface << "\n";
    return status;
  }
  auto options = UnderlayOptionsFromFlags(f);
  if (!options.ok()) return options.status();
  // Resolved once here so that the line says why; AttachUnderlay then gets
  // the concrete hook.
  IngressChoice ingress = ResolveIngress(*options);
  out << FormatIngressChoice(ingress) << "\n";
  if (std::string warning = XdpDeliveryWarning(
          *options, [&] { return DriverName(options->iface); });
      !warning.empty()) {
    out << warning << "\n";
  }
  options->ingress = ingress.hook;
  auto report = AttachUnderlay(*options);
  if (!report.ok()) return report.status();
  out << report->tunnel_gro << "\n";
  if (!report->big_tcp.empty()) out << report->big_tcp << "\n";
  if (auto forwarding = Ipv4Forwarding(f.iface);
      forwarding.ok() && !*forwarding) {
    out << "note: net.ipv4.conf." << f.iface
        << ".forwarding is 0, so bpf_fib_lookup() refuses and encap routes "
           "every packet through bpf_redirect_neigh(), without its next-hop "
           "cache; setting it to 1 enables both (and lets the kernel route "
           "between interfaces)\n";
  }
  out << "attached ovx to underlay " << f.iface << " (vtep " << f.vtep
      << ", maps under " << f.bpffs << ")\n";
  return absl::OkStatus();
}

absl::Status RunDetach(const CliFlags& f, std::ostream& out) {
  absl::Status status = CheckCurrentPrivileges();
  if (!status.ok()) return status;
  if (f.all) {
    status = DetachAll(f.bpffs, DetachAllOptions{f.purge_maps});
    if (status.ok()) {
      out << "detached everything under " << f.bpffs
          << (f.purge_maps ? " and removed the maps\n" : "; maps kept\n");
    }
    return status;
  }
  if (f.purge_maps) {
    return absl::InvalidArgumentError("--purge-maps needs --all");
  }
  if (f.iface.empty()) {
    return absl::InvalidArgumentError("detach needs --iface=IF or --all");
  }
  status = Detach(f.bpffs, f.iface);
  if (status.ok()) out << "detached ovx from " << f.iface << "\n";
  return status;
}

absl::Status RunStatus(const CliFlags& f, std::ostream& out) {
  absl::Status status = CheckCurrentPrivileges();
  if (!status.ok()) return status;
  auto node = GetStatus(f.bpffs);
  if (!node.ok()) return node.status();
  if (f.json) {
    out << StatusToJson(*node).dump(2) << "\n";
  } else {
    out << FormatStatusTable(*node);
  }
  return absl::OkStatus();
}

void OnStopSignal(int) {}

// SIGINT/SIGTERM interrupt the ring buffer poll (no SA_RESTART), Monitor
// returns on EINTR and monitor exits 0, like `cilium monitor`. One-shot
// (SA_RESETHAND): should the first land outside the poll, a second one
// still ends the process.
void StopOnSignals() {
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sa.sa_flags = SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

absl::Status RunMonitor(const CliFlags& f, std::ostream& out) {
  absl::Status status = CheckCurrentPrivileges();
  if (!status.ok()) return status;
  if (f.count < 0) return absl::InvalidArgumentError("--count must be >= 0");
  StopOnSignals();
  return Monitor(f.bpffs, MonitorOptions{f.count, -1},
                 [&](const ovx_drop_event& event) {
                   if (f.json) {
                     out << DropEventToJson(event).dump() << "\n";
                   } else {
                     out << FormatDropEvent(event) << "\n";
                   }
                   out.flush();
                   return true;
                 });
}

absl::Status RunHelp(const CliFlags&, std::ostream& out) {
  out << HelpText();
  return absl::OkStatus();
}

}  // namespace

const std::vector<Command>& Commands() {
  static const std::vector<Command> kCommands = {
      {"attach", "load the programs and attach them to an interface",
       "  ovx-loader attach --iface=IF --vtep=IP [--xdp-mode=native|skb]\n"
       "      [--vxlan-port=4789] [--sport-range=49152-65535]\n"
       "      [--decap-delivery=tc|xdp] [--ingress=auto|xdp|tc]\n"
       "      [--[no]tunnel-gro] [--big-tcp=BYTES] [--bpffs=DIR]\n"
       "    Underlay: XDP (through libxdp's dispatcher) and tc_underlay\n"
       "    (tcx) on IF, or tc_underlay alone (--ingress); maps created or\n"
       "    reused under --bpffs. Prints the ingress hook and why, and the\n"
       "    tunnel GRO device (tc ingress only), and IF's BIG TCP sizes when\n"
       "    --big-tcp sets them.\n"
       "    Idempotent; run it again after an upgrade to replace the\n"
       "    programs in place, or with another --ingress to switch hooks.\n"
       "  ovx-loader attach --endpoint --iface=VETH [--bpffs=DIR]\n"
       "    Endpoint: tc_endpoint on a container's host-side interface.\n"
       "  e.g. ovx-loader attach --iface=eth0 --vtep=192.168.50.1\n"
       "       ovx-loader attach --endpoint --iface=veth-web1\n",
       RunAttach},
      {"detach", "remove what ovx attached; maps (dataplane state) stay",
       "  ovx-loader detach --iface=IF [--bpffs=DIR]\n"
       "  ovx-loader detach --all [--purge-maps] [--bpffs=DIR]\n"
       "    --all detaches every interface and unpins the programs;\n"
       "    --purge-maps also removes the maps: everything is gone.\n"
       "  e.g. ovx-loader detach --iface=veth-web1\n",
       RunDetach},
      {"status", "attached interfaces, programs, maps and counters",
       "  ovx-loader status [--json] [--bpffs=DIR]\n"
       "  e.g. ovx-loader status --json | jq .counters\n",
       RunStatus},
      {"monitor", "print drop events as the programs report them",
       "  ovx-loader monitor [--count=N] [--json] [--bpffs=DIR]\n"
       "    One line per dropped packet (sampled by the ring buffer's room;\n"
       "    counters in 'status' are exact). Runs until Ctrl-C or N events.\n"
       "  e.g. ovx-loader monitor --count=10\n",
       RunMonitor},
      {"help", "this text", "  ovx-loader help\n", RunHelp},
  };
  return kCommands;
}

std::string HelpText() {
  std::string out =
      "ovx-loader: loads, attaches and inspects the ovx dataplane.\n\n"
      "usage: ovx-loader <command> [--flags]\n\ncommands:\n";
  for (const Command& c : Commands()) {
    absl::StrAppendFormat(&out, "%-8s %s\n%s\n", c.name, c.summary, c.usage);
  }
  absl::StrAppend(
      &out,
      "flags:\n"
      "  --iface=IF            interface to attach to / detach from\n"
      "  --vtep=IP             this node's VTEP (IPv4), the outer address\n"
      "  --xdp-mode=MODE       native (driver XDP, default) or skb (generic)\n"
      "  --vxlan-port=PORT     outer UDP destination port (default 4789)\n"
      "  --sport-range=MIN-MAX outer UDP source ports (default 49152-65535)\n"
      "  --decap-delivery=HOOK with XDP ingress: tc (XDP verdict, TC\n"
      "                        redirect; default) or xdp (XDP_REDIRECT into\n"
      "                        the veth)\n"
      "  --ingress=HOOK        where the underlay checks and decapsulates:\n"
      "                        auto (default): tc when IF's driver is veth\n"
      "                        (XDP there turns the peer's segmentation\n"
      "                        offload off: 2.4-2.6x slower TCP,\n"
      "                        docs/performance.md), xdp for\n"
      "                        any other driver, when the driver cannot be\n"
      "                        read, or with --decap-delivery=xdp or\n"
      "                        --xdp-mode=skb;\n"
      "                        xdp: XDP checks and decapsulates, drops\n"
      "                        before an skb exists (physical NICs);\n"
      "                        tc: tcx alone, GSO packets stay whole\n"
      "  --[no]tunnel-gro      with tc ingress (default on): open a kernel\n"
      "                        vxlan socket on the port, device\n"
      "                        ovx-gro-PORT, only so that GRO merges\n"
      "                        tunnelled TCP before tc_underlay (1.6x TCP on\n"
      "                        a NIC-like underlay, docs/performance.md).\n"
      "                        It never delivers: tc_tunnel_fence drops what\n"
      "                        it decapsulates (kernel-decapsulated)\n"
      "  --big-tcp=BYTES       IPv4 BIG TCP on the underlay: GSO packets up\n"
      "                        to BYTES (65536-524280, e.g. 196608) leave\n"
      "                        it whole and GRO merges up to BYTES\n"
      "                        (gso/gro_ipv4_max_size; gso capped at the\n"
      "                        driver's tso_max_size). TCP builds them only\n"
      "                        where the container's eth0 allows the same.\n"
      "                        65536 turns it off; 0 (default) leaves the\n"
      "                        device as it is; detach leaves it too\n"
      "  --endpoint            attach: the interface is a container's veth\n"
      "  --all                 detach: everything under --bpffs\n"
      "  --purge-maps          detach --all: remove the maps too\n"
      "  --json                status: JSON instead of tables; monitor: one\n"
      "                        JSON object per line\n"
      "  --count=N             monitor: stop after N events (0: never)\n"
      "  --bpffs=DIR           pin root (default " OVX_BPFFS_DEFAULT
      "; bpffs is\n"
      "                        mounted there when missing)\n"
      "  --verbose             show libbpf and libxdp messages\n");
  return out;
}

absl::StatusOr<std::pair<uint16_t, uint16_t>> ParsePortRange(
    absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, '-');
  uint32_t lo = 0, hi = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &lo) ||
      !absl::SimpleAtoi(parts[1], &hi) || lo == 0 || hi > 65535 || lo > hi) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--sport-range: '", text,
        "' is not a port range MIN-MAX with 1 <= MIN <= MAX <= 65535"));
  }
  return std::make_pair(static_cast<uint16_t>(lo), static_cast<uint16_t>(hi));
}

absl::StatusOr<UnderlayOptions> UnderlayOptionsFromFlags(const CliFlags& f) {
  UnderlayOptions options;
  options.bpffs = f.bpffs;
  options.iface = f.iface;
  options.vtep = f.vtep;
  if (f.xdp_mode == "native") {
    options.mode = XdpMode::kNative;
  } else if (f.xdp_mode == "skb") {
    options.mode = XdpMode::kSkb;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--xdp-mode: '", f.xdp_mode, "' is not native or skb"));
  }
  if (f.vxlan_port < 1 || f.vxlan_port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--vxlan-port: ", f.vxlan_port, " is not in 1-65535"));
  }
  options.vxlan_port = static_cast<uint16_t>(f.vxlan_port);
  auto range = ParsePortRange(f.sport_range);
  if (!range.ok()) return range.status();
  options.sport_min = range->first;
  options.sport_max = range->second;
  if (f.decap_delivery == "tc" || f.decap_delivery == "xdp") {
    options.xdp_deliver = f.decap_delivery == "xdp";
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "--decap-delivery: '", f.decap_delivery, "' is not tc or xdp"));
  }
  if (f.ingress == "auto") {
    options.ingress = IngressHook::kAuto;
  } else if (f.ingress == "xdp") {
    options.ingress = IngressHook::kXdp;
  } else if (f.ingress == "tc") {
    options.ingress = IngressHook::kTc;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--ingress: '", f.ingress, "' is not auto, xdp or tc"));
  }
  if (options.ingress == IngressHook::kTc && options.xdp_deliver) {
    return absl::InvalidArgumentError(
        "--decap-delivery=xdp needs --ingress=xdp (with --ingress=tc no XDP "
        "program runs)");
  }
  options.tunnel_gro = f.tunnel_gro;
  if (absl::Status size = ValidateBigTcpSize(f.big_tcp); !size.ok()) {
    return size;
  }
  options.big_tcp = static_cast<uint32_t>(f.big_tcp);
  absl::Status status = ValidateUnderlayOptions(options);
  if (!status.ok()) return status;
  return options;
}

int Run(const std::vector<std::string>& args, const CliFlags& flags,
        std::ostream& out, std::ostream& err) {
  if (args.empty()) {
    err << HelpText();
    return 2;
  }
  for (const Command& c : Commands()) {
    if (c.name != args[0]) continue;
    if (args.size() > 1) {
      err << "ovx-loader " << c.name << ": unexpected argument '" << args[1]
          << "' (flags are --name=value)\n";
      return 2;
    }
    BridgeLibraryLogs(flags.verbose);
    absl::Status status = c.run(flags, out);
    if (status.ok()) return 0;
    err << "ovx-loader " << c.name << ": " << status.message() << "\n";
    return 1;
  }
  err << "ovx-loader: unknown command '" << args[0]
      << "' (try 'ovx-loader help')\n";
  return 2;
}

}  // namespace ovx::loader
