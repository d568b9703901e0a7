#include "bench/tool_flags.h"

#include <gflags/gflags.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

DEFINE_int32(tool_flags_test_rounds, 3, "rounds of the made-up tool");

namespace ovx::bench {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ToolHelpTest, ShowsTheUsageAndOnlyTheMainFilesFlags) {
  gflags::SetUsageMessage("tool --tool_flags_test_rounds=N\nDoes nothing.");
  const std::string help = ToolHelp(__FILE__);
  EXPECT_THAT(help, HasSubstr(": tool --tool_flags_test_rounds=N\nDoes nothing."));
  EXPECT_THAT(help, HasSubstr("-tool_flags_test_rounds (rounds of the made-up "
                              "tool) type: int32 default: 3"));
  // gflags' own flags, defined in its sources, stay out.
  EXPECT_THAT(help, Not(HasSubstr("flagfile")));
  EXPECT_THAT(help, Not(HasSubstr("tab_completion")));
  EXPECT_THAT(help, Not(HasSubstr("helpxml")));
}

TEST(ToolHelpTest, AFileThatDefinesNoFlagListsNone) {
  const std::string help = ToolHelp("no/such/file.cc");
  EXPECT_THAT(help, HasSubstr("Flags:\n"));
  EXPECT_THAT(help, Not(HasSubstr(" type: ")));
}

}  // namespace
}  // namespace ovx::bench
