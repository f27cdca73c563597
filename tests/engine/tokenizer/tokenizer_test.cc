// Loading, refusals, special tokens and robustness of Tokenizer; exactness
// against HF is golden_test.cc's job.
#include "engine/tokenizer/tokenizer.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace switchyard::engine {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const fs::path kFixtures = fs::path(SWITCHYARD_SOURCE_DIR) / "tests/fixtures/tokenizer";

// A tiny byte-level BPE: letters a..c, "ab", "abc", and space as 'Ġ'.
nlohmann::json TinyTokenizer() {
  return nlohmann::json::parse(R"({
    "version": "1.0", "truncation": null, "padding": null,
    "added_tokens": [
      {"id": 6, "content": "<s>", "special": true, "normalized": false,
       "lstrip": false, "rstrip": false, "single_word": false},
      {"id": 7, "content": "<m>", "special": false, "normalized": false,
       "lstrip": true, "rstrip": true, "single_word": false},
      {"id": 8, "content": "<w>", "special": false, "normalized": false,
       "lstrip": false, "rstrip": false, "single_word": true}],
    "normalizer": null,
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
    "post_processor": null,
    "decoder": {"type": "ByteLevel"},
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "c": 2, "ab": 3, "abc": 4, "Ġ": 5},
              "merges": [["a", "b"], "ab c"]}
  })");
}

absl::StatusOr<std::unique_ptr<Tokenizer>> Load(const nlohmann::json& json,
                                                const std::string& config = "") {
  return Tokenizer::FromJson(json.dump(), config);
}

TEST(Tokenizer, EncodesWithBothMergeForms) {
  auto t = Load(TinyTokenizer());
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT((*t)->Encode("abc ab a"), ElementsAre(4, 5, 3, 5, 0));
  EXPECT_EQ((*t)->Decode({4, 5, 3, 5, 0}), "abc ab a");
  EXPECT_EQ((*t)->vocab_size(), 9);
}

TEST(Tokenizer, AddedTokenOptions) {
  auto t = Load(TinyTokenizer());
  ASSERT_TRUE(t.ok()) << t.status();
  // <m> swallows the whitespace around it; <w> only matches as a word.
  EXPECT_THAT((*t)->Encode("a  <m>  b"), ElementsAre(0, 7, 1));
  EXPECT_THAT((*t)->Encode("a <w> b"), ElementsAre(0, 5, 8, 5, 1));
  // Inside a word it is not matched; its bytes are not in the vocabulary.
  EXPECT_THAT((*t)->Encode("a<w>b"), ElementsAre(0, 1));
  EXPECT_THAT((*t)->Encode("<s>a"), ElementsAre(6, 0));
  EXPECT_EQ((*t)->Decode({6, 0}, /*skip_special_tokens=*/true), "a");
  EXPECT_EQ((*t)->Decode({6, 0}, /*skip_special_tokens=*/false), "<s>a");
  EXPECT_TRUE((*t)->IsSpecial(6));
  EXPECT_FALSE((*t)->IsSpecial(7));
  EXPECT_EQ((*t)->TokenToId("<m>"), 7);
  EXPECT_EQ((*t)->TokenToId("abc"), 4);
  EXPECT_EQ((*t)->TokenToId("zzz"), std::nullopt);
}

TEST(Tokenizer, UnknownIdsDecodeToNothing) {
  auto t = Load(TinyTokenizer());
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ((*t)->Decode({0, 1000, -1, 1}), "ab");
}

TEST(Tokenizer, InvalidUtf8IsReadAsReplacementCharacters) {
  auto t = Tokenizer::FromFile((kFixtures / "bytelevel_qwen/tokenizer.json").string());
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ((*t)->Encode("a\xE2\x82 b\xFF"), (*t)->Encode("a\xEF\xBF\xBD b\xEF\xBF\xBD"));
}

struct Refusal {
  const char* field;
  const char* json;
  const char* message;
};

class RefusesUnsupported : public testing::TestWithParam<Refusal> {};

TEST_P(RefusesUnsupported, NamesTheComponent) {
  nlohmann::json json = TinyTokenizer();
  const Refusal& r = GetParam();
  nlohmann::json value = nlohmann::json::parse(r.json);
  if (std::string(r.field) == "model") {
    json["model"].update(value);
  } else {
    json[r.field] = value;
  }
  auto t = Load(json);
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(std::string(t.status().message()), HasSubstr(r.message));
}

