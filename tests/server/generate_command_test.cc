#include "server/generate_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "nlohmann/json.hpp"

namespace switchyard::server {
namespace {

using ::testing::HasSubstr;

const std::string kMixtral = std::string(SWITCHYARD_SOURCE_DIR) + "/tests/fixtures/mixtral";

nlohmann::json FirstGoldenPrompt() {
  std::ifstream in(kMixtral + "/golden.json");
  return nlohmann::json::parse(in)["prompts"][0];
}

// Greedy, 32 tokens past eos, JSON output: how the golden data was made.
GenerateCommandConfig GreedyConfig() {
  GenerateCommandConfig config;
  config.engine.model.path = kMixtral;
  config.engine.backend = "cpu";
  config.sampling.temperature = 0;
  config.sampling.ignore_eos = true;
  config.sampling.max_tokens = 32;
  config.json = true;
  return config;
}

// `switchyard generate` on the demo model reproduces transformers' greedy
// continuation of the first golden prompt.
TEST(GenerateCommandTest, GreedyJsonMatchesGolden) {
  const nlohmann::json golden = FirstGoldenPrompt();
  GenerateCommandConfig config = GreedyConfig();
  config.prompt_ids = golden["ids"].get<std::vector<int32_t>>();
  config.sampling.logprobs = 2;
  std::ostringstream out;
  ASSERT_TRUE(RunGenerate(config, out).ok());
  const nlohmann::json result = nlohmann::json::parse(out.str());
  EXPECT_EQ(result["token_ids"], golden["greedy"]);
  EXPECT_EQ(result["finish_reason"], "length");
  ASSERT_EQ(result["logprobs"].size(), 32u);
  EXPECT_EQ(result["logprobs"][0]["top"].size(), 2u);
  EXPECT_EQ(result["logprobs"][0]["top"][0]["token"], result["token_ids"][0]);  // greedy picks the top token
}

// The same through --prompt: the text is encoded with the fixture's
// tokenizer.json and the continuation decoded back, as transformers does.
TEST(GenerateCommandTest, TextPromptMatchesGolden) {
  const nlohmann::json golden = FirstGoldenPrompt();
  GenerateCommandConfig config = GreedyConfig();
  config.prompt_text = golden["text"];
  std::ostringstream out;
  ASSERT_TRUE(RunGenerate(config, out).ok());
  const nlohmann::json result = nlohmann::json::parse(out.str());
  EXPECT_EQ(result["prompt_ids"], golden["ids"]);
  EXPECT_EQ(result["token_ids"], golden["greedy"]);
  // The completion text after the prompt: the first token's "▁" reads " ".
  EXPECT_EQ(result["text"], " " + golden["greedy_text"].get<std::string>());
}

TEST(GenerateCommandTest, RejectsBadInput) {
  GenerateCommandConfig config;
  config.engine.model.path = kMixtral;
  config.engine.backend = "cpu";
  std::ostringstream out;
  EXPECT_THAT(std::string(RunGenerate(config, out).message()), HasSubstr("exactly one of --prompt"));
  config.prompt_text = "x";
  config.prompt_ids = {1};
  EXPECT_THAT(std::string(RunGenerate(config, out).message()), HasSubstr("exactly one of --prompt"));
  config.prompt_text.clear();

  config.prompt_ids = {1, 99999};
  EXPECT_THAT(std::string(RunGenerate(config, out).message()), HasSubstr("99999"));

  config.prompt_ids = {1, 2};
  config.sampling.top_p = 2;
  EXPECT_THAT(std::string(RunGenerate(config, out).message()), HasSubstr("top_p"));

  config.sampling.top_p = 1;
  config.engine.backend = "tpu";
  EXPECT_THAT(std::string(RunGenerate(config, out).message()), HasSubstr("unknown backend 'tpu'"));

  auto ids = ParseIdList("1,x,3", "prompt_ids");
  EXPECT_THAT(std::string(ids.status().message()), HasSubstr("'x' is not an integer"));
}

}  // namespace
}  // namespace switchyard::server
