// The completion text after a prompt, as the server returns it, against its
// definition Decode(prompt + completion) minus Decode(prompt), on every
// tokenizer the golden tests use (fixtures, the models' vocabularies, and the
// real ones when installed): one-shot (DecodeAfter), streamed
// (IncrementalDecoder::StartAfter, which keeps only a window of the prompt)
// and through the stop-string matcher, on random prompts and completions.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/tokenizer/incremental_decoder.h"
#include "engine/tokenizer/stop_strings.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/utf8.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace switchyard::engine {
namespace {

namespace fs = std::filesystem;

const fs::path kFixtures = fs::path(SWITCHYARD_SOURCE_DIR) / "tests" / "fixtures";

std::vector<std::string> GoldenNames() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(kFixtures / "tokenizer")) {
    const std::string file = entry.path().filename().string();
    if (file.ends_with(".golden.json")) names.push_back(file.substr(0, file.size() - 12));
  }
  std::sort(names.begin(), names.end());
  return names;
}

// The tokenizer.json of a golden file (as golden_test.cc finds it), or "".
std::string TokenizerPath(const std::string& name) {
  std::ifstream in(kFixtures / "tokenizer" / (name + ".golden.json"));
  const nlohmann::json source = nlohmann::json::parse(in)["source"];
  if (source.contains("fixture")) return (kFixtures / "tokenizer" / source["fixture"].get<std::string>()).string();
  if (source.contains("model_fixture")) return (kFixtures / source["model_fixture"].get<std::string>()).string();
  const std::string command =
      "python3 -c 'import importlib.util as u, sys; s = u.find_spec(sys.argv[1]); "
      "print(list(s.submodule_search_locations)[0] if s else \"\")' " +
      source["python_module"].get<std::string>() + " 2>/dev/null";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  std::string dir;
  char buffer[4096];
  while (pipe != nullptr && fgets(buffer, sizeof(buffer), pipe.get()) != nullptr) dir += buffer;
  while (!dir.empty() && (dir.back() == '\n' || dir.back() == '\r')) dir.pop_back();
  const fs::path path = fs::path(dir) / source["file"].get<std::string>();
  return !dir.empty() && fs::exists(path) ? path.string() : "";
}

// The definition: what the completion adds to the prompt's text, decoding
// both in full. Should the completion rewrite the prompt's last, unfinished
// character (its bytes read U+FFFD), the text starts with that character.
std::string Expected(const Tokenizer& t, const std::vector<int32_t>& prompt, const std::vector<int32_t>& completion,
                     bool skip) {
  std::vector<int32_t> all = prompt;
  all.insert(all.end(), completion.begin(), completion.end());
  const std::string full = t.Decode(all, skip);
  const std::string before = t.Decode(prompt, skip);
  if (full.starts_with(before)) return full.substr(before.size());
  size_t n = 0;
  while (n < std::min(full.size(), before.size()) && full[n] == before[n]) ++n;
  while (n > 0 && n < full.size() && (static_cast<unsigned char>(full[n]) & 0xC0) == 0x80) --n;
  return full.substr(n);
}

class DecodeAfterTest : public testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const std::string path = TokenizerPath(GetParam());
    if (path.empty()) GTEST_SKIP() << "real vocabulary not installed";
    auto loaded = Tokenizer::FromFile(path);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    tokenizer_ = std::move(*loaded);
  }

  // Random ids: often from encoded text (words, emoji, CJK, combining marks:
  // byte tokens and split characters), else anywhere in the vocabulary,
  // unknown ids included.
  std::vector<int32_t> RandomIds(std::mt19937& rng, int max_len) {
    static const char* const kTexts[] = {"The yard master walked the length of the platform",
                                         " with a clipboard", "😀👨‍👩‍👧 你好 e\xCC\x81 \xE2\x82\xAC ẞ", "  two  spaces\n",
                                         "ab", " x"};
    std::vector<int32_t> ids;
    const int n = 1 + static_cast<int>(rng() % max_len);
    while (static_cast<int>(ids.size()) < n) {
      if (rng() % 3 != 0) {
        const std::vector<int32_t> text = tokenizer_->Encode(kTexts[rng() % 6], rng() % 4 == 0);
        const size_t from = rng() % text.size();
        ids.insert(ids.end(), text.begin() + from, text.begin() + std::min(text.size(), from + 1 + rng() % 6));
      } else {
        ids.push_back(static_cast<int32_t>(rng() % (tokenizer_->vocab_size() + 5)));
      }
    }
    ids.resize(n);
    return ids;
  }

  std::unique_ptr<Tokenizer> tokenizer_;
};

