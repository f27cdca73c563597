#include "engine/tokenizer/split_pattern.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "nlohmann/json.hpp"

namespace switchyard::engine::tok {

absl::StatusOr<SplitPattern> SplitPattern::FromJson(const nlohmann::json& pattern) {
  if (pattern.is_object() && pattern.size() == 1) {
    if (const auto it = pattern.find("String"); it != pattern.end() && it->is_string()) {
      if (it->get_ref<const std::string&>().empty()) {
        return absl::InvalidArgumentError("empty String pattern in tokenizer.json");
      }
      return Literal(it->get<std::string>());
    }
    if (const auto it = pattern.find("Regex"); it != pattern.end() && it->is_string()) {
      return Regex(it->get_ref<const std::string&>());
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("pattern must be {\"String\": ...} or {\"Regex\": ...}, got ", pattern.dump()));
}

absl::StatusOr<SplitPattern> SplitPattern::Regex(std::string_view regex) {
  SplitPattern p;
  ASSIGN_OR_RETURN(std::unique_ptr<OnigRegex> compiled, OnigRegex::Compile(regex));
  p.regex_ = std::move(compiled);
  p.word_splitter_ = WordSplitter::ForPattern(regex, p.regex_);
  return p;
}

SplitPattern SplitPattern::Literal(std::string literal) {
  SplitPattern p;
  p.literal_ = std::move(literal);
  return p;
}

std::vector<std::pair<size_t, size_t>> SplitPattern::FindAll(std::string_view text) const {
  if (word_splitter_ != nullptr) return word_splitter_->FindAll(text);
  if (regex_ != nullptr) return regex_->FindAll(text);
  std::vector<std::pair<size_t, size_t>> matches;
  for (size_t pos = text.find(literal_); pos != std::string_view::npos;
       pos = text.find(literal_, pos + literal_.size())) {
    matches.emplace_back(pos, pos + literal_.size());
  }
  return matches;
}

std::vector<Span> MatchSpans(const SplitPattern& pattern, std::string_view text) {
  std::vector<Span> spans;
  if (text.empty()) {
    spans.push_back({0, 0, false});
    return spans;
  }
  size_t prev = 0;
  for (const auto& [begin, end] : pattern.FindAll(text)) {
    if (prev != begin) spans.push_back({prev, begin, false});
    spans.push_back({begin, end, true});
    prev = end;
  }
  if (prev != text.size()) spans.push_back({prev, text.size(), false});
  return spans;
}

absl::StatusOr<SplitBehavior> SplitBehaviorFromJson(const nlohmann::json& behavior) {
  const std::string name = behavior.is_string() ? behavior.get<std::string>() : behavior.dump();
  if (name == "Removed") return SplitBehavior::kRemoved;
  if (name == "Isolated") return SplitBehavior::kIsolated;
  if (name == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (name == "Contiguous") return SplitBehavior::kContiguous;
  return absl::InvalidArgumentError(absl::StrCat("unknown split behavior ", name));
}

std::vector<std::pair<size_t, size_t>> ApplySplitBehavior(const std::vector<Span>& spans,
                                                          SplitBehavior behavior) {
  std::vector<std::pair<size_t, size_t>> out;
  bool prev_match = false;
  switch (behavior) {
    case SplitBehavior::kIsolated:
      for (const Span& s : spans) out.emplace_back(s.begin, s.end);
      break;
    case SplitBehavior::kRemoved:
      for (const Span& s : spans) {
        if (!s.is_match) out.emplace_back(s.begin, s.end);
      }
      break;
    case SplitBehavior::kContiguous:
      // Runs of spans with the same match state become one piece.
      for (const Span& s : spans) {
        if (!out.empty() && s.is_match == prev_match) {
          out.back().second = s.end;
        } else {
          out.emplace_back(s.begin, s.end);
        }
        prev_match = s.is_match;
      }
      break;
    case SplitBehavior::kMergedWithPrevious:
      // A match joins the piece before it, unless that piece is a match too.
      for (const Span& s : spans) {
        if (!out.empty() && s.is_match && !prev_match) {
          out.back().second = s.end;
        } else {
          out.emplace_back(s.begin, s.end);
        }
        prev_match = s.is_match;
      }
      break;
    case SplitBehavior::kMergedWithNext:
      // Mirror image: walk backwards and let a match join the piece after it.
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (!out.empty() && it->is_match && !prev_match) {
          out.back().first = it->begin;
        } else {
          out.emplace_back(it->begin, it->end);
        }
        prev_match = it->is_match;
      }
      std::reverse(out.begin(), out.end());
      break;
  }
  return out;
}

}  // namespace switchyard::engine::tok
