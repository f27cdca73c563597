// Hand-written matchers for the word-splitting regexes of GPT-2 (ByteLevel's
// use_regex), Qwen2 and Llama 3, which nearly every byte-level
// tokenizer.json uses. Oniguruma spends most of the encode time on them;
// these find the same matches (word_splitter_test.cc checks them against
// Oniguruma) several times faster. Other patterns stay with Oniguruma.
#pragma once

#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/tokenizer/onig_regex.h"

namespace switchyard::engine::tok {

// GPT-2's word regex, which ByteLevel uses when use_regex is set.
inline constexpr char kGpt2WordRegex[] =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class WordSplitter {
 public:
  // nullptr unless `pattern` is one of the known regexes; `regex` is that
  // pattern compiled, used where a match starts with an apostrophe (the
  // contraction alternatives, with Oniguruma's case folding).
  static std::unique_ptr<WordSplitter> ForPattern(std::string_view pattern,
                                                  std::shared_ptr<const OnigRegex> regex);

  // The same matches as regex->FindAll(text); `text` must be valid UTF-8.
  std::vector<std::pair<size_t, size_t>> FindAll(std::string_view text) const;

 private:
  enum class Flavor { kGpt2, kQwen2, kLlama3 };
  WordSplitter(Flavor flavor, std::shared_ptr<const OnigRegex> regex)
      : flavor_(flavor), regex_(std::move(regex)) {}
  long MatchAt(std::string_view text, size_t i) const;

  Flavor flavor_;
  std::shared_ptr<const OnigRegex> regex_;
};

}  // namespace switchyard::engine::tok