TEST_P(DecodeAfterTest, MatchesTheFullDecodeDefinition) {
  const Tokenizer& t = *tokenizer_;
  std::mt19937 rng(7);
  int wrong = 0;
  for (int round = 0; round < 300; ++round) {
    // Long prompts now and then, so that the window really is a window.
    const std::vector<int32_t> prompt = RandomIds(rng, round % 5 == 0 ? 200 : 30);
    const std::vector<int32_t> completion = RandomIds(rng, 25);
    for (const bool skip : {true, false}) {
      const std::string expected = Expected(t, prompt, completion, skip);
      IncrementalDecoder decoder(t, skip);
      decoder.StartAfter(prompt);
      std::string streamed;
      for (const int32_t id : completion) {
        const std::string piece = decoder.Add(id);
        EXPECT_TRUE(tok::IsValidUtf8(piece));
        streamed += piece;
      }
      streamed += decoder.Flush();
      if ((streamed != expected || DecodeAfter(t, prompt, completion, skip) != expected) && ++wrong <= 3) {
        ADD_FAILURE() << "prompt " << testing::PrintToString(prompt) << "\ncompletion "
                      << testing::PrintToString(completion) << " skip " << skip << "\nexpected '" << expected
                      << "'\nstreamed '" << streamed << "'";
      }
    }
  }
  EXPECT_EQ(wrong, 0);
}

TEST_P(DecodeAfterTest, StopStringsMatchTheCompletionText) {
  const Tokenizer& t = *tokenizer_;
  std::mt19937 rng(11);
  int wrong = 0;
  for (int round = 0; round < 60; ++round) {
    const std::vector<int32_t> prompt = RandomIds(rng, 40);
    const std::vector<int32_t> completion = RandomIds(rng, 20);
    const std::string text = Expected(t, prompt, completion, true);
    // A stop string from the text, whole characters, often at its start
    // (where a leading space is the difference).
    size_t from = rng() % 2 == 0 ? 0 : rng() % (text.size() + 1);
    size_t to = std::min(text.size(), from + 1 + rng() % 6);
    while (from > 0 && from < text.size() && (static_cast<unsigned char>(text[from]) & 0xC0) == 0x80) --from;
    while (to < text.size() && (static_cast<unsigned char>(text[to]) & 0xC0) == 0x80) ++to;
    if (to <= from) continue;
    const std::string stop = text.substr(from, to - from);
    StopStrings stops(t, {stop}, prompt);
    for (size_t k = 1; k <= completion.size(); ++k) {
      const std::vector<int32_t> generated(completion.begin(), completion.begin() + k);
      const bool expected = Expected(t, prompt, generated, true).find(stop) != std::string::npos;
      if (stops.Matches(generated) != expected && ++wrong <= 3) {
        ADD_FAILURE() << "stop '" << stop << "' after " << k << " tokens of " << testing::PrintToString(completion)
                      << " prompt " << testing::PrintToString(prompt);
      }
    }
    const std::string truncated = stops.Truncate(completion);
    if (truncated != text.substr(0, text.find(stop)) && ++wrong <= 3) {
      ADD_FAILURE() << "truncated '" << truncated << "' text '" << text << "' stop '" << stop << "'";
    }
  }
  EXPECT_EQ(wrong, 0);
}

// However long the prompt, the window is its last few tokens.
TEST_P(DecodeAfterTest, TheWindowIsBounded) {
  std::string long_text;
  for (int i = 0; i < 200; ++i) long_text += "The yard master walked the length of the platform. ";
  const std::vector<int32_t> prompt = tokenizer_->Encode(long_text);
  ASSERT_GT(prompt.size(), 1000u);
  const size_t start = IncrementalDecoder::PromptWindowStart(*tokenizer_, prompt, true);
  EXPECT_GE(start, prompt.size() - 16);
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, DecodeAfterTest, testing::ValuesIn(GoldenNames()),
                         [](const testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace switchyard::engine
