// A backend error on one step: the requests in that step end with INTERNAL
// saying the step failed and why, their KV blocks are freed, the failure is
// counted, and the engine serves the next requests. Only an error the backend
// marks unrecoverable (engine::MarkUnrecoverable) stops it for good, with
// health NOT_SERVING. The backend is the CPU one behind a wrapper that holds
// or fails chosen Forward calls.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <optional>

#include "engine/backend.h"
#include "engine/backend_registry.h"
#include "server/generate_command.h"
#include "server/service/grpc_server.h"
#include "server/service/metrics.h"
#include "switchyard/v1/switchyard.grpc.pb.h"
#include "tests/engine/forwarding_backend.h"
#include "tests/server/service/server_test_util.h"

namespace switchyard::server {
namespace {

// Which Forward calls (counted from 0, warm-up included) to hold until
// released, and which to fail with `error`.
struct Faults {
  std::atomic<int> calls{0};
  std::atomic<int> hold_at{-1};
  std::atomic<int> fail_at{-1};
  absl::Status error;  // set before fail_at
  std::mutex mu;
  std::condition_variable cv;
  bool holding = false;
  bool released = false;

  void Release() {
    std::lock_guard<std::mutex> lock(mu);
    released = true;
    cv.notify_all();
  }
  void WaitHolding() {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [this] { return holding; });
  }
};

class FaultyBackend : public engine::test::ForwardingBackend {
 public:
  FaultyBackend(std::unique_ptr<engine::Backend> inner, Faults& faults)
      : ForwardingBackend(std::move(inner)), faults_(faults) {}
  absl::StatusOr<engine::ForwardResult> Forward(const engine::Batch& batch) override {
    const int call = faults_.calls++;
    if (call == faults_.hold_at) {
      std::unique_lock<std::mutex> lock(faults_.mu);
      faults_.holding = true;
      faults_.cv.notify_all();
      faults_.cv.wait(lock, [this] { return faults_.released; });
    }
    if (call == faults_.fail_at) return faults_.error;
    return ForwardingBackend::Forward(batch);
  }

 private:
  Faults& faults_;
};

// A request's terminal event, delivered on the engine thread.
struct Outcome {
  std::promise<std::pair<absl::Status, int>> done;  // error, tokens generated
  int tokens = 0;
};

EngineSubmission Request(Outcome& outcome) {
  EngineSubmission s;
  s.prompt_ids = {1, 385, 447, 369};
  s.sampling.temperature = 0;
  s.sampling.max_tokens = 8;
  s.sampling.ignore_eos = true;
  s.on_output = [&outcome](const EngineOutput& o) {
    if (o.output.token) ++outcome.tokens;
    if (!o.error.ok() || o.output.finish) outcome.done.set_value({o.error, outcome.tokens});
  };
  return s;
}

grpc::Status GenerateOnce(v1::Switchyard::Stub& stub) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::GenerateRequest request;
  request.set_text("The yard master");
  request.mutable_stopping()->set_max_tokens(4);
  v1::GenerateResponse response;
  return stub.Generate(&ctx, request, &response);
}

class EngineStepFailureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EngineServiceConfig config = EngineConfig();
    config.engine.scheduler.max_num_seqs = 2;  // a third request waits outside the failing step
    config.create_backend = [this](std::string_view name, const engine::StepCapacity& capacity) -> absl::StatusOr<std::unique_ptr<engine::Backend>> {
      absl::StatusOr<std::unique_ptr<engine::Backend>> inner = engine::CreateBackend(name, capacity);
      if (!inner.ok()) return inner.status();
      return std::unique_ptr<engine::Backend>(new FaultyBackend(std::move(*inner), faults_));
    };
    engine_ = StartEngine(config);
    ASSERT_NE(engine_, nullptr);
    tokenizer_ = *LoadTokenizer(kMixtral);
    metrics_ = *Metrics::Start({"127.0.0.1:0"}, *engine_);
    GrpcServerConfig c = LoopbackServerConfig();
    server_ = *GrpcServer::Start(c, *engine_, *tokenizer_, metrics_.get());
    channel_ = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
    stub_ = v1::Switchyard::NewStub(channel_);
    ASSERT_EQ(WaitForHealth(channel_, "", kServing), kServing);
  }
  void TearDown() override {
    server_.reset();
    metrics_.reset();
    engine_.reset();
  }

  Faults faults_;
  std::unique_ptr<EngineService> engine_;
  std::unique_ptr<engine::Tokenizer> tokenizer_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<GrpcServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Switchyard::Stub> stub_;
};

