// Stop strings: generation ends when the decoded text of the generated tokens
// contains one of them, and the text returned stops before it (vLLM's
// default, include_stop_str_in_output = false).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "engine/tokenizer/tokenizer.h"

namespace switchyard::engine {

class StopStrings {
 public:
  // `tokenizer` must outlive this object.
  StopStrings(const Tokenizer& tokenizer, std::vector<std::string> stops);

  // Empty strings would stop at once: INVALID_ARGUMENT naming the index.
  static absl::Status Validate(const std::vector<std::string>& stops);

  // Whether the text of `generated` contains a stop string. Decodes the whole
  // continuation each call (O(n) per token): a stop string may span tokens,
  // and decoders such as SentencePiece's change a token's text by what
  // precedes it, so a suffix alone cannot be decoded reliably.
  bool Matches(absl::Span<const int32_t> generated) const;

  // The text of `generated` cut before the earliest stop string, if any.
  std::string Truncate(absl::Span<const int32_t> generated) const;

  bool empty() const { return stops_.empty(); }

 private:
  size_t FirstStop(const std::string& text) const;  // npos if none

  const Tokenizer& tokenizer_;
  std::vector<std::string> stops_;
};

}  // namespace switchyard::engine
