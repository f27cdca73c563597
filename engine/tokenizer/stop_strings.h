// Stop strings: generation ends when the completion text of the generated
// tokens (Decode(prompt + generated) minus Decode(prompt), see
// IncrementalDecoder::StartAfter) contains one of them, and the text returned
// stops before it (vLLM's default, include_stop_str_in_output = false).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "engine/tokenizer/incremental_decoder.h"
#include "engine/tokenizer/tokenizer.h"

namespace switchyard::engine {

class StopStrings {
 public:
  // `tokenizer` must outlive this object. The generated tokens continue
  // `prompt` (only its last few tokens are kept).
  StopStrings(const Tokenizer& tokenizer, std::vector<std::string> stops, absl::Span<const int32_t> prompt = {});

  // Empty strings would stop at once: INVALID_ARGUMENT naming the index.
  static absl::Status Validate(const std::vector<std::string>& stops);

  // Whether the completion text of `generated` contains a stop string. Meant
  // to be called once per new token with all tokens so far: it decodes only
  // the tokens added since the last call (a stop string may span tokens, so
  // the end of the text before them is kept) and so costs O(1) per token;
  // `generated` shorter than, or not ending as, the last call's tokens
  // starts over.
  bool Matches(absl::Span<const int32_t> generated);

  // The completion text of `generated` cut before the earliest stop string,
  // if any.
  std::string Truncate(absl::Span<const int32_t> generated) const;

  bool empty() const { return stops_.empty(); }

 private:
  size_t FirstStop(const std::string& text) const;  // npos if none
  void Restart();

  const Tokenizer& tokenizer_;
  std::vector<std::string> stops_;
  std::vector<int32_t> prompt_window_;  // the prompt's tokens the decoder keeps
  size_t keep_ = 0;                     // longest stop string - 1
  // Matches' state: the decoder past the tokens it has seen, and the last
  // keep_ bytes of the final text, where a stop string may have begun.
  IncrementalDecoder decoder_;
  size_t seen_ = 0;       // tokens fed to decoder_
  int32_t last_ = 0;      // the last of them
  std::string tail_;
  bool matched_ = false;  // the text already contains a stop string
};

}  // namespace switchyard::engine