INSTANTIATE_TEST_SUITE_P(
    Components, RefusesUnsupported,
    testing::Values(
        Refusal{"normalizer", R"({"type": "NFKC"})",
                "unsupported normalizer 'NFKC' in tokenizer.json; supported: Sequence, NFC"},
        Refusal{"normalizer", R"({"type": "Sequence", "normalizers": [{"type": "Lowercase"}]})",
                "unsupported normalizer 'Lowercase'"},
        Refusal{"pre_tokenizer", R"({"type": "Whitespace"})", "unsupported pre_tokenizer 'Whitespace'"},
        Refusal{"decoder", R"({"type": "WordPiece", "prefix": "##"})", "unsupported decoder 'WordPiece'"},
        Refusal{"post_processor", R"({"type": "Custom"})", "unsupported post_processor 'Custom'"},
        Refusal{"model", R"({"type": "Unigram"})", "unsupported model 'Unigram'"},
        Refusal{"model", R"({"dropout": 0.1})", "dropout"},
        Refusal{"model", R"({"unk_token": "<unk>"})", "unk_token '<unk>' is not in the vocabulary"},
        Refusal{"model", R"({"merges": ["a x"]})", "missing from the vocabulary"},
        Refusal{"pre_tokenizer", R"({"type": "Split", "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated"})",
                "bad regex '(unclosed'"},
        // Encode would emit the id as written, past the model's vocabulary
        // (found by tests/fuzz/fuzz_tokenizer_json).
        Refusal{"post_processor", R"({"type": "TemplateProcessing",
                  "single": [{"SpecialToken": {"id": "<x>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                  "special_tokens": {"<x>": {"id": "<x>", "ids": [99], "tokens": ["<x>"]}}})",
                "post_processor special token id 99 is not in the vocabulary"}));

TEST(Tokenizer, BosAndEosFromPostProcessorOrConfig) {
  nlohmann::json json = TinyTokenizer();
  json["post_processor"] = nlohmann::json::parse(R"({"type": "TemplateProcessing",
      "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                 {"SpecialToken": {"id": "<m>", "type_id": 0}}],
      "special_tokens": {"<s>": {"id": "<s>", "ids": [6], "tokens": ["<s>"]},
                         "<m>": {"id": "<m>", "ids": [7], "tokens": ["<m>"]}}})");
  auto t = Load(json);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT((*t)->Encode("a"), ElementsAre(6, 0, 7));
  EXPECT_THAT((*t)->Encode("a", /*add_special_tokens=*/false), ElementsAre(0));
  EXPECT_EQ((*t)->bos_id(), 6);
  EXPECT_EQ((*t)->eos_id(), 7);

  auto configured = Load(json, R"({"bos_token": null, "eos_token": {"content": "<w>"}})");
  ASSERT_TRUE(configured.ok()) << configured.status();
  EXPECT_EQ((*configured)->bos_id(), 6);
  EXPECT_EQ((*configured)->eos_id(), 8);
  EXPECT_FALSE(Load(json, R"({"eos_token": "<nope>"})").ok());
}

TEST(Tokenizer, FromModelDirReadsTheConfigBesideIt) {
  auto t = Tokenizer::FromModelDir((kFixtures / "bytelevel_llama3").string());
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ((*t)->bos_id(), (*t)->TokenToId("<|begin_of_text|>"));
  EXPECT_EQ((*t)->eos_id(), (*t)->TokenToId("<|eot_id|>"));
  EXPECT_FALSE(Tokenizer::FromModelDir("/nonexistent").ok());
}

TEST(Tokenizer, ConcurrentEncodesAgree) {
  auto t = Tokenizer::FromFile((kFixtures / "bytelevel_qwen/tokenizer.json").string());
  ASSERT_TRUE(t.ok()) << t.status();
  std::ifstream in(kFixtures / "strings.json");
  const std::vector<std::string> strings = nlohmann::json::parse(in);
  std::vector<std::vector<int32_t>> want;
  for (const auto& s : strings) want.push_back((*t)->Encode(s));
  std::vector<int> wrong(4, 0);
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      for (int round = 0; round < 3; ++round) {
        for (size_t i = k; i < strings.size(); i += 1 + k) {
          if ((*t)->Encode(strings[i]) != want[i]) ++wrong[k];
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_THAT(wrong, ElementsAre(0, 0, 0, 0));
}

// Long inputs must not hit quadratic paths: one huge SentencePiece "word",
// long runs of whitespace, digits and combining marks.
TEST(Tokenizer, LongInputsAreFast) {
  for (const char* name : {"spm_metaspace", "bytelevel_qwen", "spm_legacy"}) {
    auto t = Tokenizer::FromFile((kFixtures / name / "tokenizer.json").string());
    ASSERT_TRUE(t.ok()) << t.status();
    std::string text;
    for (int i = 0; i < 20000; ++i) text += "rail yard ";
    text += std::string(100000, 'a') + std::string(50000, ' ') + std::string(50000, '7');
    for (int i = 0; i < 20000; ++i) text += "e\xCC\x81";
    const auto start = std::chrono::steady_clock::now();
    const std::vector<int32_t> ids = (*t)->Encode(text);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_LT(secs, 2.0) << name;
    EXPECT_GT(ids.size(), 40000u) << name;
  }
}

}  // namespace
}  // namespace switchyard::engine
