// The completion text is Decode(prompt + completion) minus Decode(prompt),
// as vLLM and TGI return it, in every way a generation is run: the gRPC
// server (unary and streaming), `switchyard generate` and its batch mode.
// The demo Mixtral's SentencePiece vocabulary is the hard case: its first
// completion token "▁with" reads " with" after a prompt but "with" alone.
#include <gtest/gtest.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "grpcpp/grpcpp.h"
#include "nlohmann/json.hpp"
#include "server/batch_generate_command.h"
#include "server/generate_command.h"
#include "server/service/engine_service.h"
#include "server/service/grpc_server.h"
#include "switchyard/v1/switchyard.grpc.pb.h"
#include "tests/server/service/server_test_util.h"

namespace switchyard::server {
namespace {

// Decode(prompt + completion) minus Decode(prompt), by decoding both in full.
std::string ExpectedCompletion(const engine::Tokenizer& tokenizer, const std::vector<int32_t>& prompt,
                               const std::vector<int32_t>& completion) {
  std::vector<int32_t> all = prompt;
  all.insert(all.end(), completion.begin(), completion.end());
  const std::string full = tokenizer.Decode(all);
  const std::string before = tokenizer.Decode(prompt);
  EXPECT_EQ(full.rfind(before, 0), 0u) << "the prompt's text is not a prefix";
  return full.substr(before.size());
}

class CompletionTextTest : public ::testing::Test {
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
    stub_ = v1::Switchyard::NewStub(grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()));
  }

  static v1::GenerateRequest GreedyRequest(const Golden& g) {
    v1::GenerateRequest r;
    r.set_text(g.text);
    r.mutable_sampling()->set_temperature(0);
    r.mutable_stopping()->set_max_tokens(static_cast<int32_t>(g.greedy.size()));
    r.mutable_stopping()->set_ignore_eos(true);
    return r;
  }

  // The streamed chunks' texts, and the finish reason.
  std::vector<std::string> Stream(const v1::GenerateRequest& request, v1::FinishReason* finish) {
    grpc::ClientContext ctx;
    auto reader = stub_->GenerateStream(&ctx, request);
    v1::GenerateStreamResponse msg;
    std::vector<std::string> chunks;
    while (reader->Read(&msg)) {
      if (msg.has_chunk()) chunks.push_back(msg.chunk().text());
      if (msg.has_end()) *finish = msg.end().finish_reason();
    }
    EXPECT_TRUE(reader->Finish().ok());
    return chunks;
  }

  static inline engine::Tokenizer* tokenizer_ = nullptr;
  static inline EngineService* engine_ = nullptr;
  static inline GrpcServer* server_ = nullptr;
  std::unique_ptr<v1::Switchyard::Stub> stub_;
};

TEST_F(CompletionTextTest, UnaryTextKeepsTheLeadingSpace) {
  const Golden g = ReadGolden();
  grpc::ClientContext ctx;
  v1::GenerateResponse response;
  ASSERT_TRUE(stub_->Generate(&ctx, GreedyRequest(g), &response).ok());
  ASSERT_EQ(std::vector<int32_t>(response.token_ids().begin(), response.token_ids().end()), g.greedy);
  EXPECT_EQ(response.text(), ExpectedCompletion(*tokenizer_, g.ids, g.greedy));
  EXPECT_EQ(response.text().rfind(" with a clipboard", 0), 0u) << response.text();
  // So prompt + text reads as the model's continuation.
  EXPECT_EQ(g.text + response.text(), tokenizer_->Decode([&] {
              std::vector<int32_t> all = g.ids;
              all.insert(all.end(), g.greedy.begin(), g.greedy.end());
              return all;
            }()));
}

TEST_F(CompletionTextTest, StreamedChunksAddUpToTheCompletionText) {
  const Golden g = ReadGolden();
  v1::FinishReason finish = v1::FINISH_REASON_UNSPECIFIED;
  const std::vector<std::string> chunks = Stream(GreedyRequest(g), &finish);
  ASSERT_FALSE(chunks.empty());
  EXPECT_EQ(chunks[0].rfind(" w", 0), 0u) << "first chunk: '" << chunks[0] << "'";
  std::string all;
  for (const std::string& c : chunks) all += c;
  EXPECT_EQ(all, ExpectedCompletion(*tokenizer_, g.ids, g.greedy));
  EXPECT_EQ(finish, v1::FINISH_REASON_LENGTH);
}

