#include "server/batch_generate_command.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "nlohmann/json.hpp"

namespace switchyard::server {
namespace {

const std::string kMixtral = std::string(SWITCHYARD_SOURCE_DIR) + "/tests/fixtures/mixtral";

BatchGenerateConfig Config() {
  BatchGenerateConfig c;
  c.engine.model.path = kMixtral;
  c.engine.backend = "cpu";
  c.engine.kv_cache.num_blocks = 64;
  c.engine.scheduler.max_num_batched_tokens = 16;  // chunked prefill
  c.engine.scheduler.max_num_seqs = 4;
  c.engine.scheduler.max_waiting = 2;  // more lines than the queue holds
  c.defaults.temperature = 0;
  c.defaults.max_tokens = 32;
  c.defaults.ignore_eos = true;
  return c;
}

std::vector<nlohmann::json> RunLines(const BatchGenerateConfig& config, const std::string& input, absl::Status* status) {
  std::istringstream in(input);
  std::ostringstream out;
  *status = RunBatchGenerate(config, in, out);
  std::vector<nlohmann::json> lines;
  std::istringstream result(out.str());
  for (std::string line; std::getline(result, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

// The golden prompts, interleaved with requests of their own settings, come
// back in input order with the reference greedy tokens.
TEST(BatchGenerateCommandTest, ResultsInInputOrderWithGoldenTokens) {
  std::ifstream golden_file(kMixtral + "/golden.json");
  const nlohmann::json golden = nlohmann::json::parse(golden_file);
  // Three prompts per fixture (tests/fixtures/README.md); none would leave
  // the loops below checking nothing.
  ASSERT_EQ(golden["prompts"].size(), 3u);
  std::string input;
  for (const auto& p : golden["prompts"]) {
    input += nlohmann::json{{"prompt_ids", p["ids"]}}.dump() + "\n";
    input += nlohmann::json{{"prompt_ids", p["ids"]}, {"max_tokens", 3}, {"logprobs", 2}}.dump() + "\n\n";
  }
  input += R"({"prompt_ids": [1, 2, 3], "temperature": 0.8, "seed": 5, "max_tokens": 4, "stop_token_ids": []})" "\n";
  absl::Status st;
  const std::vector<nlohmann::json> out = RunLines(Config(), input, &st);
  ASSERT_TRUE(st.ok()) << st;
  ASSERT_EQ(out.size(), 2 * golden["prompts"].size() + 1);
  for (size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i]["index"], i);
  for (size_t p = 0; p < golden["prompts"].size(); ++p) {
    const nlohmann::json& full = out[2 * p];
    const nlohmann::json& brief = out[2 * p + 1];
    EXPECT_EQ(full["prompt_ids"], golden["prompts"][p]["ids"]);
    EXPECT_EQ(full["token_ids"], golden["prompts"][p]["greedy"]) << p;
    EXPECT_EQ(full["finish_reason"], "length");
    EXPECT_FALSE(full["logprobs"][0].contains("top"));
    ASSERT_EQ(brief["token_ids"].size(), 3u);
    EXPECT_EQ(brief["token_ids"][2], golden["prompts"][p]["greedy"][2]);
    EXPECT_EQ(brief["logprobs"][0]["top"].size(), 2u);
  }
  EXPECT_EQ(out.back()["token_ids"].size(), 4u);
}

TEST(BatchGenerateCommandTest, BadLinesFailTheRunAndNameTheLine) {
  struct Case {
    std::string input;
    std::string message;
  };
  const Case cases[] = {
      {"{\"prompt_ids\": [1]}\nnot json\n", "line 2: not a JSON object"},
      {"{\"prompt_ids\": [1], \"temprature\": 1}\n", "line 1: unknown field \"temprature\""},
      {"{\"max_tokens\": 3}\n", "line 1: give exactly one of \"prompt\" (text) and \"prompt_ids\""},
      {"{\"prompt\": \"a\", \"prompt_ids\": [1]}\n", "line 1: give exactly one of"},
      {"{\"prompt\": \"a\", \"stop\": [\"\"]}\n", "line 1: stop[0] is an empty string"},
      {"{\"prompt_ids\": \"1 2\"}\n", "line 1: \"prompt_ids\" has the wrong type"},
      {"{\"prompt_ids\": [1]}\n{\"prompt_ids\": [1], \"top_p\": 0}\n", "line 2: top_p"},
      {"{\"prompt_ids\": [1], \"max_tokens\": 600}\n", "line 1: prompt (1 tokens) plus max_tokens (600)"},
      {"\n\n", "no requests"},
  };
  for (const Case& c : cases) {
    absl::Status st;
    const std::vector<nlohmann::json> out = RunLines(Config(), c.input, &st);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << c.input << st;
    EXPECT_NE(st.message().find(c.message), std::string::npos) << st;
    EXPECT_TRUE(out.empty());
  }
}

// Text prompts are encoded with the model's tokenizer, and a stop string ends
// generation with the text cut before it; the same prompt without a stop
// string runs to max_tokens in the same batch.
TEST(BatchGenerateCommandTest, TextPromptsAndStopStrings) {
  std::ifstream golden_file(kMixtral + "/golden.json");
  const nlohmann::json golden = nlohmann::json::parse(golden_file)["prompts"][0];
  const std::string input = nlohmann::json{{"prompt", golden["text"]}, {"stop", {"cup of", "zzz"}}}.dump() + "\n" +
                            nlohmann::json{{"prompt", golden["text"]}}.dump() + "\n";
  absl::Status st;
  const std::vector<nlohmann::json> out = RunLines(Config(), input, &st);
  ASSERT_TRUE(st.ok()) << st;
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0]["prompt_ids"], golden["ids"]);
  EXPECT_EQ(out[0]["finish_reason"], "stop");
  EXPECT_EQ(out[0]["text"], " with a clipboard and a ");  // the completion text keeps its leading space
  EXPECT_LT(out[0]["token_ids"].size(), 32u);
  EXPECT_EQ(out[1]["finish_reason"], "length");
  EXPECT_EQ(out[1]["token_ids"], golden["greedy"]);
  EXPECT_EQ(out[1]["text"], " " + golden["greedy_text"].get<std::string>());
}

}  // namespace
}  // namespace switchyard::server
