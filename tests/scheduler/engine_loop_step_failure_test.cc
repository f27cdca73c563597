// A backend error on one step, at the engine loop: the step's requests end
// with INTERNAL (and no finish reason), their KV blocks are freed, the
// failure is counted, and later requests run as if nothing happened; an
// error marked unrecoverable is returned as is.
// A sampled row whose logits held a NaN or +inf (the backend reports it)
// ends that request alone, the same way.
#include <gtest/gtest.h>

#include <limits>
#include <map>

#include "absl/strings/str_cat.h"
#include "engine/backend.h"
#include "engine/backend_registry.h"
#include "engine/model_loader.h"
#include "scheduler/engine_loop.h"
#include "tests/engine/forwarding_backend.h"

namespace switchyard::scheduler {
namespace {

// The CPU backend, failing Forward call number `fail_at` (from 0) with
// `error`, or reporting `poison` at token 17 of sampled row `poison_row` of
// call `poison_at` (as a backend does when a row of logits held it).
class FailingBackend : public engine::test::ForwardingBackend {
 public:
  using ForwardingBackend::ForwardingBackend;
  absl::StatusOr<engine::ForwardResult> Forward(const engine::Batch& batch) override {
    const int call = calls_++;
    if (call == fail_at) return error;
    absl::StatusOr<engine::ForwardResult> result = ForwardingBackend::Forward(batch);
    if (result.ok() && call == poison_at) result->samples[poison_row].non_finite = engine::NonFiniteLogit{17, poison};
    return result;
  }
  int calls() const { return calls_; }

  int fail_at = -1;
  absl::Status error;
  int poison_at = -1;
  size_t poison_row = 0;
  float poison = 0;

 private:
  int calls_ = 0;
};

struct Outcome {
  std::vector<int32_t> tokens;
  std::vector<FinishReason> finishes;
  std::vector<absl::Status> errors;
};

class EngineLoopStepFailureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto weights = engine::LoadModel({std::string(SWITCHYARD_SOURCE_DIR) + "/tests/fixtures/mixtral"});
    ASSERT_TRUE(weights.ok()) << weights.status();
    inner_ = std::move(*engine::CreateBackend("cpu", {512, 64}));
    engine::KvCacheConfig kv;
    kv.num_blocks = 16;
    ASSERT_TRUE(inner_->Load(std::move(*weights), kv).ok());
    backend_ = std::make_unique<FailingBackend>(*inner_);
    loop_ = std::move(*EngineLoop::Create(*backend_, SchedulerConfig{}));
  }

  EngineRequest Request(RequestId id) {
    EngineRequest r;
    r.id = id;
    r.prompt_ids = {1, 415, 293, 7, 99, 12, 300, 42};
    r.sampling.temperature = 0;
    r.sampling.max_tokens = 6;
    r.sampling.ignore_eos = true;
    r.on_output = [this, id](const RequestOutput& o) {
      if (o.token) got_[id].tokens.push_back(o.token->token);
      if (o.finish) got_[id].finishes.push_back(*o.finish);
      if (!o.error.ok()) got_[id].errors.push_back(o.error);
    };
    return r;
  }

  std::unique_ptr<engine::Backend> inner_;
  std::unique_ptr<FailingBackend> backend_;
  std::unique_ptr<EngineLoop> loop_;
  std::map<RequestId, Outcome> got_;
};

TEST_F(EngineLoopStepFailureTest, TheFailedStepsRequestsEndAndTheLoopGoesOn) {
  // Reference: request 9 alone, undisturbed.
  ASSERT_TRUE(loop_->Submit(Request(9)).ok());
  ASSERT_TRUE(loop_->RunUntilIdle().ok());
  const std::vector<int32_t> reference = got_[9].tokens;
  ASSERT_EQ(reference.size(), 6u);

  // Requests 1 and 2 decode together; their third step fails.
  ASSERT_TRUE(loop_->Submit(Request(1)).ok());
  ASSERT_TRUE(loop_->Submit(Request(2)).ok());
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(loop_->Step().ok());
  backend_->fail_at = 6 + 2;  // 6 steps for request 9, then two
  backend_->error = absl::ResourceExhaustedError("injected: out of workspace");
  const absl::StatusOr<bool> failed = loop_->Step();
  ASSERT_TRUE(failed.ok()) << failed.status();
  EXPECT_TRUE(*failed);
  for (RequestId id : {1, 2}) {
    const Outcome& o = got_[id];
    EXPECT_EQ(o.tokens.size(), 2u) << id;
    EXPECT_TRUE(o.finishes.empty()) << id;
    ASSERT_EQ(o.errors.size(), 1u) << id;
    EXPECT_EQ(o.errors[0].code(), absl::StatusCode::kInternal);
    EXPECT_EQ(o.errors[0].message(),
              "the engine step failed (2 requests, 2 tokens): RESOURCE_EXHAUSTED: injected: out of workspace");
  }
  EXPECT_TRUE(loop_->idle());
  EXPECT_EQ(loop_->scheduler().stats().num_free_blocks, backend_->num_kv_blocks());
  EXPECT_TRUE(loop_->scheduler().CheckInvariants().ok());
  EXPECT_EQ(loop_->num_failed_steps(), 1);
  EXPECT_EQ(loop_->last_step_error().message(), "injected: out of workspace");

  // The next request gets exactly the undisturbed tokens.
  ASSERT_TRUE(loop_->Submit(Request(3)).ok());
  ASSERT_TRUE(loop_->RunUntilIdle().ok());
  EXPECT_EQ(got_[3].tokens, reference);
  EXPECT_EQ(got_[3].finishes, std::vector<FinishReason>{FinishReason::kLength});
}

