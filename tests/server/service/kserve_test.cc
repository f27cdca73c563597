// The KServe v2 / Triton service of the real gRPC server, in process on an
// ephemeral loopback port with the Mixtral fixture, called through the
// generated C++ stubs: every served RPC, greedy text identical to
// switchyard.v1 Generate's, several requests on one stream, cancellation,
// API keys, draining, call metrics, and the exact status of every bad
// request.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "inference/grpc_service.grpc.pb.h"
#include "server/generate_command.h"
#include "server/service/engine_service.h"
#include "server/service/grpc_server.h"
#include "server/service/metrics.h"
#include "switchyard/v1/switchyard.grpc.pb.h"
#include "tests/server/service/kserve_test_util.h"
#include "tests/server/service/server_test_util.h"

namespace switchyard::server {
namespace {

constexpr int kTokens = 12;
const char* const kGreedy = R"({"temperature": 0, "max_tokens": 12, "ignore_eos": true})";

class KServeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tokenizer_ = LoadTokenizer(kMixtral)->release();
    engine_ = StartEngine(EngineConfig()).release();
    GrpcServerConfig c = LoopbackServerConfig();
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
    stub_ = inference::GRPCInferenceService::NewStub(channel_);
    v1_ = v1::Switchyard::NewStub(channel_);
    ASSERT_EQ(WaitForHealth(channel_, "", kServing), kServing);
  }

  static std::string Prompt() { return ReadGolden().text; }

  // switchyard.v1 Generate's greedy text for the prompt: the reference.
  std::string GenerateText(int32_t* prompt_tokens = nullptr, int32_t max_tokens = kTokens) {
    v1::GenerateRequest r;
    r.set_text(Prompt());
    r.mutable_sampling()->set_temperature(0);
    r.mutable_stopping()->set_max_tokens(max_tokens);
    r.mutable_stopping()->set_ignore_eos(true);
    grpc::ClientContext ctx;
    v1::GenerateResponse response;
    const grpc::Status st = v1_->Generate(&ctx, r, &response);
    EXPECT_TRUE(st.ok()) << st.error_message();
    if (prompt_tokens != nullptr) *prompt_tokens = response.usage().prompt_tokens();
    return response.text();
  }

  grpc::Status Infer(const inference::ModelInferRequest& request, inference::ModelInferResponse* response,
                     const std::string& api_key = "") {
    grpc::ClientContext ctx;
    if (!api_key.empty()) ctx.AddMetadata("authorization", "Bearer " + api_key);
    return stub_->ModelInfer(&ctx, request, response);
  }

  static RequestBuilder Greedy() {
    RequestBuilder b;
    b.request().set_model_name("mixtral");
    b.Prompt(Prompt()).Bytes("sampling_parameters", {kGreedy});
    return b;
  }

