// The emulator's scheduler: how one kernel runs. Blocks run one after
// another; a block's threads are ucontext fibers that run until they reach a
// barrier, and the scheduler releases a barrier once every thread it waits
// for is there. emulated_runtime.cc decides when a kernel runs.
#include "tests/engine/cuda/emulator/cuda_emulator.h"

#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace cuda_emulator {
namespace {

constexpr size_t kStackBytes = 256 * 1024;

enum class State { kRunnable, kAtSyncThreads, kAtWarpCall, kDone };

struct Fiber {
  ucontext_t context;
  ThreadIndex index;
  State state = State::kRunnable;
  unsigned mask = 0;      // of the warp call it waits at
  uint64_t value = 0;     // its contribution to that call
  int src_lane = 0;       // whose contribution it reads
  uint64_t result = 0;
};

struct Block {
  std::vector<Fiber> fibers;
  ucontext_t scheduler;
  int current = 0;
  const std::function<void()>* body = nullptr;
  std::vector<unsigned char> dynamic_shared;
  std::string violation;  // empty while the block is well-behaved
};

Block* g_block = nullptr;

// Fiber stacks with a guard page below each, so that an overflow faults
// instead of corrupting a neighbour; kept for the next launch.
void* Stack(size_t i) {
  static std::vector<void*> stacks;
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  while (stacks.size() <= i) {
    void* p = mmap(nullptr, kStackBytes + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) std::abort();
    mprotect(p, page, PROT_NONE);
    stacks.push_back(static_cast<char*>(p) + page);
  }
  return stacks[i];
}

void FiberMain() {
  (*g_block->body)();
  g_block->fibers[g_block->current].state = State::kDone;
  // Returning resumes the scheduler (uc_link).
}

void Yield(State state) {
  Fiber& f = g_block->fibers[g_block->current];
  f.state = state;
  swapcontext(&f.context, &g_block->scheduler);
}

std::string Describe(const uint3& v) { return absl::StrCat("(", v.x, ",", v.y, ",", v.z, ")"); }

void Fail(Block& b, const std::string& what) {
  if (b.violation.empty()) b.violation = what;
}

// Releases every warp call whose lanes are all there; false if none.
bool ReleaseWarpCalls(Block& b) {
  bool released = false;
  const int threads = static_cast<int>(b.fibers.size());
  for (int base = 0; base < threads; base += 32) {
    int first = -1;
    for (int t = base; t < std::min(base + 32, threads) && first < 0; ++t) {
      if (b.fibers[t].state == State::kAtWarpCall) first = t;
    }
    if (first < 0) continue;
    const unsigned mask = b.fibers[first].mask;
    bool complete = true;
    for (int lane = 0; lane < 32; ++lane) {
      const int t = base + lane;
      const bool named = (mask >> lane) & 1u;
      if (!named) {
        if (t < threads && b.fibers[t].state == State::kAtWarpCall) {
          Fail(b, absl::StrCat("lanes of warp ", base / 32, " wait at warp calls with different masks"));
        }
        continue;
      }
      if (t >= threads) {
        Fail(b, absl::StrCat("a warp call's mask names lane ", lane, ", which a block of ", threads,
                             " threads does not have"));
        return false;
      }
      if (b.fibers[t].state == State::kDone) {
        Fail(b, absl::StrCat("a warp call's mask names thread ", t, ", which has exited"));
        return false;
      }
      if (b.fibers[t].state != State::kAtWarpCall) complete = false;
    }
    if (!complete) continue;
    for (int lane = 0; lane < 32; ++lane) {
      if (!((mask >> lane) & 1u)) continue;
      Fiber& f = b.fibers[base + lane];
      if (!((mask >> f.src_lane) & 1u)) {
        Fail(b, absl::StrCat("thread ", base + lane, " reads lane ", f.src_lane, ", outside the warp call's mask"));
        return false;
      }
      f.result = b.fibers[base + f.src_lane].value;
    }
    for (int lane = 0; lane < 32; ++lane) {
      if ((mask >> lane) & 1u) b.fibers[base + lane].state = State::kRunnable;
    }
    released = true;
  }
  return released;
}

// Releases __syncthreads once every thread still running is there.
bool ReleaseSyncThreads(Block& b) {
  bool any = false;
  for (const Fiber& f : b.fibers) {
    if (f.state == State::kDone) continue;
    if (f.state != State::kAtSyncThreads) return false;
    any = true;
  }
  for (Fiber& f : b.fibers) {
    if (f.state == State::kAtSyncThreads) f.state = State::kRunnable;
  }
  return any;
}

std::string DescribeDeadlock(const Block& b) {
  int at_sync = -1, at_warp = -1;
  for (int t = 0; t < static_cast<int>(b.fibers.size()); ++t) {
    if (b.fibers[t].state == State::kAtSyncThreads && at_sync < 0) at_sync = t;
    if (b.fibers[t].state == State::kAtWarpCall && at_warp < 0) at_warp = t;
  }
  return absl::StrCat("threads wait at different barriers (thread ", at_sync, " at __syncthreads, thread ", at_warp,
                      " at a warp call)");
}

// Runs thread t until it reaches a barrier or ends. A function of its own:
// the frame that calls swapcontext must hold no variable live across it.
__attribute__((noinline)) void Resume(Block& b, int t) {
  b.current = t;
  swapcontext(&b.scheduler, &b.fibers[t].context);
}

// Thread t, ready to start the kernel on its own stack (the same reasoning).
__attribute__((noinline)) void Start(Block& b, size_t t) {
  Fiber& f = b.fibers[t];
  getcontext(&f.context);
  f.context.uc_stack.ss_sp = Stack(t);
  f.context.uc_stack.ss_size = kStackBytes;
  f.context.uc_link = &b.scheduler;
  makecontext(&f.context, FiberMain, 0);
}

void RunBlock(Block& b) {
  for (size_t t = 0; t < b.fibers.size(); ++t) Start(b, t);
  for (;;) {
    for (int t = 0; t < static_cast<int>(b.fibers.size()); ++t) {
      if (b.fibers[t].state != State::kRunnable) continue;
      Resume(b, t);
      if (!b.violation.empty()) return;  // the block is abandoned where it stands
    }
    if (ReleaseWarpCalls(b) || ReleaseSyncThreads(b)) continue;
    if (!b.violation.empty()) return;
    bool all_done = true;
    for (const Fiber& f : b.fibers) all_done = all_done && f.state == State::kDone;
    if (!all_done) Fail(b, DescribeDeadlock(b));
    return;
  }
}

}  // namespace