TEST_F(EngineLoopStepFailureTest, ANonFiniteLogitEndsThatRequestAloneAndTheOthersFinish) {
  ASSERT_TRUE(loop_->Submit(Request(9)).ok());
  ASSERT_TRUE(loop_->RunUntilIdle().ok());
  const std::vector<int32_t> reference = got_[9].tokens;
  ASSERT_EQ(reference.size(), 6u);

  for (const float poison : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    got_.clear();
    // Requests 1 and 2 decode together; in their third step, request 2's row
    // (the second) holds the poison.
    ASSERT_TRUE(loop_->Submit(Request(1)).ok());
    ASSERT_TRUE(loop_->Submit(Request(2)).ok());
    ASSERT_TRUE(loop_->Step().ok());  // both prefills
    ASSERT_TRUE(loop_->Step().ok());
    backend_->poison_at = backend_->calls();
    backend_->poison_row = 1;
    backend_->poison = poison;
    ASSERT_TRUE(loop_->RunUntilIdle().ok());

    EXPECT_EQ(got_[1].tokens, reference) << "the other request of the step is undisturbed";
    EXPECT_EQ(got_[1].finishes, std::vector<FinishReason>{FinishReason::kLength});
    EXPECT_TRUE(got_[1].errors.empty());
    EXPECT_EQ(got_[2].tokens.size(), 2u);
    EXPECT_TRUE(got_[2].finishes.empty());
    ASSERT_EQ(got_[2].errors.size(), 1u);
    EXPECT_EQ(got_[2].errors[0].code(), absl::StatusCode::kInternal);
    EXPECT_EQ(got_[2].errors[0].message(),
              absl::StrCat("the model produced a non-finite logit (", poison,
                           " for token id 17) after 2 generated tokens; the request was ended"));
    EXPECT_EQ(loop_->scheduler().stats().num_free_blocks, backend_->num_kv_blocks());
    EXPECT_TRUE(loop_->scheduler().CheckInvariants().ok());
  }
  EXPECT_EQ(loop_->num_failed_requests(), 2);
  EXPECT_EQ(loop_->num_failed_steps(), 0);
}

TEST_F(EngineLoopStepFailureTest, RunUntilIdleReturnsTheStepError) {
  backend_->fail_at = 0;
  backend_->error = absl::InternalError("injected");
  ASSERT_TRUE(loop_->Submit(Request(1)).ok());
  EXPECT_EQ(loop_->RunUntilIdle(), absl::InternalError("injected"));
  EXPECT_EQ(got_[1].errors.size(), 1u);
}

TEST_F(EngineLoopStepFailureTest, AnUnrecoverableErrorIsReturnedAsIs) {
  backend_->fail_at = 0;
  backend_->error = engine::MarkUnrecoverable(absl::InternalError("injected: device lost"));
  ASSERT_TRUE(loop_->Submit(Request(1)).ok());
  const absl::StatusOr<bool> step = loop_->Step();
  ASSERT_FALSE(step.ok());
  EXPECT_TRUE(engine::IsUnrecoverable(step.status()));
  EXPECT_EQ(step.status().message(), "injected: device lost");
  EXPECT_EQ(loop_->num_failed_steps(), 0);
  EXPECT_FALSE(engine::IsUnrecoverable(absl::InternalError("plain")));
}

}  // namespace
}  // namespace switchyard::scheduler
