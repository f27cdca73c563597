// A small, fully specified random number generator. The std:: distributions
// are implementation-defined, so a seeded request would draw different tokens
// under different standard libraries; this one gives the same stream everywhere.
#pragma once

#include <cstdint>

namespace switchyard::engine {

// SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number
// generators", OOPSLA 2014): 64 bits of state, passes BigCrush, and every seed,
// 0 included, is a good one, which suits user-chosen per-request seeds.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}

  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

  // Uniform in [0, 1): the top 53 bits scaled by 2^-53, exact in a double.
  double NextDouble() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

}  // namespace switchyard::engine
