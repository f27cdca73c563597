// When the CPU backend splits work across its OpenMP threads.
#pragma once

#include <cstdint>

namespace switchyard::engine::cpu {

// Below this many multiply-adds an operation runs on the calling thread:
// waking the other threads costs microseconds, far more than the work, and on
// a shared machine a barrier can wait a whole scheduler slice for a sibling.
constexpr int64_t kMinParallelMacs = int64_t{1} << 18;

}  // namespace switchyard::engine::cpu
