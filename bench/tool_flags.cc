#include "bench/tool_flags.h"

#include <gflags/gflags.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

DECLARE_bool(help);  // gflags' own

namespace ovx::bench {

std::string ToolHelp(const char* main_file) {
  std::string help = gflags::ProgramInvocationShortName();
  help += ": ";
  help += gflags::ProgramUsage();
  help += "\n\nFlags:\n";
  std::vector<gflags::CommandLineFlagInfo> flags;
  gflags::GetAllFlags(&flags);
  for (const gflags::CommandLineFlagInfo& flag : flags) {
    if (flag.filename == main_file) help += gflags::DescribeOneFlag(flag);
  }
  return help;
}

void ParseToolFlags(int* argc, char*** argv, const char* main_file) {
  gflags::ParseCommandLineNonHelpFlags(argc, argv, /*remove_flags=*/true);
  if (FLAGS_help) {
    std::fputs(ToolHelp(main_file).c_str(), stdout);
    std::exit(0);
  }
  gflags::HandleCommandLineHelpFlags();
}

}  // namespace ovx::bench
