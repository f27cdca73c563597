#include "engine/tokenizer/added_vocabulary.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "engine/tokenizer/json_util.h"
#include "engine/tokenizer/utf8.h"
#include "nlohmann/json.hpp"

namespace switchyard::engine::tok {
namespace {

absl::StatusOr<AddedToken> ParseToken(const nlohmann::json& json) {
  AddedToken t;
  ASSIGN_OR_RETURN(t.content, StringField(json, "content"));
  ASSIGN_OR_RETURN(t.special, BoolField(json, "special", false));
  ASSIGN_OR_RETURN(t.single_word, BoolField(json, "single_word", false));
  ASSIGN_OR_RETURN(t.lstrip, BoolField(json, "lstrip", false));
  ASSIGN_OR_RETURN(t.rstrip, BoolField(json, "rstrip", false));
  ASSIGN_OR_RETURN(t.normalized, BoolField(json, "normalized", true));
  return t;
}

// Start of the run of whitespace that ends text[..end].
size_t WhitespaceRunBefore(std::string_view text, size_t end) {
  while (end > 0) {
    size_t start = end - 1;
    while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
    size_t len;
    if (!IsUnicodeWhitespace(DecodeUtf8(text, start, &len))) break;
    end = start;
  }
  return end;
}

// End of the run of whitespace that starts at text[begin].
size_t WhitespaceRunAfter(std::string_view text, size_t begin) {
  while (begin < text.size()) {
    size_t len;
    if (!IsUnicodeWhitespace(DecodeUtf8(text, begin, &len))) break;
    begin += len;
  }
  return begin;
}

}  // namespace

absl::StatusOr<std::unique_ptr<AddedVocabulary>> AddedVocabulary::FromJson(
    const nlohmann::json& added_tokens, const BpeModel& model, const Normalizer* normalizer) {
  std::unique_ptr<AddedVocabulary> v(new AddedVocabulary());
  if (added_tokens.is_null()) return v;
  if (!added_tokens.is_array()) {
    return absl::InvalidArgumentError("added_tokens in tokenizer.json is not a list");
  }
  std::vector<AddedToken> tokens;
  for (const auto& item : added_tokens) {
    ASSIGN_OR_RETURN(AddedToken t, ParseToken(item));
    tokens.push_back(std::move(t));
  }
  // Matching order: special tokens first, then the others, each in file order.
  std::vector<std::string> special_order, other_order;
  for (const AddedToken& t : tokens) {
    if (t.special && !t.content.empty() && v->special_contents_.insert(t.content).second) {
      special_order.push_back(t.content);
    }
  }
  for (const AddedToken& t : tokens) {
    if (t.content.empty()) continue;
    const bool seen = std::any_of(v->id_to_token_.begin(), v->id_to_token_.end(),
                                  [&](const auto& e) { return e.second == t; });
    if (seen) continue;
    int32_t id;
    if (const auto it = v->content_to_id_.find(t.content); it != v->content_to_id_.end()) {
      id = it->second;
    } else if (const auto model_id = model.TokenToId(t.content)) {
      id = *model_id;
    } else {
      // HF numbers new tokens from the vocabulary's entry count.
      const int32_t count = static_cast<int32_t>(model.size());
      id = count;
      if (!v->content_to_id_.empty()) {
        int32_t max = INT32_MIN;
        for (const auto& [c, i] : v->content_to_id_) max = std::max(max, i);
        if (max >= count || count == 0) id = max + 1;
      }
    }
    v->content_to_id_[t.content] = id;
    v->id_to_token_[id] = t;
    if (!v->special_contents_.contains(t.content)) other_order.push_back(t.content);
  }
  for (const auto* order : {&special_order, &other_order}) {
    for (const std::string& content : *order) {
      const int32_t id = v->content_to_id_.at(content);
      if (!v->id_to_token_.at(id).normalized) {
        v->raw_.Add(content, id);
        continue;
      }
      std::string pattern = content;
      if (normalizer != nullptr) normalizer->Normalize(&pattern);
      v->normalized_.Add(pattern, id);
    }
  }
  for (const auto& [id, token] : v->id_to_token_) {
    std::string text = token.content;
    if (token.normalized && normalizer != nullptr) normalizer->Normalize(&text);
    v->decode_text_[id] = std::move(text);
  }
  // Rust's regex \w, which HF tests (Oniguruma's own \w differs: it takes
  // "²" but not the zero-width joiners).
  ASSIGN_OR_RETURN(v->word_char_,
                   OnigRegex::Compile(R"([\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}])"));
  return v;
}

void AddedVocabulary::Matcher::Add(std::string_view pattern, int32_t id) {
  if (pattern.empty()) return;
  first_byte[static_cast<unsigned char>(pattern[0])] = true;
  int32_t node = 0;
  for (const char ch : pattern) {
    const auto b = static_cast<unsigned char>(ch);
    auto& children = nodes[node].children;
    auto it = std::lower_bound(children.begin(), children.end(), b,
                               [](const auto& c, unsigned char x) { return c.first < x; });
    if (it == children.end() || it->first != b) {
      const int32_t child = static_cast<int32_t>(nodes.size());
      it = children.insert(it, {b, child});
      nodes.emplace_back();
    }
    node = it->second;
  }
  // The first pattern to claim a string keeps it, as Aho-Corasick prefers
  // the earlier pattern among equal matches.
  if (nodes[node].token_id < 0) nodes[node].token_id = id;
}

std::pair<size_t, int32_t> AddedVocabulary::Matcher::LongestAt(std::string_view text,
                                                               size_t pos) const {
  std::pair<size_t, int32_t> best{0, -1};
  int32_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    const auto b = static_cast<unsigned char>(text[i]);
    const auto& children = nodes[node].children;
    const auto it = std::lower_bound(children.begin(), children.end(), b,
                                     [](const auto& c, unsigned char x) { return c.first < x; });
    if (it == children.end() || it->first != b) break;
    node = it->second;
    if (nodes[node].token_id >= 0) best = {i + 1 - pos, nodes[node].token_id};
  }
  return best;
}

