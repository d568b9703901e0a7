// The ovx-loader command line without gflags: the flag values as a plain
// struct, the subcommand table and the help text. loader_main.cc only binds
// gflags to CliFlags and calls Run.
#ifndef OVX_LOADER_CLI_H_
#define OVX_LOADER_CLI_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "loader/loader.h"

namespace ovx::loader {

struct CliFlags {
  std::string iface;
  std::string vtep;
  std::string xdp_mode = "native";
  int32_t vxlan_port = OVX_VXLAN_PORT_DEFAULT;
  std::string sport_range = "49152-65535";
  std::string decap_delivery = "tc";
  std::string ingress = "auto";  // auto, xdp or tc
  bool tunnel_gro = true;
  int64_t big_tcp = 0;  // bytes; 0: leave the underlay's sizes alone
  std::string bpffs = OVX_BPFFS_DEFAULT;
  bool endpoint = false;
  bool all = false;
  bool purge_maps = false;
  bool json = false;
  int32_t count = 0;
  bool verbose = false;
};

// One subcommand: its name, a one-line summary, its usage with examples,
// and what it runs.
struct Command {
  absl::string_view name;
  absl::string_view summary;
  absl::string_view usage;
  absl::Status (*run)(const CliFlags& flags, std::ostream& out);
};
const std::vector<Command>& Commands();

// Every subcommand and flag, with examples.
std::string HelpText();

// "MIN-MAX" with 1 <= MIN <= MAX <= 65535.
absl::StatusOr<std::pair<uint16_t, uint16_t>> ParsePortRange(
    absl::string_view text);
absl::StatusOr<UnderlayOptions> UnderlayOptionsFromFlags(const CliFlags& f);

// Runs the subcommand named by args[0]; prints errors as one line on err.
// Returns the process exit code.
int Run(const std::vector<std::string>& args, const CliFlags& flags,
        std::ostream& out, std::ostream& err);

}  // namespace ovx::loader

#endif  // OVX_LOADER_CLI_H_
