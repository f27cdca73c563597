// A compiled Oniguruma regex with the match iteration HF tokenizers uses.
// tokenizer.json patterns are written for Oniguruma (look-ahead, \p{..},
// possessive forms), so the same engine is the only way to split text the
// same way.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace switchyard::engine::tok {

class OnigRegex {
 public:
  // `pattern` in Oniguruma's default syntax over UTF-8, as tokenizer.json has it.
  static absl::StatusOr<std::unique_ptr<OnigRegex>> Compile(std::string_view pattern);
  ~OnigRegex();
  OnigRegex(const OnigRegex&) = delete;
  OnigRegex& operator=(const OnigRegex&) = delete;

  // All non-overlapping matches in `text` as [start, end) byte ranges. An
  // empty match right where the previous match ended is skipped by advancing
  // one character, as the onig crate (and hence HF) does. Thread-safe.
  std::vector<std::pair<size_t, size_t>> FindAll(std::string_view text) const;

  // Length of the match that starts exactly at text[start], or -1.
  long MatchAt(std::string_view text, size_t start) const;

 private:
  explicit OnigRegex(void* regex) : regex_(regex) {}
  void* regex_;  // OnigRegex; void* keeps oniguruma.h out of this header
};

}  // namespace switchyard::engine::tok