bool AddedVocabulary::IsWordCharAt(std::string_view text, size_t pos) const {
  return word_char_->MatchAt(text, pos) >= 0;
}

// Mirrors HF's find_matches: scan for leftmost-longest matches; drop a
// single_word match that touches a word character (the scan does not retry
// inside it); widen lstrip/rstrip matches over adjacent whitespace.
std::vector<Segment> AddedVocabulary::Split(const Matcher& matcher, std::string_view text) const {
  std::vector<Segment> segments;
  size_t done = 0;  // end of the last emitted segment
  for (size_t pos = 0; pos < text.size();) {
    if (!matcher.first_byte[static_cast<unsigned char>(text[pos])]) {
      ++pos;
      continue;
    }
    const auto [len, id] = matcher.LongestAt(text, pos);
    if (len == 0) {
      ++pos;
      continue;
    }
    size_t start = pos, stop = pos + len;
    pos = stop;
    const AddedToken& token = id_to_token_.at(id);
    if (token.single_word) {
      size_t prev = start;
      if (prev > 0) {
        --prev;
        while (prev > 0 && (static_cast<unsigned char>(text[prev]) & 0xC0) == 0x80) --prev;
      }
      const bool word_before = start > 0 && IsWordCharAt(text, prev);
      const bool word_after = stop < text.size() && IsWordCharAt(text, stop);
      if (word_before || word_after) continue;
    }
    if (token.lstrip) start = std::max(WhitespaceRunBefore(text, start), done);
    if (token.rstrip) stop = WhitespaceRunAfter(text, stop);
    if (done < start) segments.push_back({done, start, std::nullopt});
    segments.push_back({start, stop, id});
    done = stop;
  }
  if (done < text.size() || segments.empty()) segments.push_back({done, text.size(), std::nullopt});
  return segments;
}

std::optional<int32_t> AddedVocabulary::TokenToId(std::string_view content) const {
  const auto it = content_to_id_.find(AbslView(content));
  if (it == content_to_id_.end()) return std::nullopt;
  return it->second;
}

const std::string* AddedVocabulary::IdToToken(int32_t id) const {
  const auto it = decode_text_.find(id);
  return it == decode_text_.end() ? nullptr : &it->second;
}

bool AddedVocabulary::IsSpecialId(int32_t id) const {
  const auto it = id_to_token_.find(id);
  return it != id_to_token_.end() && it->second.special;
}

int32_t AddedVocabulary::max_id() const {
  int32_t max = -1;
  for (const auto& [id, token] : id_to_token_) max = std::max(max, id);
  return max;
}

}  // namespace switchyard::engine::tok