TEST_F(EngineStepFailureTest, AFailedStepEndsItsRequestsAndTheEngineGoesOn) {
  // W's first step is held while A and B queue up behind it; the step after
  // it (W decoding, A prefilling; B waits for a slot) fails.
  const int next = faults_.calls.load();
  faults_.hold_at = next;
  faults_.error = absl::InternalError("injected: 9000 tokens exceed the backend's capacity of 8192");
  faults_.fail_at = next + 1;
  Outcome w, a, b;
  ASSERT_TRUE(engine_->Submit(Request(w)).ok());
  faults_.WaitHolding();
  ASSERT_TRUE(engine_->Submit(Request(a)).ok());
  ASSERT_TRUE(engine_->Submit(Request(b)).ok());
  faults_.Release();

  for (Outcome* failed : {&w, &a}) {
    const auto [error, tokens] = failed->done.get_future().get();
    EXPECT_EQ(error.code(), absl::StatusCode::kInternal) << error;
    EXPECT_NE(error.message().find("engine step failed"), std::string::npos) << error;
    EXPECT_NE(error.message().find("injected: 9000 tokens exceed"), std::string::npos) << error;
  }
  // B was not in the failed step: it runs to the end.
  const auto [b_error, b_tokens] = b.done.get_future().get();
  EXPECT_TRUE(b_error.ok()) << b_error;
  EXPECT_EQ(b_tokens, 8);

  // The next request is served, health stays SERVING, every KV block is free
  // and the failure is counted once.
  const grpc::Status next_call = GenerateOnce(*stub_);
  EXPECT_TRUE(next_call.ok()) << next_call.error_code() << ": " << next_call.error_message();
  EXPECT_EQ(HealthStatus(channel_, ""), kServing);
  // (The snapshot is published after the step that ended the last call.)
  EngineSnapshot snap = engine_->snapshot();
  for (int i = 0; i < 500 && snap.scheduler.num_free_blocks != snap.scheduler.num_blocks; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    snap = engine_->snapshot();
  }
  EXPECT_EQ(snap.scheduler.num_free_blocks, snap.scheduler.num_blocks);
  EXPECT_EQ(snap.scheduler.num_running + snap.scheduler.num_waiting, 0);
  EXPECT_EQ(snap.num_failed_steps, 1);
  const std::string text = Scrape(metrics_->port());
  EXPECT_NE(text.find("\nswitchyard_engine_step_failures_total 1\n"), std::string::npos) << text;
}

TEST_F(EngineStepFailureTest, AnUnrecoverableErrorStopsTheEngineForGood) {
  faults_.error = engine::MarkUnrecoverable(absl::InternalError("injected: device lost"));
  faults_.fail_at = faults_.calls.load();
  Outcome r;
  ASSERT_TRUE(engine_->Submit(Request(r)).ok());
  const auto [error, tokens] = r.done.get_future().get();
  EXPECT_EQ(error.code(), absl::StatusCode::kInternal) << error;
  EXPECT_NE(error.message().find("injected: device lost"), std::string::npos) << error;

  EXPECT_EQ(WaitForHealth(channel_, "", kNotServing), kNotServing);
  EXPECT_EQ(WaitForHealth(channel_, "switchyard.v1.Switchyard", kNotServing), kNotServing);
  const grpc::Status next_call = GenerateOnce(*stub_);
  EXPECT_EQ(next_call.error_code(), grpc::StatusCode::UNAVAILABLE) << next_call.error_message();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // several watchdog polls
  EXPECT_EQ(HealthStatus(channel_, ""), kNotServing);
  EXPECT_TRUE(engine_->failed());
}

}  // namespace
}  // namespace switchyard::server