TEST_F(CompletionTextTest, StopStringWithTheLeadingSpaceFires) {
  const Golden g = ReadGolden();
  v1::GenerateRequest request = GreedyRequest(g);
  request.mutable_stopping()->add_stop(" with");
  // Unary: the first three tokens ("▁w", "it", "h") complete " with"; the
  // text ends before it.
  {
    grpc::ClientContext ctx;
    v1::GenerateResponse response;
    ASSERT_TRUE(stub_->Generate(&ctx, request, &response).ok());
    EXPECT_EQ(response.finish_reason(), v1::FINISH_REASON_STOP);
    EXPECT_EQ(response.token_ids_size(), 3);
    EXPECT_EQ(response.text(), "");
  }
  // Streaming, with a stop string further on.
  request.mutable_stopping()->clear_stop();
  request.mutable_stopping()->add_stop(" cup");
  v1::FinishReason finish = v1::FINISH_REASON_UNSPECIFIED;
  std::string all;
  for (const std::string& c : Stream(request, &finish)) all += c;
  EXPECT_EQ(finish, v1::FINISH_REASON_STOP);
  EXPECT_EQ(all, " with a clipboard and a");
}

TEST(CompletionTextCommandTest, GenerateCommandPrintsTheCompletionText) {
  const Golden g = ReadGolden();
  GenerateCommandConfig config;
  config.engine.model.path = kMixtral;
  config.engine.backend = "cpu";
  config.prompt_text = g.text;
  config.sampling.temperature = 0;
  config.sampling.ignore_eos = true;
  config.sampling.max_tokens = static_cast<int32_t>(g.greedy.size());
  std::ostringstream plain;
  ASSERT_TRUE(RunGenerate(config, plain).ok());
  auto tokenizer = *LoadTokenizer(kMixtral);
  const std::string expected = ExpectedCompletion(*tokenizer, g.ids, g.greedy);
  EXPECT_EQ(plain.str(), expected + "\n");
  config.json = true;
  std::ostringstream json;
  ASSERT_TRUE(RunGenerate(config, json).ok());
  EXPECT_EQ(nlohmann::json::parse(json.str())["text"], expected);
}

TEST(CompletionTextCommandTest, BatchModeTextAndStopStrings) {
  const Golden g = ReadGolden();
  BatchGenerateConfig config;
  config.engine.model.path = kMixtral;
  config.engine.backend = "cpu";
  config.engine.kv_cache.num_blocks = 64;
  config.defaults.temperature = 0;
  config.defaults.ignore_eos = true;
  config.defaults.max_tokens = static_cast<int32_t>(g.greedy.size());
  std::istringstream in(nlohmann::json{{"prompt", g.text}}.dump() + "\n" +
                        nlohmann::json{{"prompt", g.text}, {"stop", {" with"}}}.dump() + "\n" +
                        nlohmann::json{{"prompt_ids", g.ids}, {"stop", {" cup"}}}.dump() + "\n");
  std::ostringstream out;
  ASSERT_TRUE(RunBatchGenerate(config, in, out).ok());
  std::vector<nlohmann::json> lines;
  std::istringstream result(out.str());
  for (std::string line; std::getline(result, line);) lines.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(lines.size(), 3u);
  auto tokenizer = *LoadTokenizer(kMixtral);
  EXPECT_EQ(lines[0]["text"], ExpectedCompletion(*tokenizer, g.ids, g.greedy));
  EXPECT_EQ(lines[1]["finish_reason"], "stop");
  EXPECT_EQ(lines[1]["token_ids"].size(), 3u);
  EXPECT_EQ(lines[1]["text"], "");
  EXPECT_EQ(lines[2]["finish_reason"], "stop");
  EXPECT_EQ(lines[2]["text"], " with a clipboard and a");
}

}  // namespace
}  // namespace switchyard::server
