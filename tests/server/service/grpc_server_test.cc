// The real gRPC server, in process on an ephemeral loopback port with the
// Mixtral fixture, called through a real gRPC client.
#include "server/service/grpc_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "nlohmann/json.hpp"
#include "server/generate_command.h"
#include "server/service/engine_service.h"
#include "server/service/generate_request.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/model_loader.h"
#include "tests/server/service/bad_generate_requests.h"
#include "tests/server/service/server_test_util.h"
#include "switchyard/v1/switchyard.grpc.pb.h"

namespace switchyard::server {
namespace {

// One server for the suite: loading and warming up the model once keeps the
// suite fast.
class GrpcServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tokenizer_ = LoadTokenizer(kMixtral)->release();
    engine_ = StartEngine(EngineConfig()).release();
    GrpcServerConfig c = LoopbackServerConfig();
    c.max_message_bytes = kMaxMessageBytes;
    c.model_name = "mixtral";
    server_ = GrpcServer::Start(c, *engine_, *tokenizer_)->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    delete engine_;
    delete tokenizer_;
  }

  void SetUp() override {
    channel_ = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
    stub_ = v1::Switchyard::NewStub(channel_);
  }

  static v1::GenerateRequest GreedyRequest(const Golden& g) {
    v1::GenerateRequest r;
    r.mutable_token_ids()->mutable_ids()->Add(g.ids.begin(), g.ids.end());
    r.mutable_sampling()->set_temperature(0);
    r.mutable_stopping()->set_max_tokens(static_cast<int32_t>(g.greedy.size()));
    r.mutable_stopping()->set_ignore_eos(true);
    return r;
  }

  v1::ModelInfo Info() {
    grpc::ClientContext ctx;
    v1::ModelInfo info;
    EXPECT_TRUE(stub_->GetModelInfo(&ctx, {}, &info).ok());
    return info;
  }

