// The hand-written word splitters must find exactly Oniguruma's matches.
#include "engine/tokenizer/word_splitter.h"

#include <random>
#include <string>
#include <vector>

#include "engine/tokenizer/utf8.h"
#include "gtest/gtest.h"

namespace switchyard::engine::tok {
namespace {

const char* const kPatterns[] = {
    kGpt2WordRegex,
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
};

// Characters from every class the patterns distinguish, and the ones that
// trip up hand-written matchers: case-folded contractions (ſ, K), other
// scripts' digits and letters, Unicode spaces, marks, emoji.
const char32_t kAlphabet[] = {
    'a', 'Z', 's', 'S', 't', 'T', 'r', 'e', 'v', 'm', 'l', 'L', 'd', 'D', 0x17F, 0x212A, 0xDF,
    '0', '7', 0x663, 0x2167, 0xB2, ' ', ' ', ' ', '\t', '\n', '\r', 0x0B, 0x0C, 0x85, 0xA0,
    0x2000, 0x3000, 0x2028, 0x200B, '\'', '\'', '\'', '.', ',', '!', '-', '_', 0x2019, 0x301,
    0x93F, 0x4E2D, 0x3042, 0xAC00, 0x1F600, 0x1D4D7, 0xFE0F, 0x10FFFD, 0x1F1E9};

TEST(WordSplitter, MatchesOniguruma) {
  std::mt19937 rng(7);
  for (const char* pattern : kPatterns) {
    auto regex = OnigRegex::Compile(pattern);
    ASSERT_TRUE(regex.ok()) << regex.status();
    std::shared_ptr<const OnigRegex> shared = std::move(*regex);
    const auto splitter = WordSplitter::ForPattern(pattern, shared);
    ASSERT_NE(splitter, nullptr) << pattern;
    int wrong = 0;
    for (int round = 0; round < 20000; ++round) {
      std::string text;
      const int n = 1 + rng() % 24;
      for (int i = 0; i < n; ++i) AppendUtf8(kAlphabet[rng() % std::size(kAlphabet)], &text);
      if (splitter->FindAll(text) != shared->FindAll(text) && ++wrong <= 5) {
        ADD_FAILURE() << pattern << " on " << testing::PrintToString(text);
      }
    }
    EXPECT_EQ(wrong, 0) << pattern;
  }
}

TEST(WordSplitter, OnlyForKnownPatterns) {
  auto regex = OnigRegex::Compile(R"(\p{L}+)");
  ASSERT_TRUE(regex.ok());
  EXPECT_EQ(WordSplitter::ForPattern(R"(\p{L}+)", std::move(*regex)), nullptr);
}

}  // namespace
}  // namespace switchyard::engine::tok
