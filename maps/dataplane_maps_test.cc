#include "maps/dataplane_maps.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <random>
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

// The claims in ovx_abi.h: a /16 of one network never shares a slot, so
// none of its endpoints is left to the hash ...
TEST(EndpointSlotIndexTest, ASlash16OfOneNetworkSharesNoSlot) {
  static_assert(OVX_ENDPOINT_SLOTS == 1u << 18);
  static_assert(OVX_ENDPOINT_SLOTS == OVX_MAX_ENDPOINTS);
  for (uint32_t vni : {1u, 100u, OVX_VNI_MAX}) {
    for (uint32_t net : {0x0a0a0000u, 0xc0a80000u}) {
      std::vector<bool> taken(OVX_ENDPOINT_SLOTS);
      uint32_t distinct = 0;
      for (uint32_t host = 0; host < (1u << 16); ++host) {
        const uint32_t index = ovx_endpoint_slot_index(vni, htonl(net | host));
        ASSERT_LT(index, OVX_ENDPOINT_SLOTS);
        if (!taken[index]) ++distinct;
        taken[index] = true;
      }
      EXPECT_EQ(distinct, 1u << 16) << "vni " << vni << " net " << net;
    }
  }
}

// ... and of 100,000 endpoints spread at random over networks and
// addresses, ~83% hold a slot (1 - e^-x over x = 100,000 / 2^18).
TEST(EndpointSlotIndexTest, MostOf100000RandomEndpointsHoldASlot) {
  std::mt19937 rng(1);
  std::uniform_int_distribution<uint32_t> vni(1, OVX_VNI_MAX);
  std::vector<bool> taken(OVX_ENDPOINT_SLOTS);
  uint32_t holding = 0;
  for (int i = 0; i < 100000; ++i) {
    const uint32_t index = ovx_endpoint_slot_index(vni(rng), rng());
    if (!taken[index]) ++holding;
    taken[index] = true;
  }
  EXPECT_GT(holding, 81000u);
  EXPECT_LT(holding, 85000u);
}

}  // namespace
}  // namespace ovx::maps
