// Closed-loop clients against the engine service, as a load generator runs
// them: with --max-num-seqs 4 --max-waiting 4, eight clients never have more
// than four requests really waiting, so none may be refused as overloaded
// (they once were, 10-20% of them, when requests queued for slots that
// finished requests had just freed were counted as waiting).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "server/service/engine_service.h"
#include "tests/server/service/server_test_util.h"

namespace switchyard::server {
namespace {

TEST(EngineQueueTest, ClosedLoopClientsWithinCapacityAreNeverRefused) {
  EngineServiceConfig config = EngineConfig();
  config.engine.scheduler.max_num_seqs = 4;
  config.engine.scheduler.max_waiting = 4;
  std::unique_ptr<EngineService> engine = StartEngine(config);
  ASSERT_NE(engine, nullptr);

  constexpr int kClients = 8;
  constexpr int kRequestsPerClient = 12;
  std::atomic<int> ok{0}, refused{0}, other{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      for (int r = 0; r < kRequestsPerClient; ++r) {
        std::mutex mu;
        std::condition_variable cv;
        bool done = false;
        absl::Status error;
        EngineSubmission s;
        s.prompt_ids = {1, 20 + c, 30 + r};
        s.sampling.temperature = 0;
        s.sampling.max_tokens = 4;  // all alike, so requests admitted together finish together
        s.sampling.ignore_eos = true;
        s.on_output = [&](const EngineOutput& o) {
          if (o.error.ok() && !o.output.finish) return;
          std::lock_guard<std::mutex> lock(mu);
          error = o.error;
          done = true;
          cv.notify_one();
        };
        ASSERT_TRUE(engine->Submit(std::move(s)).ok());
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return done; });
        if (error.ok()) {
          ++ok;
        } else if (absl::IsUnavailable(error)) {
          ++refused;
        } else {
          ++other;
        }
      }
    });
  }
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(refused.load(), 0) << "of " << kClients * kRequestsPerClient;
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(ok.load(), kClients * kRequestsPerClient);
  // The snapshot is published after the step that delivered the last end.
  EngineSnapshot snap = engine->snapshot();
  for (int i = 0; i < 500 && snap.scheduler.num_free_blocks != snap.scheduler.num_blocks; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    snap = engine->snapshot();
  }
  EXPECT_EQ(snap.scheduler.num_free_blocks, snap.scheduler.num_blocks);
}

}  // namespace
}  // namespace switchyard::server
