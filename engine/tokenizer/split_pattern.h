// Pattern matching and splitting shared by the Split / Digits pre-tokenizers
// and the Replace normalizer and decoder, following HF tokenizers' rules for
// how matches and the gaps between them become pieces.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/tokenizer/onig_regex.h"
#include "engine/tokenizer/word_splitter.h"
#include "nlohmann/json_fwd.hpp"

namespace switchyard::engine::tok {

// A literal string or an Oniguruma regex, from tokenizer.json's
// {"String": ...} / {"Regex": ...} objects.
class SplitPattern {
 public:
  static absl::StatusOr<SplitPattern> FromJson(const nlohmann::json& pattern);
  static absl::StatusOr<SplitPattern> Regex(std::string_view regex);
  static SplitPattern Literal(std::string literal);

  // Non-overlapping matches as [start, end) byte ranges.
  std::vector<std::pair<size_t, size_t>> FindAll(std::string_view text) const;

 private:
  std::string literal_;
  std::shared_ptr<const OnigRegex> regex_;
  std::shared_ptr<const WordSplitter> word_splitter_;  // when it knows the regex
};

// A span of text and whether the pattern matched it.
struct Span {
  size_t begin;
  size_t end;
  bool is_match;
};

// The whole of `text` cut into matches and the gaps between them, in order.
// Empty text gives one empty gap, as in HF.
std::vector<Span> MatchSpans(const SplitPattern& pattern, std::string_view text);

enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

absl::StatusOr<SplitBehavior> SplitBehaviorFromJson(const nlohmann::json& behavior);

// Applies `behavior` to spans: which spans survive and which get glued to a
// neighbour. The result may contain empty spans; callers drop them.
std::vector<std::pair<size_t, size_t>> ApplySplitBehavior(const std::vector<Span>& spans,
                                                          SplitBehavior behavior);

}  // namespace switchyard::engine::tok
