// How the CPU backend's OpenMP threads wait, set by the program itself.
//
// libgomp's default (no OMP_WAIT_POLICY) spins 300,000 rounds at every
// barrier before it sleeps. Alone on its cores that keeps a decode step fast;
// beside another busy process it burns the time slice that the thread it
// waits for needs, and a decode step gets several times slower.
// OMP_WAIT_POLICY=passive never spins and is slower alone. A bounded spin of
// 1,000 rounds (GOMP_SPINCOUNT) measured as fast as the default alone and
// nearly as robust as passive beside a busy process; 10,000 kept less of
// passive's robustness (bench/RESULTS.md, "Threads on shared cores").
//
// libgomp reads these variables once, when it loads, before main runs; so a
// program that starts without either set runs itself again with
// GOMP_SPINCOUNT set. A user's own OMP_WAIT_POLICY or GOMP_SPINCOUNT wins.
#pragma once

#include <unistd.h>

#include <cstdlib>

namespace switchyard {

inline constexpr const char kBoundedSpinCount[] = "1000";

// Call first thing in main. Returns only when no restart is needed or the
// restart failed (then the default policy stays; nothing else changes).
inline void BoundOpenMpSpinning(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr) return;
  if (::setenv("GOMP_SPINCOUNT", kBoundedSpinCount, 1) != 0) return;
  ::execv("/proc/self/exe", argv);
  ::unsetenv("GOMP_SPINCOUNT");  // exec failed: the environment stays as it was
}

}  // namespace switchyard
