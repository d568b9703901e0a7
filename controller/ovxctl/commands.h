// ovxctl's subcommands as a table, independent of gflags so that they can be
// tested directly: ovxctl_main.cc turns argv into an Invocation.
#ifndef OVX_CONTROLLER_OVXCTL_COMMANDS_H_
#define OVX_CONTROLLER_OVXCTL_COMMANDS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "controller/registry/backend.h"

namespace ovx::controller {

struct Invocation {
  std::vector<std::string> words;            // "endpoint", "add", "web1"
  std::map<std::string, std::string> flags;  // flags given: "ip" -> "10.1.0.5"
  bool json = false;                         // machine-readable output
  // How the registry was opened (URL, TLS files): `migrate` opens its
  // target with the same TLS files.
  RegistryOptions registry;
};

// Names of the per-command flags (ovxctl_main.cc defines one string flag
// for each; a flag given to a command that does not take it is an error).
const std::vector<std::string>& CommandFlagNames();

// Runs one command against the registry and returns what to print. Any
// error is one line and leaves the registry unchanged.
absl::StatusOr<std::string> RunCommand(RegistryBackend& registry,
                                       const Invocation& invocation);

// The --help text: every command with its flags, and examples.
std::string Usage();

}  // namespace ovx::controller

#endif  // OVX_CONTROLLER_OVXCTL_COMMANDS_H_
