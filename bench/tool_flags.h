// Command-line flags of the bench tools (ovx_prog_cost, ovx_rr, ...).
//
// gflags' own --help lists every flag linked into the binary, its own
// completion and XML-help flags first. A tool's --help here shows the tool's
// usage and the flags its main file defines, and nothing else.
#ifndef OVX_BENCH_TOOL_FLAGS_H_
#define OVX_BENCH_TOOL_FLAGS_H_

#include <string>

namespace ovx::bench {

// The usage message, then the flags defined in `main_file` (its __FILE__).
std::string ToolHelp(const char* main_file);

// gflags::ParseCommandLineFlags, but --help prints ToolHelp(main_file) and
// exits 0. gflags' other help flags (--helpfull, --version) work as before.
void ParseToolFlags(int* argc, char*** argv, const char* main_file);

}  // namespace ovx::bench

#endif  // OVX_BENCH_TOOL_FLAGS_H_
