// Added tokens (tokenizer.json "added_tokens"): special and user tokens that
// are cut out of the text whole before the normalizer and BPE see it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "engine/tokenizer/bpe_model.h"
#include "engine/tokenizer/normalizer.h"
#include "engine/tokenizer/onig_regex.h"
#include "engine/tokenizer/absl_view.h"
#include "nlohmann/json_fwd.hpp"

namespace switchyard::engine::tok {

struct AddedToken {
  std::string content;
  bool special = false;
  bool single_word = false;  // only match where no word character touches it
  bool lstrip = false;       // also swallow the whitespace before it
  bool rstrip = false;       // also swallow the whitespace after it
  bool normalized = true;    // match against normalized text, not raw input
  bool operator==(const AddedToken&) const = default;
};

// A stretch of text that is either an added token (`id` set) or plain text.
struct Segment {
  size_t begin;
  size_t end;
  std::optional<int32_t> id;
};

class AddedVocabulary {
 public:
  // Assigns ids the way HF tokenizers does when it loads the file: a token
  // already in the model vocabulary keeps that id, others are numbered after
  // it; the ids written in the file are not consulted.
  static absl::StatusOr<std::unique_ptr<AddedVocabulary>> FromJson(
      const nlohmann::json& added_tokens, const BpeModel& model, const Normalizer* normalizer);

  // Splits raw input at the tokens with normalized=false.
  std::vector<Segment> SplitRaw(std::string_view text) const { return Split(raw_, text); }
  // Splits already-normalized text at the tokens with normalized=true.
  std::vector<Segment> SplitNormalized(std::string_view text) const {
    return Split(normalized_, text);
  }

  std::optional<int32_t> TokenToId(std::string_view content) const;
  // The token string HF decodes an added token from: its content, normalized
  // if the token matches normalized text. nullptr if id is no added token.
  const std::string* IdToToken(int32_t id) const;
  // HF skips a token when decoding without specials if its string is the
  // content of a special token (so a normalized special token whose
  // normalized form differs is not skipped).
  bool IsSpecialContent(std::string_view token) const {
    return special_contents_.contains(AbslView(token));
  }
  bool IsSpecialId(int32_t id) const;
  int32_t max_id() const;

 private:
  // Leftmost-longest matching of many literal patterns, as HF's Aho-Corasick
  // automaton does it, over a byte trie.
  struct Matcher {
    struct Node {
      std::vector<std::pair<unsigned char, int32_t>> children;  // sorted by byte
      int32_t token_id = -1;  // a pattern ends here
    };
    std::vector<Node> nodes{1};
    bool first_byte[256] = {};
    void Add(std::string_view pattern, int32_t id);
    // Longest pattern starting at text[pos]: its length and id, or length 0.
    std::pair<size_t, int32_t> LongestAt(std::string_view text, size_t pos) const;
  };

  AddedVocabulary() = default;
  std::vector<Segment> Split(const Matcher& matcher, std::string_view text) const;
  bool IsWordCharAt(std::string_view text, size_t pos) const;

  absl::flat_hash_map<std::string, int32_t> content_to_id_;
  absl::flat_hash_map<int32_t, AddedToken> id_to_token_;
  absl::flat_hash_map<int32_t, std::string> decode_text_;  // see IdToToken
  absl::flat_hash_set<std::string> special_contents_;
  Matcher raw_;
  Matcher normalized_;
  std::unique_ptr<OnigRegex> word_char_;  // Rust's \w, for single_word tokens
};

}  // namespace switchyard::engine::tok