const ThreadIndex& Current() { return g_block->fibers[g_block->current].index; }

void SyncThreads() { Yield(State::kAtSyncThreads); }

uint64_t WarpExchange(unsigned mask, uint64_t value, int src_lane) {
  Fiber& f = g_block->fibers[g_block->current];
  if (!((mask >> (f.index.thread_idx.x % 32)) & 1u)) Violation("a lane calls a warp function outside its own mask");
  f.mask = mask;
  f.value = value;
  f.src_lane = src_lane;
  Yield(State::kAtWarpCall);
  return f.result;
}

void* DynamicShared() { return g_block->dynamic_shared.data(); }

void Violation(const char* what) {
  Fail(*g_block, absl::StrCat(what, " (thread ", Describe(Current().thread_idx), ")"));
  Yield(State::kDone);
  std::abort();  // never resumed
}

std::string ExecuteKernel(const LaunchConfig& config, const std::function<void()>& body) {
  const uint64_t threads = uint64_t{config.block.x} * config.block.y * config.block.z;
  Block b;
  b.body = &body;
  b.fibers.resize(threads);
  // Dynamic shared memory starts as NaNs, so that a read before a write shows.
  b.dynamic_shared.assign(std::max<size_t>(config.shared_bytes, 1), 0xff);
  g_block = &b;
  for (unsigned bz = 0; bz < config.grid.z; ++bz) {
    for (unsigned by = 0; by < config.grid.y; ++by) {
      for (unsigned bx = 0; bx < config.grid.x; ++bx) {
        for (uint64_t t = 0; t < threads; ++t) {
          Fiber& f = b.fibers[t];
          f.state = State::kRunnable;
          f.index.thread_idx = {static_cast<unsigned>(t % config.block.x),
                                static_cast<unsigned>(t / config.block.x % config.block.y),
                                static_cast<unsigned>(t / (uint64_t{config.block.x} * config.block.y))};
          f.index.block_idx = {bx, by, bz};
          f.index.block_dim = config.block;
          f.index.grid_dim = config.grid;
        }
        RunBlock(b);
        if (!b.violation.empty()) {
          g_block = nullptr;
          return absl::StrCat(b.violation, " in block ", Describe({bx, by, bz}));
        }
      }
    }
  }
  g_block = nullptr;
  return "";
}

}  // namespace cuda_emulator
