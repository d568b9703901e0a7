// Medians of run times read off a coarse clock.
//
// BPF_PROG_TEST_RUN times a run with the kernel's clock. Where that clock
// ticks in steps of several nanoseconds (10 ns on the AMD EPYC VMs this
// suite runs on: its TSC advances 24-25 cycles at a time), a run time is a
// whole number of steps, give or take 1 ns of conversion, and a plain
// median moves in whole steps. The step is found from the samples
// themselves, and the median is interpolated inside the step that holds
// it, as for grouped data. Each run starts at a random phase of the clock,
// so a run of true length d reads as the step below or above it, in
// proportion: the interpolated median of runs that all take d is d, to
// within a tenth of a step.
#ifndef OVX_BENCH_COARSE_CLOCK_H_
#define OVX_BENCH_COARSE_CLOCK_H_

#include <cstdint>
#include <vector>

namespace ovx::bench {

// The samples' grid: readings sit at step * k + centre, give or take the
// 1 ns of rounding. step 1: no grid (a fine clock).
struct ClockGrid {
  uint32_t step = 1;
  double centre = 0;  // in [0, step)
};

// The q-quantile (0..1) of v, interpolated between neighbours; 0 if empty.
double Percentile(std::vector<uint32_t> v, double q);

// The coarsest step, of 3 to 20 ns, that puts every frequent reading and
// at least 90% of all samples on one grid; step 1 when there is none.
ClockGrid FindClockGrid(const std::vector<uint32_t>& samples);

// The median of samples, each standing for the step of grid around it,
// interpolated linearly inside the step that holds the middle sample. The
// plain median for step 1.
double GridMedian(const std::vector<uint32_t>& samples, ClockGrid grid);

}  // namespace ovx::bench

#endif  // OVX_BENCH_COARSE_CLOCK_H_
