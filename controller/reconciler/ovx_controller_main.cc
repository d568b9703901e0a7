// ovx-controller: keeps this node's ovx maps equal to the registry.
#include <gflags/gflags.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "controller/reconciler/controller.h"
#include "loader/loader.h"

namespace {

const char* RegistryDefault() {
  const char* env = std::getenv("OVX_REGISTRY");
  return env != nullptr && *env != '\0' ? env
                                        : ovx::controller::kDefaultRegistryUrl;
}

}  // namespace

DEFINE_string(node, "", "This node's name in the registry (required).");
DEFINE_string(registry, RegistryDefault(),
              "Registry URL: file:PATH or etcd://HOST:PORT[,HOST:PORT...]. "
              "Default: $OVX_REGISTRY, else file:/var/lib/ovx/registry.json.");
DEFINE_string(
    bpffs, OVX_BPFFS_DEFAULT,
    "bpffs directory holding the maps pinned by 'ovx-loader attach'.");
DEFINE_bool(once, false,
            "Reconcile once and exit: non-zero if anything failed.");
DEFINE_string(resync_interval, "5m",
              "How often to reload the whole registry and re-read the maps "
              "(repairs missed events and hand edits); 0 disables. "
              "Go-style duration: 30s, 5m.");
DEFINE_bool(verbose, false, "Also show libbpf/libxdp info messages.");

namespace {

std::atomic<ovx::controller::Controller*> g_controller{nullptr};

void OnSignal(int) {
  if (auto* c = g_controller.load()) c->Stop();
}

void Log(absl::string_view line) {
  std::string out =
      absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                                    absl::UTCTimeZone()),
                   " ", line, "\n");
  std::fwrite(out.data(), 1, out.size(), stderr);
}

// gflags wants --resync_interval; accept the --resync-interval spelling too.
void NormalizeFlagNames(int argc, char** argv,
                        std::vector<std::string>& storage) {
  storage.assign(argv, argv + argc);
  for (int i = 1; i < argc; ++i) {
    std::string& arg = storage[i];
    if (arg == "--") break;
    if (arg.rfind("--", 0) != 0) continue;
    for (size_t j = 2; j < arg.size() && arg[j] != '='; ++j) {
      if (arg[j] == '-') arg[j] = '_';
    }
    argv[i] = arg.data();
  }
}

bool WantsHelp(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") break;
    if (arg == "-h" || arg == "--help" || arg == "-help" ||
        arg == "--helpshort") {
      return true;
    }
  }
  return false;
}

// gflags' own --help lists every linked-in flag; show only ours.
void PrintHelp() {
  std::fprintf(stdout, "%s\n\nFlags:\n", gflags::ProgramUsage());
  std::vector<gflags::CommandLineFlagInfo> flags;
  gflags::GetAllFlags(&flags);
  for (const auto& flag : flags) {
    if (flag.filename != __FILE__) continue;
    std::fprintf(stdout, "%s", gflags::DescribeOneFlag(flag).c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "ovx-controller --node=NAME [--registry=URL] [--bpffs=DIR] [--once]\n"
      "\n"
      "Keeps this node's ovx maps equal to what the registry says: local\n"
      "endpoints, the remote endpoints, VTEPs and networks they talk to.\n"
      "It diffs what the maps hold against what they must hold and writes\n"
      "only the difference (adds before removes, never a flush), attaches\n"
      "the TC program to each local endpoint interface as it appears, and\n"
      "follows the registry (watch) and interface events (netlink).\n"
      "\n"
      "Needs 'ovx-loader attach --iface=... --vtep=...' first. If the node\n"
      "is not in the registry yet, it waits (with --once: fails).\n"
      "SIGTERM/SIGINT stop it without touching the maps: packets keep\n"
      "flowing on the last state. See docs/controller.md.");
  std::vector<std::string> args;
  NormalizeFlagNames(argc, argv, args);
  if (WantsHelp(argc, argv)) {
    PrintHelp();
    return 0;
  }
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  if (argc > 1) {
    std::fprintf(stderr,
                 "ovx-controller: unexpected argument '%s' (see --help)\n",
                 argv[1]);
    return 2;
  }
  if (FLAGS_node.empty()) {
    std::fprintf(stderr,
                 "ovx-controller: --node=NAME is required (see --help)\n");
    return 2;
  }
  absl::Duration resync;
  if (!absl::ParseDuration(FLAGS_resync_interval, &resync) ||
      resync < absl::ZeroDuration()) {
    std::fprintf(stderr,
                 "ovx-controller: --resync-interval=%s is not a duration "
                 "(e.g. 30s, 5m, 0)\n",
                 FLAGS_resync_interval.c_str());
    return 2;
  }
  ovx::loader::BridgeLibraryLogs(FLAGS_verbose);

  ovx::controller::ControllerOptions options;
  options.node = FLAGS_node;
  options.registry.url = FLAGS_registry;
  options.bpffs = FLAGS_bpffs;
  options.once = FLAGS_once;
  options.resync_interval = resync;
  options.log = Log;
  auto controller = ovx::controller::Controller::Create(options);
  if (!controller.ok()) {
    std::fprintf(stderr, "ovx-controller: %s\n",
                 std::string(controller.status().message()).c_str());
    return 1;
  }
  g_controller = controller->get();
  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);

  absl::Status status = (*controller)->Run();
  g_controller = nullptr;
  if (!status.ok()) {
    std::fprintf(stderr, "ovx-controller: %s\n",
                 std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
