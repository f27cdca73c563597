// SWITCHYARD_CHECK: a programmer invariant, checked in every build. A broken
// one aborts with the condition and its place. Unlike assert, it is not
// compiled out of Release builds (NDEBUG), which is what CI and users run:
// with assert, the block manager's double-free guard that the scheduler's
// property test relies on checked nothing there. Errors a caller can cause
// are absl::Status, never this.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace switchyard {

[[noreturn]] inline void CheckFailed(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, condition);
  std::abort();
}

}  // namespace switchyard

#define SWITCHYARD_CHECK(condition) \
  ((condition) ? static_cast<void>(0) : ::switchyard::CheckFailed(#condition, __FILE__, __LINE__))
