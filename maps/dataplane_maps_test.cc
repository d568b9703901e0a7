#include "maps/dataplane_maps.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

namespace ovx::maps {
namespace {

TEST(ParseMacTest, TakesBothCasesAndFormatsLower) {
  absl::StatusOr<Mac> mac = ParseMac("02:aB:0c:FF:00:9e");
  ASSERT_TRUE(mac.ok()) << mac.status();
  EXPECT_EQ(*mac, (Mac{0x02, 0xab, 0x0c, 0xff, 0x00, 0x9e}));
  EXPECT_EQ(FormatMac(mac->data()), "02:ab:0c:ff:00:9e");
}

TEST(ParseMacTest, RefusesWhatIsNotSixHexOctets) {
  for (const char* bad :
       {"", "02:00:00:00:00", "02:00:00:00:00:00:00", "02:00:00:00:00:0g",
        "02:00:00:00:00: 5", "02:00:00:00:00:+5", "02:00:00:00:00:-1",
        "02-00-00-00-00-00", "2:00:00:00:00:000", "02:00:00:00:00:00 ",
        "020000000000"}) {
    absl::StatusOr<Mac> mac = ParseMac(bad);
    EXPECT_FALSE(mac.ok()) << "'" << bad << "'";
    if (!mac.ok()) {
      EXPECT_EQ(mac.status().message(),
                absl::StrCat("'", bad,
                             "' is not a MAC address (expected "
                             "aa:bb:cc:dd:ee:ff)"));
    }
  }
}

}  // namespace
}  // namespace ovx::maps