  void ExpectAllBlocksFreed() {
    v1::ModelInfo info;
    for (int i = 0; i < 500; ++i) {
      grpc::ClientContext ctx;
      ASSERT_TRUE(v1_->GetModelInfo(&ctx, {}, &info).ok());
      if (info.kv_blocks_free() == info.kv_blocks_total() && info.num_running() == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL() << info.kv_blocks_free() << " of " << info.kv_blocks_total() << " blocks free";
  }

  static const engine::Tokenizer* tokenizer_;
  static EngineService* engine_;
  static GrpcServer* server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<inference::GRPCInferenceService::Stub> stub_;
  std::unique_ptr<v1::Switchyard::Stub> v1_;
};

const engine::Tokenizer* KServeTest::tokenizer_ = nullptr;
EngineService* KServeTest::engine_ = nullptr;
GrpcServer* KServeTest::server_ = nullptr;

bool IsFinal(const inference::ModelInferResponse& r) {
  auto it = r.parameters().find("triton_final_response");
  return it != r.parameters().end() && it->second.bool_param();
}

TEST_F(KServeTest, LivenessAndReadinessFollowHealth) {
  grpc::ClientContext c1;
  inference::ServerLiveResponse live;
  ASSERT_TRUE(stub_->ServerLive(&c1, {}, &live).ok());
  EXPECT_TRUE(live.live());
  grpc::ClientContext c2;
  inference::ServerReadyResponse ready;
  ASSERT_TRUE(stub_->ServerReady(&c2, {}, &ready).ok());
  EXPECT_TRUE(ready.ready());
  EXPECT_EQ(HealthStatus(channel_, "inference.GRPCInferenceService"), kServing);
  for (const auto& [name, version, expected] : std::vector<std::tuple<std::string, std::string, bool>>{
           {"mixtral", "", true}, {"mixtral", "1", true}, {"", "", true}, {"other", "", false}, {"mixtral", "2", false}}) {
    grpc::ClientContext ctx;
    inference::ModelReadyRequest request;
    request.set_name(name);
    request.set_version(version);
    inference::ModelReadyResponse response;
    ASSERT_TRUE(stub_->ModelReady(&ctx, request, &response).ok());
    EXPECT_EQ(response.ready(), expected) << name << " version " << version;
  }
}

TEST_F(KServeTest, MetadataAndConfigDescribeTheTensors) {
  grpc::ClientContext c1;
  inference::ServerMetadataResponse server;
  ASSERT_TRUE(stub_->ServerMetadata(&c1, {}, &server).ok());
  EXPECT_EQ(server.name(), "switchyard");

  grpc::ClientContext c2;
  inference::ModelMetadataRequest request;
  request.set_name("mixtral");
  inference::ModelMetadataResponse metadata;
  ASSERT_TRUE(stub_->ModelMetadata(&c2, request, &metadata).ok());
  EXPECT_EQ(metadata.name(), "mixtral");
  ASSERT_EQ(metadata.versions_size(), 1);
  EXPECT_EQ(metadata.versions(0), "1");
  ASSERT_GE(metadata.inputs_size(), 1);
  EXPECT_EQ(metadata.inputs(0).name(), "text_input");
  EXPECT_EQ(metadata.inputs(0).datatype(), "BYTES");
  EXPECT_EQ(std::vector<int64_t>(metadata.inputs(0).shape().begin(), metadata.inputs(0).shape().end()),
            std::vector<int64_t>{1});
  ASSERT_GE(metadata.outputs_size(), 1);
  EXPECT_EQ(metadata.outputs(0).name(), "text_output");

  grpc::ClientContext c3;
  inference::ModelConfigRequest config_request;
  config_request.set_name("mixtral");
  inference::ModelConfigResponse config;
  ASSERT_TRUE(stub_->ModelConfig(&c3, config_request, &config).ok());
  EXPECT_EQ(config.config().name(), "mixtral");
  EXPECT_EQ(config.config().max_batch_size(), 0);
  EXPECT_TRUE(config.config().model_transaction_policy().decoupled());
  std::map<std::string, inference::ModelInput> inputs;
  for (const auto& in : config.config().input()) inputs[in.name()] = in;
  EXPECT_EQ(inputs["text_input"].data_type(), inference::TYPE_STRING);
  EXPECT_FALSE(inputs["text_input"].optional());
  EXPECT_EQ(inputs["max_tokens"].data_type(), inference::TYPE_INT32);
  EXPECT_TRUE(inputs["max_tokens"].optional());
  EXPECT_EQ(inputs["stream"].data_type(), inference::TYPE_BOOL);

  for (const std::string name : {"other", "mixtral@2"}) {
    grpc::ClientContext ctx;
    inference::ModelMetadataRequest r;
    r.set_name(name == "other" ? "other" : "mixtral");
    if (name != "other") r.set_version("2");
    inference::ModelMetadataResponse m;
    const grpc::Status st = stub_->ModelMetadata(&ctx, r, &m);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << name;
  }
  grpc::ClientContext c4;
  inference::ModelConfigRequest unknown;
  unknown.set_name("other");
  const grpc::Status st = stub_->ModelConfig(&c4, unknown, &config);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(st.error_message(), "model \"other\" is not served here; this server serves \"mixtral\"");
}

TEST_F(KServeTest, UnaryGreedyTextIsGeneratesText) {
  int32_t prompt_tokens = 0;
  const std::string expected = GenerateText(&prompt_tokens);
  ASSERT_FALSE(expected.empty());

  RequestBuilder b = Greedy();
  b.request().set_id("unary-1");
  b.Bool("exclude_input_in_output", true)
      .Bool("return_finish_reason", true)
      .Bool("return_num_input_tokens", true)
      .Bool("return_num_output_tokens", true);
  inference::ModelInferResponse response;
  const grpc::Status st = Infer(b.Build(), &response);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(response.model_name(), "mixtral");
  EXPECT_EQ(response.model_version(), "1");
  EXPECT_EQ(response.id(), "unary-1");
  EXPECT_EQ(BytesOutput(response, "text_output"), std::vector<std::string>{expected});
  EXPECT_EQ(BytesOutput(response, "finish_reason"), std::vector<std::string>{"length"});
  EXPECT_EQ(Uint32Output(response, "num_input_tokens"), std::vector<uint32_t>{static_cast<uint32_t>(prompt_tokens)});
  EXPECT_EQ(Uint32Output(response, "num_output_tokens"), std::vector<uint32_t>{kTokens});

  // The vLLM backend's default: the prompt, then the completion.
  inference::ModelInferResponse with_prompt;
  ASSERT_TRUE(Infer(Greedy().Build(), &with_prompt).ok());
  EXPECT_EQ(BytesOutput(with_prompt, "text_output"), std::vector<std::string>{Prompt() + expected});
  EXPECT_EQ(with_prompt.outputs_size(), 1);

  // TensorRT-LLM's tensors, typed contents, a batch-shaped prompt: the same text.
  RequestBuilder trt(false);
  trt.Bytes("text_input", {Prompt()}, {1, 1})
      .Int32("max_tokens", kTokens)
      .Int32("top_k", 1)
      .Bool("ignore_eos", true)
      .Bool("exclude_input_in_output", true)
      .Output("text_output");
  inference::ModelInferResponse trt_response;
  ASSERT_TRUE(Infer(trt.Build(), &trt_response).ok());
  EXPECT_EQ(BytesOutput(trt_response, "text_output"), std::vector<std::string>{expected});
  EXPECT_EQ(std::vector<int64_t>(trt_response.outputs(0).shape().begin(), trt_response.outputs(0).shape().end()),
            (std::vector<int64_t>{1, 1}));
}

// Long enough that the deltas cannot all be coalesced into one response: the
// stream keeps one write in flight, and 12 tokens (about a millisecond) can
// all be generated while a busy machine delays the first write.
constexpr int kStreamTokens = 300;

TEST_F(KServeTest, StreamedDeltasAddUpToGeneratesText) {
  const std::string expected = GenerateText(nullptr, kStreamTokens);
  grpc::ClientContext ctx;
  auto stream = stub_->ModelStreamInfer(&ctx);
  RequestBuilder b;
  b.request().set_model_name("mixtral");
  b.Prompt(Prompt()).Bytes("sampling_parameters",
                           {absl::StrCat(R"({"temperature": 0, "max_tokens": )", kStreamTokens, R"(, "ignore_eos": true})")});
  b.request().set_id("s-1");
  b.Bool("stream", true).Bool("return_num_output_tokens", true).Bool("return_finish_reason", true);
  ASSERT_TRUE(stream->Write(b.Build()));
  std::string text;
  uint32_t tokens = 0;
  int responses = 0;
  inference::ModelStreamInferResponse msg;
  while (stream->Read(&msg)) {
    ASSERT_EQ(msg.error_message(), "");
    const inference::ModelInferResponse& r = msg.infer_response();
    EXPECT_EQ(r.id(), "s-1");
    ++responses;
    text += BytesOutput(r, "text_output").at(0);
    tokens += Uint32Output(r, "num_output_tokens").at(0);
    if (IsFinal(r)) {
      EXPECT_EQ(BytesOutput(r, "finish_reason"), std::vector<std::string>{"length"});
      break;
    }
    EXPECT_EQ(BytesOutput(r, "finish_reason"), std::vector<std::string>{"None"});
  }
  EXPECT_EQ(text, expected);
  EXPECT_EQ(tokens, static_cast<uint32_t>(kStreamTokens));
  EXPECT_GT(responses, 1);
  stream->WritesDone();
  EXPECT_FALSE(stream->Read(&msg));
  const grpc::Status st = stream->Finish();
  EXPECT_TRUE(st.ok()) << st.error_message();
}

TEST_F(KServeTest, OneStreamCarriesManyRequestsAndTheirErrors) {
  const std::string expected = GenerateText();
  grpc::ClientContext ctx;
  auto stream = stub_->ModelStreamInfer(&ctx);
  for (const std::string id : {"a", "b"}) {
    RequestBuilder b = Greedy();
    b.request().set_id(id);
    b.Bool("stream", true);
    ASSERT_TRUE(stream->Write(b.Build()));
  }
  RequestBuilder unknown = Greedy();
  unknown.request().set_id("unknown");
  unknown.request().set_model_name("other");
  ASSERT_TRUE(stream->Write(unknown.Build()));
  RequestBuilder bad;
  bad.request().set_id("bad");
  bad.Int32("max_tokens", 4);
  ASSERT_TRUE(stream->Write(bad.Build()));
  RequestBuilder too_long = Greedy();
  too_long.request().set_id("too-long");
  too_long.Int32("max_tokens", 1 << 30);
  ASSERT_TRUE(stream->Write(too_long.Build()));
  RequestBuilder whole = Greedy();  // not streamed: one response, the prompt first
  whole.request().set_id("whole");
  ASSERT_TRUE(stream->Write(whole.Build()));
  stream->WritesDone();

  std::map<std::string, std::string> texts, errors;
  std::map<std::string, int> finals;
  inference::ModelStreamInferResponse msg;
  while (stream->Read(&msg)) {
    const std::string& id = msg.infer_response().id();
    EXPECT_EQ(finals[id], 0) << "a response after the final one for " << id;
    if (IsFinal(msg.infer_response())) ++finals[id];
    if (!msg.error_message().empty()) {
      errors[id] = msg.error_message();
      continue;
    }
    texts[id] += BytesOutput(msg.infer_response(), "text_output").at(0);
  }
  const grpc::Status st = stream->Finish();
  EXPECT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(texts["a"], expected);
  EXPECT_EQ(texts["b"], expected);
  EXPECT_EQ(texts["whole"], Prompt() + expected);
  EXPECT_EQ(errors["unknown"], "model \"other\" is not served here; this server serves \"mixtral\"");
  EXPECT_EQ(errors["bad"], "input \"text_input\" is missing; give the prompt as one BYTES element (shape [1])");
  EXPECT_NE(errors["too-long"].find("max_tokens"), std::string::npos) << errors["too-long"];
  for (const std::string id : {"a", "b", "whole", "unknown", "bad", "too-long"}) EXPECT_EQ(finals[id], 1) << id;
}

TEST_F(KServeTest, BadRequestsGetTheStatusTritonsClientsExpect) {
  struct Case {
    std::string name;
    RequestBuilder request;
    grpc::StatusCode code;
    std::string message;
  };
  std::vector<Case> cases;
  {
    RequestBuilder b = Greedy();
    b.request().set_model_name("llama");
    cases.push_back({"unknown model", b, grpc::StatusCode::NOT_FOUND,
                     "model \"llama\" is not served here; this server serves \"mixtral\""});
  }
  {
    RequestBuilder b = Greedy();
    b.request().set_model_version("3");
    cases.push_back({"unknown version", b, grpc::StatusCode::NOT_FOUND,
                     "model \"mixtral\" has no version \"3\"; its one version is \"1\""});
  }
  {
    RequestBuilder b;
    b.Int32("max_tokens", 4);
    cases.push_back({"no text_input", b, grpc::StatusCode::INVALID_ARGUMENT,
                     "input \"text_input\" is missing; give the prompt as one BYTES element (shape [1])"});
  }
  {
    RequestBuilder b;
    b.Prompt().Fp32("max_tokens", 4);
    cases.push_back({"wrong datatype", b, grpc::StatusCode::INVALID_ARGUMENT,
                     "input \"max_tokens\" has datatype \"FP32\"; it must be an integer type (INT8 to INT64, UINT8 "
                     "to UINT64)"});
  }
  {
    RequestBuilder b;
    b.Prompt().Bytes("sampling_parameters", {"{\"temperature\": }"});
    cases.push_back({"bad JSON", b, grpc::StatusCode::INVALID_ARGUMENT, "input \"sampling_parameters\" is not valid JSON"});
  }
  {
    RequestBuilder b;
    b.Prompt().Bytes("sampling_parameters", {"{\"top_p\": 2}"});
    cases.push_back({"out of range", b, grpc::StatusCode::INVALID_ARGUMENT, "top_p must be in (0, 1], got 2"});
  }
  {
    RequestBuilder b;
    b.Prompt().Bool("stream", true);
    cases.push_back({"stream in ModelInfer", b, grpc::StatusCode::INVALID_ARGUMENT,
                     "input \"stream\" is true, but ModelInfer returns one response; stream with ModelStreamInfer"});
  }
  {
    RequestBuilder b;
    b.Prompt().Bytes("image", {"x"});
    cases.push_back({"unknown tensor", b, grpc::StatusCode::INVALID_ARGUMENT,
                     "input \"image\" is not one this model takes; it takes text_input, stream"});
  }
  for (Case& c : cases) {
    inference::ModelInferResponse response;
    const grpc::Status st = Infer(c.request.Build(), &response);
    EXPECT_EQ(st.error_code(), c.code) << c.name << ": " << st.error_message();
    EXPECT_NE(st.error_message().find(c.message), std::string::npos) << c.name << ": " << st.error_message();
  }
}

TEST_F(KServeTest, TimeoutParameterEndsTheGeneration) {
  RequestBuilder b;
  b.Prompt(Prompt()).Bytes("sampling_parameters", {R"({"max_tokens": 200, "ignore_eos": true})"});
  b.Param("timeout", IntParam(1));  // microseconds, as Triton's clients send it
  inference::ModelInferResponse response;
  const grpc::Status st = Infer(b.Build(), &response);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << st.error_message();
  ExpectAllBlocksFreed();
}

TEST_F(KServeTest, CancellingAStreamFreesItsBlocks) {
  RequestBuilder b;
  b.Prompt(Prompt()).Bool("stream", true).Bytes("sampling_parameters", {R"({"max_tokens": 400, "ignore_eos": true})"});
  // The whole generation takes tens of milliseconds: on a busy machine it may
  // end before the cancellation arrives, so that try proves nothing.
  bool cancelled = false;
  for (int attempt = 0; attempt < 5 && !cancelled; ++attempt) {
    grpc::ClientContext ctx;
    auto stream = stub_->ModelStreamInfer(&ctx);
    ASSERT_TRUE(stream->Write(b.Build()));
    inference::ModelStreamInferResponse msg;
    ASSERT_TRUE(stream->Read(&msg));
    EXPECT_FALSE(IsFinal(msg.infer_response()));
    ctx.TryCancel();
    bool ended = false;
    while (stream->Read(&msg)) ended |= IsFinal(msg.infer_response());
    const grpc::Status st = stream->Finish();
    cancelled = !ended;
    if (cancelled) {
      EXPECT_EQ(st.error_code(), grpc::StatusCode::CANCELLED) << st.error_message();
    }
    ExpectAllBlocksFreed();
  }
  EXPECT_TRUE(cancelled) << "every generation finished before its cancellation";
}

// A second server on the same engine, with API keys.
TEST_F(KServeTest, ApiKeysApplyExceptToLivenessAndReadiness) {
  const std::string key_file = ::testing::TempDir() + "/kserve_keys.txt";
  std::ofstream(key_file) << "# test\ns3cret\n";
  GrpcServerConfig c = LoopbackServerConfig();
  c.model_name = "mixtral";
  c.api_key_file = key_file;
  std::unique_ptr<GrpcServer> server = *GrpcServer::Start(c, *engine_, *tokenizer_);
  auto channel = grpc::CreateChannel(server->address(), grpc::InsecureChannelCredentials());
  ASSERT_EQ(WaitForHealth(channel, "", kServing), kServing);
  auto stub = inference::GRPCInferenceService::NewStub(channel);

  grpc::ClientContext c1;
  inference::ServerLiveResponse live;
  EXPECT_TRUE(stub->ServerLive(&c1, {}, &live).ok());
  grpc::ClientContext c2;
  inference::ServerReadyResponse ready;
  EXPECT_TRUE(stub->ServerReady(&c2, {}, &ready).ok());
  EXPECT_TRUE(ready.ready());
  grpc::ClientContext c3;
  inference::ModelReadyRequest model_ready;
  model_ready.set_name("mixtral");
  inference::ModelReadyResponse model_ready_response;
  EXPECT_EQ(stub->ModelReady(&c3, model_ready, &model_ready_response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  grpc::ClientContext c4;
  inference::ServerMetadataResponse metadata;
  EXPECT_EQ(stub->ServerMetadata(&c4, {}, &metadata).error_code(), grpc::StatusCode::UNAUTHENTICATED);

  RequestBuilder b;
  b.Prompt().Int32("max_tokens", 2);
  for (const std::string key : {"", "wrong"}) {
    grpc::ClientContext ctx;
    if (!key.empty()) ctx.AddMetadata("authorization", "Bearer " + key);
    inference::ModelInferResponse response;
    const grpc::Status st = stub->ModelInfer(&ctx, b.Build(), &response);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED) << key;
  }
  {
    grpc::ClientContext ctx;
    auto stream = stub->ModelStreamInfer(&ctx);
    stream->Write(b.Build());
    inference::ModelStreamInferResponse msg;
    EXPECT_FALSE(stream->Read(&msg));
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer s3cret");
    inference::ModelInferResponse response;
    const grpc::Status st = stub->ModelInfer(&ctx, b.Build(), &response);
    EXPECT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(BytesOutput(response, "text_output").size(), 1u);
  }
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer s3cret");
    auto stream = stub->ModelStreamInfer(&ctx);
    ASSERT_TRUE(stream->Write(b.Build()));
    stream->WritesDone();
    inference::ModelStreamInferResponse msg;
    ASSERT_TRUE(stream->Read(&msg));
    EXPECT_EQ(msg.error_message(), "");
    EXPECT_TRUE(IsFinal(msg.infer_response()));
    EXPECT_TRUE(stream->Finish().ok());
  }
}

// A second server on the same engine, with metrics: every KServe RPC has a
// `rpc` label of its own instead of "other".
TEST_F(KServeTest, MetricsCountEveryRpcUnderItsName) {
  std::unique_ptr<Metrics> metrics = *Metrics::Start({"127.0.0.1:0"}, *engine_);
  GrpcServerConfig c = LoopbackServerConfig();
  c.model_name = "mixtral";
  std::unique_ptr<GrpcServer> server = *GrpcServer::Start(c, *engine_, *tokenizer_, metrics.get());
  auto channel = grpc::CreateChannel(server->address(), grpc::InsecureChannelCredentials());
  ASSERT_EQ(WaitForHealth(channel, "", kServing), kServing);
  auto stub = inference::GRPCInferenceService::NewStub(channel);
  {
    grpc::ClientContext ctx;
    inference::ServerLiveResponse response;
    EXPECT_TRUE(stub->ServerLive(&ctx, {}, &response).ok());
  }
  {
    grpc::ClientContext ctx;
    inference::ServerReadyResponse response;
    EXPECT_TRUE(stub->ServerReady(&ctx, {}, &response).ok());
  }
  {
    grpc::ClientContext ctx;
    inference::ModelReadyResponse response;
    EXPECT_TRUE(stub->ModelReady(&ctx, {}, &response).ok());
  }
  {
    grpc::ClientContext ctx;
    inference::ServerMetadataResponse response;
    EXPECT_TRUE(stub->ServerMetadata(&ctx, {}, &response).ok());
  }
  {
    grpc::ClientContext ctx;
    inference::ModelMetadataResponse response;
    EXPECT_TRUE(stub->ModelMetadata(&ctx, {}, &response).ok());
  }
  {
    grpc::ClientContext ctx;
    inference::ModelConfigResponse response;
    EXPECT_TRUE(stub->ModelConfig(&ctx, {}, &response).ok());
  }
  RequestBuilder b;
  b.Prompt().Int32("max_tokens", 2);
  {
    grpc::ClientContext ctx;
    inference::ModelInferResponse response;
    const grpc::Status st = stub->ModelInfer(&ctx, b.Build(), &response);
    EXPECT_TRUE(st.ok()) << st.error_message();
  }
  {
    grpc::ClientContext ctx;
    auto stream = stub->ModelStreamInfer(&ctx);
    ASSERT_TRUE(stream->Write(b.Build()));
    stream->WritesDone();
    inference::ModelStreamInferResponse msg;
    while (stream->Read(&msg)) {
    }
    EXPECT_TRUE(stream->Finish().ok());
  }
  // Each call is counted before its status is sent, so the scrape sees all.
  const std::string text = Scrape(metrics->port());
  for (const char* rpc : {"ServerLive", "ServerReady", "ModelReady", "ServerMetadata", "ModelMetadata", "ModelConfig",
                          "ModelInfer", "ModelStreamInfer"}) {
    EXPECT_NE(text.find(std::string("switchyard_requests_total{code=\"OK\",rpc=\"") + rpc + "\"} 1\n"),
              std::string::npos)
        << rpc << "\n" << text;
  }
  EXPECT_EQ(text.find("rpc=\"other\""), std::string::npos) << text;
}

// A second server on the same engine, drained.
TEST_F(KServeTest, DrainingMakesTheServerNotReadyAndRefusesInference) {
  GrpcServerConfig c = LoopbackServerConfig();
  c.model_name = "mixtral";
  std::unique_ptr<GrpcServer> server = *GrpcServer::Start(c, *engine_, *tokenizer_);
  auto channel = grpc::CreateChannel(server->address(), grpc::InsecureChannelCredentials());
  ASSERT_EQ(WaitForHealth(channel, "", kServing), kServing);
  auto stub = inference::GRPCInferenceService::NewStub(channel);
  RequestBuilder b;
  b.Prompt().Int32("max_tokens", 2);
  grpc::ClientContext ctx;
  auto open_stream = stub->ModelStreamInfer(&ctx);  // open, and used, before the drain
  inference::ModelStreamInferResponse msg;
  ASSERT_TRUE(open_stream->Write(b.Build()));
  ASSERT_TRUE(open_stream->Read(&msg));
  EXPECT_EQ(msg.error_message(), "");

  server->StartDraining();
  grpc::ClientContext c1;
  inference::ServerReadyResponse ready;
  ASSERT_TRUE(stub->ServerReady(&c1, {}, &ready).ok());
  EXPECT_FALSE(ready.ready());
  grpc::ClientContext c2;
  inference::ModelReadyRequest model_ready;
  model_ready.set_name("mixtral");
  inference::ModelReadyResponse model_ready_response;
  ASSERT_TRUE(stub->ModelReady(&c2, model_ready, &model_ready_response).ok());
  EXPECT_FALSE(model_ready_response.ready());
  grpc::ClientContext c3;
  inference::ServerLiveResponse live;
  ASSERT_TRUE(stub->ServerLive(&c3, {}, &live).ok());
  EXPECT_TRUE(live.live());

  grpc::ClientContext c4;
  inference::ModelInferResponse response;
  const grpc::Status st = stub->ModelInfer(&c4, b.Build(), &response);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(st.error_message(), "the server is shutting down");

  // A stream that was open: its new requests are refused, and an idle stream
  // does not hold the drain up.
  ASSERT_TRUE(open_stream->Write(b.Build()));
  ASSERT_TRUE(open_stream->Read(&msg));
  EXPECT_EQ(msg.error_message(), "the server is shutting down");
  EXPECT_TRUE(server->WaitForCalls(absl::Now() + absl::Seconds(5)));
  open_stream->WritesDone();
  EXPECT_TRUE(open_stream->Finish().ok());
}

}  // namespace
}  // namespace switchyard::server
