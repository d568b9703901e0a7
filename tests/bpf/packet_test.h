// Table-driven packet tests: one Case = input packet, expected verdict,
// expected output bytes, expected metadata and the one counter that must
// move. RunCase() loads the object with the case's config, fills the maps
// with the world, runs the program once and checks all of it, including
// that no other counter moved.
#ifndef OVX_TESTS_BPF_PACKET_TEST_H_
#define OVX_TESTS_BPF_PACKET_TEST_H_

#include <unistd.h>

#include <functional>
#include <optional>
#include <ostream>
#include <string>

#include "gtest/gtest.h"
#include "tests/bpf/programs.h"
#include "tests/bpf/world.h"
#include "tests/lib/bpf_test_util.h"
#include "tests/lib/packet_builder.h"

namespace ovx::testing {

enum class Iface { kNone, kHostA, kHostB, kHostR, kUnderlay };
uint32_t Resolve(Iface iface);

// Offset of the outer UDP source port in an encapsulated frame.
inline constexpr size_t kOuterSportOffset = 14 + 20;

// The outer source port tc_endpoint picks when the skb carries no hash
// (a BPF_PROG_TEST_RUN skb never does): the multiplicative hash of the
// inner addresses, protocol and ports (bpf/lib/vxlan.h), mapped into
// [min, max].
// Restated here as the test's oracle.
uint16_t FlowSport(in_addr saddr, in_addr daddr, uint8_t proto, uint16_t sport,
                   uint16_t dport, uint16_t min = OVX_SPORT_MIN_DEFAULT,
                   uint16_t max = OVX_SPORT_MAX_DEFAULT);

struct Case {
  std::string name;
  Bytes in;
  Iface iface = Iface::kHostA;  // tc: skb->dev
  Bytes meta_in;                // xdp: metadata in front of the packet
  uint32_t retval = 0;
  std::optional<Bytes> out;         // nullopt: output must equal input
  Iface meta_iface = Iface::kNone;  // xdp: expected ovx_xdp_meta's ifindex
  uint32_t dir = OVX_DIR_EGRESS;
  uint32_t reason = 0;  // the one counter that moves; 0: none
  std::function<void(ovx_config&)> config;
};

inline void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

inline std::string CaseName(const ::testing::TestParamInfo<Case>& info) {
  return info.param.name;
}

// Fails (CI=true) or skips the current test when not root.
#define OVX_REQUIRE_ROOT()                                            \
  do {                                                                \
    if (geteuid() != 0) {                                             \
      if (::ovx::testing::InCi()) FAIL() << "packet tests need root"; \
      GTEST_SKIP() << "packet tests need root";                       \
    }                                                                 \
  } while (0)

enum class Hook { kTc, kXdp };

template <typename LoadFn>
void RunCase(const Case& c, Hook hook, LoadFn load) {
  const World& world = TheWorld();
  ovx_config cfg = NodeConfig(world);
  if (c.config) c.config(cfg);
  auto loaded = load(cfg);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_TRUE(FillMaps(world, loaded->fds).ok());

  auto before = ReadCounters(loaded->fds.counters);
  ASSERT_TRUE(before.ok()) << before.status();
  absl::StatusOr<RunResult> run =
      hook == Hook::kXdp ? RunXdp(loaded->prog_fd, c.in, c.meta_in)
                         : RunSkb(loaded->prog_fd, c.in, Resolve(c.iface));
  ASSERT_TRUE(run.ok()) << run.status();
  auto after = ReadCounters(loaded->fds.counters);
  ASSERT_TRUE(after.ok()) << after.status();

  EXPECT_EQ(run->retval, c.retval);
  const Bytes want = c.out.value_or(c.in);
  EXPECT_TRUE(want == run->out) << DiffBytes(want, run->out);
  if (hook == Hook::kXdp) {
    Bytes want_meta;
    if (c.meta_iface != Iface::kNone) {
      want_meta = MetaBytes(OVX_XDP_META_MAGIC, Resolve(c.meta_iface));
    }
    EXPECT_TRUE(want_meta == run->meta) << DiffBytes(want_meta, run->meta);
  }
  EXPECT_EQ(CheckOnlyCounter(*before, *after, c.dir, c.reason, c.in.size()),
            "");

  // A drop, and only a drop, is reported on the events ring.
  auto events = DrainDropEvents(loaded->fds.events);
  ASSERT_TRUE(events.ok()) << events.status();
  if (c.reason >= OVX_FIRST_DROP) {
    ASSERT_EQ(events->size(), 1u);
    EXPECT_EQ((*events)[0].reason, c.reason);
    EXPECT_EQ((*events)[0].dir, c.dir);
    EXPECT_NE((*events)[0].timestamp_ns, 0u);
  } else {
    EXPECT_EQ(events->size(), 0u);
  }
}

}  // namespace ovx::testing

#endif  // OVX_TESTS_BPF_PACKET_TEST_H_