  // Every KV block is free again (within a few engine steps).
  void ExpectAllBlocksFreed() {
    v1::ModelInfo info;
    for (int i = 0; i < 500; ++i) {
      info = Info();
      if (info.kv_blocks_free() == info.kv_blocks_total() && info.num_running() == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL() << info.kv_blocks_free() << " of " << info.kv_blocks_total() << " blocks free, " << info.num_running()
           << " running";
  }

  static const engine::Tokenizer* tokenizer_;
  static EngineService* engine_;
  static GrpcServer* server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Switchyard::Stub> stub_;
};

const engine::Tokenizer* GrpcServerTest::tokenizer_ = nullptr;
EngineService* GrpcServerTest::engine_ = nullptr;
GrpcServer* GrpcServerTest::server_ = nullptr;

TEST_F(GrpcServerTest, HealthIsServing) {
  EXPECT_EQ(WaitForHealth(channel_, "", kServing), kServing);
  EXPECT_EQ(WaitForHealth(channel_, "switchyard.v1.Switchyard", kServing), kServing);
}

TEST_F(GrpcServerTest, UnaryGenerateMatchesGolden) {
  const Golden g = ReadGolden();
  grpc::ClientContext ctx;
  v1::GenerateRequest request = GreedyRequest(g);
  request.set_request_id("golden-1");
  v1::GenerateResponse response;
  const grpc::Status st = stub_->Generate(&ctx, request, &response);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(std::vector<int32_t>(response.token_ids().begin(), response.token_ids().end()), g.greedy);
  // The completion text after the prompt: the first token's "▁" reads " ".
  EXPECT_EQ(response.text(), " " + g.greedy_text);
  EXPECT_EQ(response.finish_reason(), v1::FINISH_REASON_LENGTH);
  EXPECT_EQ(response.request_id(), "golden-1");
  EXPECT_EQ(response.usage().prompt_tokens(), static_cast<int32_t>(g.ids.size()));
  EXPECT_EQ(response.usage().completion_tokens(), static_cast<int32_t>(g.greedy.size()));
  // Other tests may have cached this prompt's prefix; the last token is always computed.
  EXPECT_GE(response.usage().cached_prompt_tokens(), 0);
  EXPECT_LT(response.usage().cached_prompt_tokens(), response.usage().prompt_tokens());
  EXPECT_GT(response.timings().time_to_first_token_us(), 0);
  EXPECT_GE(response.timings().total_time_us(), response.timings().time_to_first_token_us());
  EXPECT_TRUE(response.logprobs().empty());
}

TEST_F(GrpcServerTest, TextPromptAndLogprobs) {
  const Golden g = ReadGolden();
  grpc::ClientContext ctx;
  v1::GenerateRequest request = GreedyRequest(g);
  request.set_text(g.text);  // replaces the ids: the tokenizer gives the same ones
  request.set_logprobs(3);
  v1::GenerateResponse response;
  ASSERT_TRUE(stub_->Generate(&ctx, request, &response).ok());
  EXPECT_EQ(std::vector<int32_t>(response.token_ids().begin(), response.token_ids().end()), g.greedy);
  ASSERT_EQ(response.logprobs_size(), static_cast<int>(g.greedy.size()));
  for (const v1::TokenLogprobs& lp : response.logprobs()) {
    ASSERT_EQ(lp.top_size(), 3);
    EXPECT_EQ(lp.top(0).token_id(), lp.token_id());  // greedy picks the best
  }
}

TEST_F(GrpcServerTest, StreamMatchesGolden) {
  const Golden g = ReadGolden();
  grpc::ClientContext ctx;
  auto reader = stub_->GenerateStream(&ctx, GreedyRequest(g));
  v1::GenerateStreamResponse msg;
  std::vector<int32_t> ids;
  std::string text;
  int ends = 0;
  v1::GenerationEnd end;
  while (reader->Read(&msg)) {
    ASSERT_EQ(ends, 0) << "a message after the end";
    if (msg.has_end()) {
      ++ends;
      end = msg.end();
      continue;
    }
    ids.insert(ids.end(), msg.chunk().token_ids().begin(), msg.chunk().token_ids().end());
    text += msg.chunk().text();
  }
  const grpc::Status st = reader->Finish();
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(ids, g.greedy);
  EXPECT_EQ(text, " " + g.greedy_text);
  EXPECT_EQ(ends, 1);
  EXPECT_EQ(end.finish_reason(), v1::FINISH_REASON_LENGTH);
  EXPECT_EQ(end.usage().completion_tokens(), static_cast<int32_t>(g.greedy.size()));
}

TEST_F(GrpcServerTest, StopStringEndsTheTextBeforeIt) {
  const Golden g = ReadGolden();
  // " with a clipboard and a cup of tea ..." stops before " cup".
  grpc::ClientContext ctx;
  v1::GenerateRequest request = GreedyRequest(g);
  request.mutable_stopping()->add_stop(" cup");
  auto reader = stub_->GenerateStream(&ctx, request);
  v1::GenerateStreamResponse msg;
  std::string text;
  v1::FinishReason finish = v1::FINISH_REASON_UNSPECIFIED;
  while (reader->Read(&msg)) {
    if (msg.has_chunk()) text += msg.chunk().text();
    if (msg.has_end()) finish = msg.end().finish_reason();
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(text, " " + g.greedy_text.substr(0, g.greedy_text.find(" cup")));
  EXPECT_EQ(finish, v1::FINISH_REASON_STOP);
}

TEST_F(GrpcServerTest, TokenizeDetokenizeAndModelInfo) {
  const Golden g = ReadGolden();
  {
    grpc::ClientContext ctx;
    v1::TokenizeRequest request;
    request.set_text(g.text);
    v1::TokenizeResponse response;
    ASSERT_TRUE(stub_->Tokenize(&ctx, request, &response).ok());
    EXPECT_EQ(std::vector<int32_t>(response.token_ids().begin(), response.token_ids().end()), g.ids);
  }
  {
    grpc::ClientContext ctx;
    v1::DetokenizeRequest request;
    request.mutable_token_ids()->Add(g.greedy.begin(), g.greedy.end());
    v1::DetokenizeResponse response;
    ASSERT_TRUE(stub_->Detokenize(&ctx, request, &response).ok());
    EXPECT_EQ(response.text(), g.greedy_text);
  }
  const v1::ModelInfo info = Info();
  EXPECT_EQ(info.name(), "mixtral");
  EXPECT_EQ(info.architecture(), "MixtralForCausalLM");
  EXPECT_EQ(info.num_layers(), 2);
  EXPECT_EQ(info.num_experts(), 8);
  EXPECT_EQ(info.top_k(), 2);
  EXPECT_EQ(info.context_length(), 512);
  EXPECT_EQ(info.vocab_size(), 512);
  EXPECT_EQ(info.dtype(), "F32");
  EXPECT_EQ(info.backend(), "cpu");
  EXPECT_GT(info.weight_bytes(), 0);
  EXPECT_GT(info.kv_cache_bytes(), 0);
  EXPECT_EQ(info.kv_blocks_total(), 128);
  EXPECT_GE(info.kv_blocks_cached(), 0);
  EXPECT_LE(info.kv_blocks_cached(), info.kv_blocks_total());
  EXPECT_GE(info.kv_blocks_evictable(), 0);
  EXPECT_LE(info.kv_blocks_evictable(), info.kv_blocks_cached());
}

// Automatic prefix caching (on by default): the same prompt again takes its
// full KV blocks from the cache, and generates the same tokens as when they
// were computed; a request with another cache_salt shares nothing.
TEST_F(GrpcServerTest, ASecondIdenticalPromptReusesTheCachedPrefix) {
  // 48 tokens: with the tests' 16-token KV blocks, two full blocks can come
  // from the cache (the last prompt token is always computed, for its logits).
  std::vector<int32_t> prompt;
  for (int32_t i = 0; i < 48; ++i) prompt.push_back(3 + (37 * i) % 500);
  // A salt no earlier request used (another test, a --gtest_repeat), so the
  // first request finds nothing; of the longest length accepted.
  static int run = 0;
  std::string salt = absl::StrCat("prefix-cache-test-", getpid(), "-", ++run, "-");
  salt.resize(kMaxCacheSaltBytes, 'x');
  auto request = [&prompt](const std::string& cache_salt) {
    v1::GenerateRequest r;
    r.mutable_token_ids()->mutable_ids()->Add(prompt.begin(), prompt.end());
    r.mutable_sampling()->set_temperature(0);
    r.mutable_stopping()->set_max_tokens(6);
    r.mutable_stopping()->set_ignore_eos(true);
    r.set_cache_salt(cache_salt);
    return r;
  };
  auto generate = [this](const v1::GenerateRequest& r) {
    grpc::ClientContext ctx;
    v1::GenerateResponse response;
    const grpc::Status st = stub_->Generate(&ctx, r, &response);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return response;
  };
  auto ids = [](const v1::GenerateResponse& r) {
    return std::vector<int32_t>(r.token_ids().begin(), r.token_ids().end());
  };

  const v1::GenerateResponse first = generate(request(salt));
  EXPECT_EQ(first.usage().prompt_tokens(), 48);
  EXPECT_EQ(first.usage().cached_prompt_tokens(), 0);
  const v1::GenerateResponse second = generate(request(salt));
  EXPECT_GE(second.usage().cached_prompt_tokens(), 16);
  EXPECT_LT(second.usage().cached_prompt_tokens(), 48);
  EXPECT_EQ(ids(second), ids(first));  // the cached KV is the KV the prompt computes

  // Another tenant's salt: nothing shared, and the same tokens.
  std::string other = salt;
  other.back() = 'y';
  const v1::GenerateResponse apart = generate(request(other));
  EXPECT_EQ(apart.usage().cached_prompt_tokens(), 0);
  EXPECT_EQ(ids(apart), ids(first));

  // The stream's GenerationEnd carries it too.
  grpc::ClientContext ctx;
  auto reader = stub_->GenerateStream(&ctx, request(salt));
  v1::GenerateStreamResponse msg;
  v1::GenerationEnd end;
  while (reader->Read(&msg)) {
    if (msg.has_end()) end = msg.end();
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_GE(end.usage().cached_prompt_tokens(), 16);
  EXPECT_EQ(end.usage().prompt_tokens(), 48);

  // Both salts' blocks stay cached once their requests end, no longer in use:
  // evictable, and counted free.
  ExpectAllBlocksFreed();
  const v1::ModelInfo info = Info();
  EXPECT_GE(info.kv_blocks_cached(), 4);
  EXPECT_EQ(info.kv_blocks_evictable(), info.kv_blocks_cached());
}

TEST_F(GrpcServerTest, ExpertLoadCountsTopKExpertsPerTokenInEveryLayer) {
  const Golden g = ReadGolden();
  grpc::ClientContext gen_ctx;
  v1::GenerateResponse generated;
  ASSERT_TRUE(stub_->Generate(&gen_ctx, GreedyRequest(g), &generated).ok());
  // The engine publishes a step's counts after the step's outputs went out:
  // once nothing shows as running, the call's last step is in.
  for (int i = 0; i < 200 && Info().num_running() != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  grpc::ClientContext ctx;
  v1::ExpertLoad load;
  ASSERT_TRUE(stub_->GetExpertLoad(&ctx, {}, &load).ok());
  EXPECT_EQ(load.num_layers(), 2);
  EXPECT_EQ(load.num_experts(), 8);
  EXPECT_GT(load.num_steps(), 0);
  ASSERT_EQ(load.layers_size(), 2);
  int64_t layer0_sum = 0;
  for (const v1::LayerExpertLoad& layer : load.layers()) {
    ASSERT_EQ(layer.tokens_size(), 8);
    ASSERT_EQ(layer.last_step_tokens_size(), 8);
    int64_t sum = 0;
    for (int64_t t : layer.tokens()) sum += t;
    if (layer.layer() == 0) layer0_sum = sum;
    // Each token goes to top_k experts, in every layer alike.
    EXPECT_EQ(sum % load.top_k(), 0);
    EXPECT_EQ(sum, layer0_sum);
    EXPECT_GE(layer.imbalance(), 1.0);
    EXPECT_LE(layer.imbalance(), 8.0);
    // The suite runs well within the one-minute window: every step is recent.
    ASSERT_EQ(layer.recent_tokens_size(), 8);
    for (int e = 0; e < 8; ++e) EXPECT_EQ(layer.recent_tokens(e), layer.tokens(e));
    EXPECT_DOUBLE_EQ(layer.recent_imbalance(), layer.imbalance());
    EXPECT_GE(layer.last_step_imbalance(), 0.0);
    EXPECT_LE(layer.last_step_imbalance(), 8.0);
  }
  EXPECT_EQ(load.window_seconds(), 60);
  // At least the prompt and the generated tokens of the call above.
  EXPECT_GE(layer0_sum, static_cast<int64_t>(g.ids.size() + g.greedy.size() - 1) * load.top_k());
}

// Each generated token's experts are those a single forward pass over the
// prompt and the tokens before it routes its position to: decoding through
// the KV cache routes exactly like recomputing everything.
TEST_F(GrpcServerTest, ReturnRoutingGivesTheExpertsOfEveryGeneratedToken) {
  const Golden g = ReadGolden();
  v1::GenerateRequest request = GreedyRequest(g);
  request.set_return_routing(true);
  grpc::ClientContext ctx;
  v1::GenerateResponse response;
  ASSERT_TRUE(stub_->Generate(&ctx, request, &response).ok());
  const engine::ModelConfig& c = engine_->model_config();
  const int32_t per_token = c.num_layers * c.top_k;
  ASSERT_EQ(response.routing_size(), response.token_ids_size());

  engine::CpuBackend reference;
  ASSERT_TRUE(reference.Load(*engine::LoadModel({kMixtral}), {16, 64}).ok());
  engine::Batch batch;
  batch.token_ids = g.ids;
  batch.token_ids.insert(batch.token_ids.end(), response.token_ids().begin(), response.token_ids().end() - 1);
  const int32_t n = static_cast<int32_t>(batch.token_ids.size());
  std::vector<int32_t> blocks(64);
  for (int32_t i = 0; i < 64; ++i) blocks[i] = i;
  batch.sequences.push_back({n, 0, blocks, engine::LogitsMode::kAll});
  batch.return_routing = true;
  const engine::ForwardResult all = *reference.Forward(batch);
  const size_t first = g.ids.size() - 1;  // the row that produced the first generated token
  for (int i = 0; i < response.routing_size(); ++i) {
    const auto& experts = response.routing(i).experts();
    ASSERT_EQ(experts.size(), per_token);
    const std::vector<int32_t> expected(all.routed_experts.begin() + (first + i) * per_token,
                                        all.routed_experts.begin() + (first + i + 1) * per_token);
    EXPECT_EQ(std::vector<int32_t>(experts.begin(), experts.end()), expected) << "token " << i;
    for (int32_t e : experts) EXPECT_TRUE(e >= 0 && e < c.num_experts) << e;
  }

  // The stream carries the same routing, chunk by chunk.
  grpc::ClientContext stream_ctx;
  auto reader = stub_->GenerateStream(&stream_ctx, request);
  v1::GenerateStreamResponse msg;
  std::vector<std::string> streamed;
  while (reader->Read(&msg)) {
    for (const v1::TokenRouting& r : msg.chunk().routing()) streamed.push_back(r.SerializeAsString());
  }
  ASSERT_TRUE(reader->Finish().ok());
  ASSERT_EQ(streamed.size(), static_cast<size_t>(response.routing_size()));
  for (int i = 0; i < response.routing_size(); ++i) EXPECT_EQ(streamed[i], response.routing(i).SerializeAsString());
}

TEST_F(GrpcServerTest, WithoutReturnRoutingNoRoutingIsSent) {
  grpc::ClientContext ctx;
  v1::GenerateResponse response;
  ASSERT_TRUE(stub_->Generate(&ctx, GreedyRequest(ReadGolden()), &response).ok());
  EXPECT_EQ(response.routing_size(), 0);
}

TEST_F(GrpcServerTest, WatchExpertLoadPushesUntilCancelled) {
  grpc::ClientContext ctx;
  v1::WatchExpertLoadRequest request;
  request.set_interval_ms(100);
  auto reader = stub_->WatchExpertLoad(&ctx, request);
  v1::ExpertLoad load;
  const absl::Time start = absl::Now();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(reader->Read(&load)) << i;
    EXPECT_EQ(load.num_layers(), 2);
    EXPECT_EQ(load.num_experts(), 8);
    EXPECT_EQ(load.window_seconds(), 60);
    ASSERT_EQ(load.layers_size(), 2);
    EXPECT_EQ(load.layers(0).recent_tokens_size(), 8);
  }
  // Right away, then every 100 ms.
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(190));
  ctx.TryCancel();
  while (reader->Read(&load)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(GrpcServerTest, WatchExpertLoadRefusesABadInterval) {
  grpc::ClientContext ctx;
  v1::WatchExpertLoadRequest request;
  request.set_interval_ms(5);
  auto reader = stub_->WatchExpertLoad(&ctx, request);
  v1::ExpertLoad load;
  EXPECT_FALSE(reader->Read(&load));
  const grpc::Status st = reader->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(), "interval_ms is 5; must be in [100, 3600000], or 0 for 1000");
}

TEST_F(GrpcServerTest, BadRequestsGetTheirExactStatus) {
  ExpectEachBadRequestGetsItsStatus(*stub_, GreedyRequest(ReadGolden()), kMaxMessageBytes);
  grpc::ClientContext ctx;
  v1::DetokenizeRequest detok;
  detok.add_token_ids(600);
  v1::DetokenizeResponse response;
  EXPECT_EQ(stub_->Detokenize(&ctx, detok, &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(HealthStatus(channel_, ""), 1);  // still healthy
  ExpectAllBlocksFreed();
}

TEST_F(GrpcServerTest, CancelMidStreamFreesTheKvBlocks) {
  const Golden g = ReadGolden();
  v1::GenerateRequest request = GreedyRequest(g);
  request.mutable_stopping()->set_max_tokens(512 - static_cast<int32_t>(g.ids.size()));
  EXPECT_TRUE(CancelAStreamMidGeneration(*stub_, request, [this] { ExpectAllBlocksFreed(); }))
      << "every generation finished before its cancellation";
}

TEST_F(GrpcServerTest, DeadlineFreesTheKvBlocks) {
  const Golden g = ReadGolden();
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(5));
  v1::GenerateRequest request = GreedyRequest(g);
  request.mutable_stopping()->set_max_tokens(512 - static_cast<int32_t>(g.ids.size()));
  v1::GenerateResponse response;
  EXPECT_EQ(stub_->Generate(&ctx, request, &response).error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  ExpectAllBlocksFreed();
}

// Its own server: draining is for good.
TEST(GrpcServerDrainTest, DrainingRefusesNewCallsAndReportsNotServing) {
  std::unique_ptr<engine::Tokenizer> tokenizer = *LoadTokenizer(kMixtral);
  std::unique_ptr<EngineService> engine = StartEngine(EngineConfig());
  GrpcServerConfig c = LoopbackServerConfig();
  c.model_name = "mixtral";
  std::unique_ptr<GrpcServer> server = *GrpcServer::Start(c, *engine, *tokenizer);
  auto channel = grpc::CreateChannel(server->address(), grpc::InsecureChannelCredentials());
  auto stub = v1::Switchyard::NewStub(channel);
  EXPECT_EQ(WaitForHealth(channel, "", kServing), kServing);
  server->StartDraining();
  engine->StopAccepting();
  grpc::ClientContext ctx;
  v1::GenerateRequest request;
  request.set_text("The yard");
  v1::GenerateResponse response;
  EXPECT_EQ(stub->Generate(&ctx, request, &response).error_code(), grpc::StatusCode::UNAVAILABLE);
  grpc::ClientContext info_ctx;
  v1::ModelInfo info;
  EXPECT_EQ(stub->GetModelInfo(&info_ctx, {}, &info).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(HealthStatus(channel, ""), kNotServing);
  EXPECT_TRUE(engine->WaitIdle(absl::Now() + absl::Seconds(5)));
  server->Shutdown(absl::Now());
  engine->Shutdown();
}

}  // namespace
}  // namespace switchyard::server
