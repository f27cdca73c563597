#include "tools/loadgen/arrivals.h"

namespace switchyard::loadgen {

PoissonArrivals::PoissonArrivals(double rate, uint64_t seed) : rng_(seed), gap_(rate) {}

double PoissonArrivals::Next() {
  const double at = now_;
  now_ += gap_(rng_);
  return at;
}

}  // namespace switchyard::loadgen
