#include "maps/dataplane_maps.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <vector>

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

// The claim in ovx_abi.h: a /16 of one network spreads over every slot,
// so none of its endpoints is left to the hash.
TEST(EndpointSlotIndexTest, ASlash16OfOneNetworkTakesEverySlotOnce) {
  static_assert(OVX_ENDPOINT_SLOTS == 1u << 16);
  for (uint32_t vni : {1u, 100u, OVX_VNI_MAX}) {
    std::vector<bool> taken(OVX_ENDPOINT_SLOTS);
    uint32_t distinct = 0;
    for (uint32_t host = 0; host < (1u << 16); ++host) {
      const uint32_t index =
          ovx_endpoint_slot_index(vni, htonl(0x0a0a0000u | host));
      ASSERT_LT(index, OVX_ENDPOINT_SLOTS);
      if (!taken[index]) ++distinct;
      taken[index] = true;
    }
    EXPECT_EQ(distinct, OVX_ENDPOINT_SLOTS) << "vni " << vni;
  }
}

}  // namespace
}  // namespace ovx::maps
