// The open loop's arrival times: a Poisson process, i.e. independent
// exponentially distributed gaps with mean 1/rate, as vLLM's benchmark_serving
// sends them. Requests are sent at these times whether or not earlier ones
// have finished, so a slow server faces a growing queue instead of a lower
// offered load.
#pragma once

#include <cstdint>
#include <random>

namespace switchyard::loadgen {

class PoissonArrivals {
 public:
  // rate > 0 requests per second; the same seed gives the same times.
  PoissonArrivals(double rate, uint64_t seed);

  // The next arrival, in seconds since the start: 0 first (the benchmark
  // starts with a request), then each after an independent exponential gap.
  double Next();

 private:
  std::mt19937_64 rng_;
  std::exponential_distribution<double> gap_;
  double now_ = 0;
};

}  // namespace switchyard::loadgen
