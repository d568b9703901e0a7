#include "bench/coarse_clock.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace ovx::bench {

namespace {

// Steps tried, coarsest first. Finer than 3 ns is left as it is: a
// reading's 1 ns of rounding already spans two of its values.
constexpr uint32_t kMinStep = 3;
constexpr uint32_t kMaxStep = 20;
// Readings held by fewer samples than this share do not set the grid.
constexpr double kLevelShare = 0.01;
// How far (ns) a reading may lie from its grid point: the rounding. A
// level's centre, a mean of such readings, is off by at most 1 ns.
constexpr double kOnGridNs = 1.5;
constexpr double kLevelOnGridNs = 1.0;
constexpr double kOnGridShare = 0.9;

// Distance from x to the nearest multiple of step.
double OffGrid(double x, double step) {
  return std::abs(x - std::round(x / step) * step);
}

struct Level {
  double centre = 0;  // mean of its readings
  size_t count = 0;
};

// Frequent readings in runs of neighbours (at most 2 ns apart): the
// readings of one clock step, rounded either way.
std::vector<Level> Levels(const std::map<uint32_t, size_t>& count,
                          size_t samples) {
  std::vector<Level> levels;
  double sum = 0;
  uint32_t last = 0;
  for (const auto& [value, n] : count) {
    if (n < kLevelShare * samples) continue;
    if (levels.empty() || value > last + 2) {
      if (!levels.empty()) levels.back().centre = sum / levels.back().count;
      levels.push_back({});
      sum = 0;
    }
    levels.back().count += n;
    sum += static_cast<double>(value) * n;
    last = value;
  }
  if (!levels.empty()) levels.back().centre = sum / levels.back().count;
  return levels;
}

}  // namespace

double Percentile(std::vector<uint32_t> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  double pos = q * (v.size() - 1);
  size_t lo = static_cast<size_t>(pos);
  size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - lo) * (static_cast<double>(v[hi]) - v[lo]);
}

ClockGrid FindClockGrid(const std::vector<uint32_t>& samples) {
  std::map<uint32_t, size_t> count;
  for (uint32_t s : samples) ++count[s];
  std::vector<Level> levels = Levels(count, samples.size());
  if (levels.size() < 2) return {};
  const Level& biggest = *std::max_element(
      levels.begin(), levels.end(),
      [](const Level& a, const Level& b) { return a.count < b.count; });
  // The step that fits the levels best, the coarser of two that fit alike
  // (every multiple of the step fits as well as the step).
  uint32_t best_step = 0;
  double best_misfit = kLevelOnGridNs;
  for (uint32_t step = kMaxStep; step >= kMinStep; --step) {
    double misfit = 0;
    for (const Level& l : levels)
      misfit = std::max(misfit, OffGrid(l.centre - biggest.centre, step));
    if (misfit < best_misfit - 0.01) best_step = step, best_misfit = misfit;
  }
  if (best_step == 0) return {};
  // Nearly every sample must lie on that grid, not just the levels.
  size_t on_grid = 0;
  for (const auto& [value, n] : count)
    if (OffGrid(value - biggest.centre, best_step) <= kOnGridNs) on_grid += n;
  if (on_grid < kOnGridShare * samples.size()) return {};
  // The grid's centre: where the levels sit on average, by their samples.
  double shift = 0;
  size_t in_levels = 0;
  for (const Level& l : levels) {
    double d = l.centre - biggest.centre;
    shift += (d - std::round(d / best_step) * best_step) * l.count;
    in_levels += l.count;
  }
  double centre = std::fmod(biggest.centre + shift / in_levels, best_step);
  return {best_step, centre < 0 ? centre + best_step : centre};
}

double GridMedian(const std::vector<uint32_t>& samples, ClockGrid grid) {
  if (samples.empty()) return 0;
  if (grid.step <= 1) return Percentile(samples, 0.5);
  // Step k is the interval of width step around step * k + centre; a
  // reading counts for the step it lies in.
  const double step = grid.step;
  std::map<int64_t, size_t> per_step;
  for (uint32_t s : samples) ++per_step[std::llround((s - grid.centre) / step)];
  const double half = samples.size() / 2.0;
  double below = 0;
  for (const auto& [k, n] : per_step) {
    if (below + n >= half) {
      double low_edge = k * step + grid.centre - step / 2;
      return low_edge + (half - below) / n * step;
    }
    below += n;
  }
  return Percentile(samples, 0.5);  // not reached
}

}  // namespace ovx::bench
