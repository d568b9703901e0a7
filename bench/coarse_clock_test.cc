#include "bench/coarse_clock.h"

#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace ovx::bench {
namespace {

constexpr double kRounding = 0.5;

// Runs of true length ns (plus jitter) read off a clock of the given step,
// started at a random phase; the conversion to ns adds 1 half the time, so
// a reading is 0.5 ns long on average (kRounding).
std::vector<uint32_t> ReadOffClock(double ns, double jitter, uint32_t step,
                                   size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> phase(0, step);
  std::uniform_real_distribution<double> noise(-jitter, jitter);
  std::bernoulli_distribution round_up(0.5);
  std::vector<uint32_t> out;
  for (size_t i = 0; i < n; ++i) {
    double start = phase(rng);
    double end = start + ns + noise(rng);
    auto ticks =
        static_cast<uint32_t>(end / step) - static_cast<uint32_t>(start / step);
    out.push_back(ticks * step + (round_up(rng) ? 1 : 0));
  }
  return out;
}

TEST(FindClockGrid, FindsTheStepOfACoarseClock) {
  auto s = ReadOffClock(291, 0, 10, 5000, 1);
  ClockGrid g = FindClockGrid(s);
  EXPECT_EQ(g.step, 10u);
  EXPECT_NEAR(g.centre, 0.5, 0.2);
}

TEST(FindClockGrid, FindsNoStepOnAFineClock) {
  std::mt19937 rng(2);
  std::uniform_int_distribution<uint32_t> ns(250, 330);
  std::vector<uint32_t> s;
  for (int i = 0; i < 5000; ++i) s.push_back(ns(rng));
  EXPECT_EQ(FindClockGrid(s).step, 1u);
}

TEST(FindClockGrid, FindsNoStepInTwoModesOnAFineClock) {
  // Two separate humps, as a fine clock shows a fast and a slow mode: the
  // distance between them is no clock step.
  std::mt19937 rng(6);
  std::uniform_int_distribution<uint32_t> fast(90, 112), slow(250, 281);
  std::vector<uint32_t> s;
  for (int i = 0; i < 5000; ++i) s.push_back(i % 3 ? fast(rng) : slow(rng));
  EXPECT_EQ(FindClockGrid(s).step, 1u);
}

TEST(FindClockGrid, FindsTheStepWhenSomeStepsReadOnlyOneWay) {
  // As seen on the EPYC VMs: 330/331, then 341 and 351 without their
  // lower neighbour.
  std::vector<uint32_t> s;
  for (auto [value, n] : {std::pair<uint32_t, int>{330, 300},
                          {331, 500},
                          {341, 900},
                          {351, 800},
                          {110, 700},
                          {111, 200}})
    s.insert(s.end(), n, value);
  ClockGrid g = FindClockGrid(s);
  EXPECT_EQ(g.step, 10u);
  EXPECT_NEAR(g.centre, 0.8, 0.3);
}

TEST(FindClockGrid, ToleratesAFewOffGridReadings) {
  auto s = ReadOffClock(305, 30, 10, 950, 3);
  for (uint32_t odd = 0; odd < 40; ++odd) s.push_back(345 + odd % 20);
  EXPECT_EQ(FindClockGrid(s).step, 10u);
}

TEST(GridMedian, RecoversATrueLengthBetweenTicks) {
  for (double ns : {281.0, 285.0, 288.5, 291.0, 296.0, 299.0}) {
    auto s = ReadOffClock(ns, 0, 10, 20000, 4);
    ClockGrid g = FindClockGrid(s);
    ASSERT_EQ(g.step, 10u) << ns;
    EXPECT_NEAR(GridMedian(s, g), ns + kRounding, 1.0) << ns;
  }
}

TEST(GridMedian, RecoversTheMedianOfJitteredRuns) {
  // Symmetric jitter of +-15 ns around 195: the median is 195.
  auto s = ReadOffClock(195, 15, 10, 40000, 5);
  EXPECT_NEAR(GridMedian(s, FindClockGrid(s)), 195 + kRounding, 1.0);
}

TEST(GridMedian, IsThePlainMedianOnAFineClock) {
  std::vector<uint32_t> s = {90, 100, 101, 250, 102};
  EXPECT_EQ(GridMedian(s, ClockGrid{}), 101);
  std::vector<uint32_t> even = {90, 100, 102, 250};
  EXPECT_EQ(GridMedian(even, ClockGrid{}), 101);
}

TEST(GridMedian, EmptyIsZero) {
  EXPECT_EQ(GridMedian({}, ClockGrid{10, 0.5}), 0);
}

}  // namespace
}  // namespace ovx::bench
