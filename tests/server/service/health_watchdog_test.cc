// Health through a model's life, on the real gRPC server in process: the
// backend is the CPU one behind gates that hold its Load and Forward, so the
// test decides when loading ends and when the engine stalls.
#include "server/service/health_watchdog.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>

#include "engine/backend_registry.h"
#include "server/generate_command.h"
#include "server/service/grpc_server.h"
#include "switchyard/v1/switchyard.grpc.pb.h"
#include "tests/engine/forwarding_backend.h"
#include "tests/server/service/server_test_util.h"

namespace switchyard::server {
namespace {

class Gate {
 public:
  void Set(bool open) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      open_ = open;
    }
    cv_.notify_all();
  }
  void Pass() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

struct Gates {
  Gate load, forward;
};

class GatedBackend : public engine::test::ForwardingBackend {
 public:
  GatedBackend(std::unique_ptr<engine::Backend> inner, Gates& gates)
      : ForwardingBackend(std::move(inner)), gates_(gates) {}
  absl::Status Load(std::unique_ptr<engine::ModelWeights> weights, const engine::KvCacheConfig& kv) override {
    gates_.load.Pass();
    return ForwardingBackend::Load(std::move(weights), kv);
  }
  absl::StatusOr<engine::ForwardResult> Forward(const engine::Batch& batch) override {
    gates_.forward.Pass();
    return ForwardingBackend::Forward(batch);
  }

 private:
  Gates& gates_;
};

TEST(HealthWatchdogTest, LoadingServingStalledRecoveredDraining) {
  Gates gates;
  gates.forward.Set(true);
  EngineServiceConfig config = EngineConfig();
  config.create_backend = [&gates](std::string_view name, const engine::StepCapacity& capacity) -> absl::StatusOr<std::unique_ptr<engine::Backend>> {
    absl::StatusOr<std::unique_ptr<engine::Backend>> inner = engine::CreateBackend(name, capacity);
    if (!inner.ok()) return inner.status();
    return std::unique_ptr<engine::Backend>(new GatedBackend(std::move(*inner), gates));
  };
  std::unique_ptr<EngineService> engine = *EngineService::Start(config);
  std::unique_ptr<engine::Tokenizer> tokenizer = *LoadTokenizer(kMixtral);
  GrpcServerConfig c = LoopbackServerConfig();
  c.watchdog_timeout = absl::Milliseconds(300);
  std::unique_ptr<GrpcServer> server = *GrpcServer::Start(c, *engine, *tokenizer);
  auto channel = grpc::CreateChannel(server->address(), grpc::InsecureChannelCredentials());
  auto stub = v1::Switchyard::NewStub(channel);

  // Loading: the port answers, health says NOT_SERVING, calls UNAVAILABLE.
  EXPECT_EQ(HealthStatus(channel, ""), kNotServing);
  EXPECT_EQ(HealthStatus(channel, "switchyard.v1.Switchyard"), kNotServing);
  {
    grpc::ClientContext ctx;
    v1::ModelInfo info;
    const grpc::Status st = stub->GetModelInfo(&ctx, {}, &info);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_EQ(st.error_message(), "the model is still loading");
  }
  EXPECT_FALSE(engine->loaded());

  // Loaded and warmed up: SERVING.
  gates.load.Set(true);
  ASSERT_TRUE(engine->WaitUntilLoaded(absl::Now() + absl::Seconds(30)).ok());
  EXPECT_EQ(WaitForHealth(channel, "", kServing), kServing);

  // A step that does not finish with work pending: NOT_SERVING once the
  // watchdog's timeout passes.
  gates.forward.Set(false);
  v1::GenerateRequest request;
  request.mutable_token_ids()->add_ids(1);
  request.mutable_stopping()->set_max_tokens(4);
  request.mutable_stopping()->set_ignore_eos(true);
  grpc::ClientContext ctx;
  v1::GenerateResponse response;
  std::promise<grpc::Status> done;
  stub->async()->Generate(&ctx, &request, &response, [&done](grpc::Status s) { done.set_value(s); });
  EXPECT_EQ(WaitForHealth(channel, "", kNotServing), kNotServing);
  EXPECT_GE(engine->StalledFor(absl::Now()), absl::Milliseconds(300));

  // The engine moves again: SERVING, and the call completes.
  gates.forward.Set(true);
  EXPECT_EQ(WaitForHealth(channel, "", kServing), kServing);
  EXPECT_TRUE(done.get_future().get().ok());
  EXPECT_EQ(response.token_ids_size(), 4);
  EXPECT_EQ(engine->StalledFor(absl::Now()), absl::ZeroDuration());

  // Draining: NOT_SERVING for good.
  server->StartDraining();
  EXPECT_EQ(HealthStatus(channel, ""), kNotServing);
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(HealthStatus(channel, ""), kNotServing);
}

TEST(HealthWatchdogTest, AFailedLoadIsReportedAndCallsStayUnavailable) {
  EngineServiceConfig config = EngineConfig();
  config.engine.model.path = std::string(SWITCHYARD_SOURCE_DIR) + "/tests/fixtures/no_such_model";
  std::unique_ptr<EngineService> engine = *EngineService::Start(config);
  const absl::Status loaded = engine->WaitUntilLoaded(absl::Now() + absl::Seconds(30));
  EXPECT_FALSE(loaded.ok());
  EXPECT_NE(loaded.message().find("no_such_model"), std::string::npos) << loaded;
  EXPECT_FALSE(engine->loaded());
  EXPECT_TRUE(absl::IsUnavailable(engine->Submit({}).status()));
}

}  // namespace
}  // namespace switchyard::server
