#include "server/generate_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "nlohmann/json.hpp"

namespace switchyard::server {
namespace {

using ::testing::HasSubstr;

// `switchyard generate` on the demo model reproduces transformers' greedy
// continuation of the first golden prompt.
TEST(GenerateCommandTest, GreedyJsonMatchesGolden) {
  const std::string dir = std::string(SWITCHYARD_SOURCE_DIR) + "/tests/fixtures/mixtral";
  std::ifstream in(dir + "/golden.json");
  const nlohmann::json golden = nlohmann::json::parse(in)["prompts"][0];

  GenerateCommandConfig config;
  config.model.path = dir;
  config.backend = "cpu";
  config.prompt_ids = golden["ids"].get<std::vector<int32_t>>();
  config.sampling.temperature = 0;
  config.sampling.ignore_eos = true;
  config.sampling.max_tokens = 32;
  config.sampling.logprobs = 2;
  config.json = true;
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
  const std::string dir = std::string(SWITCHYARD_SOURCE_DIR) + "/tests/fixtures/mixtral";
  std::ifstream in(dir + "/golden.json");
  const nlohmann::json golden = nlohmann::json::parse(in)["prompts"][0];

  GenerateCommandConfig config;
  config.model.path = dir;
  config.backend = "cpu";
  config.prompt_text = golden["text"];
  config.sampling.temperature = 0;
  config.sampling.ignore_eos = true;
  config.sampling.max_tokens = 32;
  config.json = true;
  std::ostringstream out;
  ASSERT_TRUE(RunGenerate(config, out).ok());
  const nlohmann::json result = nlohmann::json::parse(out.str());
  EXPECT_EQ(result["prompt_ids"], golden["ids"]);
  EXPECT_EQ(result["token_ids"], golden["greedy"]);
  EXPECT_EQ(result["text"], golden["greedy_text"]);
}

TEST(GenerateCommandTest, RejectsBadInput) {
  GenerateCommandConfig config;
  config.model.path = std::string(SWITCHYARD_SOURCE_DIR) + "/tests/fixtures/mixtral";
  config.backend = "cpu";
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
  config.backend = "tpu";
  EXPECT_THAT(std::string(RunGenerate(config, out).message()), HasSubstr("unknown backend 'tpu'"));

  auto ids = ParseIdList("1,x,3", "prompt_ids");
  EXPECT_THAT(std::string(ids.status().message()), HasSubstr("'x' is not an integer"));
}

}  // namespace
}  // namespace switchyard::server
