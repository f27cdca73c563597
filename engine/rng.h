// A small, fully specified random number generator. The std:: distributions
// are implementation-defined, so a seeded request would draw different tokens
// under different standard libraries; this one gives the same stream everywhere.
#pragma once

#include <cstdint>

// The CUDA sampler draws from the same stream on the device.
#if defined(__CUDACC__)
#define SWITCHYARD_HOST_DEVICE __host__ __device__
#else
#define SWITCHYARD_HOST_DEVICE
#endif

namespace switchyard::engine {

// SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number
// generators", OOPSLA 2014): 64 bits of state, passes BigCrush, and every seed,
// 0 included, is a good one, which suits user-chosen per-request seeds.
//
// Its state after n draws is seed + n * kGamma, so a stream's position is a
// number that a backend can be handed (RowSampling::rng_state) instead of a
// generator it must keep; the CUDA sampler draws the same numbers.
class SplitMix64 {
 public:
  static constexpr uint64_t kGamma = 0x9e3779b97f4a7c15ull;

  SWITCHYARD_HOST_DEVICE explicit SplitMix64(uint64_t seed) : state_(seed) {}

  // The state `draws` draws after `state`.
  SWITCHYARD_HOST_DEVICE static constexpr uint64_t Advance(uint64_t state, uint64_t draws) {
    return state + draws * kGamma;
  }

  SWITCHYARD_HOST_DEVICE uint64_t Next() {
    uint64_t z = (state_ += kGamma);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

  // Uniform in [0, 1): the top 53 bits scaled by 2^-53, exact in a double.
  SWITCHYARD_HOST_DEVICE double NextDouble() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

}  // namespace switchyard::engine
