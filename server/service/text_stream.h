// The text of a generation as it streams: the completion text after the
// prompt, Decode(prompt + generated) minus Decode(prompt) (so the first
// token's leading space is kept, as vLLM and TGI do). Pieces never split a
// UTF-8 character, and with stop strings the tail that could be the start of
// one is held back, so the pieces always concatenate to the final text, which
// ends before the first stop string (vLLM's include_stop_str_in_output =
// false).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "engine/tokenizer/incremental_decoder.h"
#include "engine/tokenizer/tokenizer.h"

namespace switchyard::server {

class TextStream {
 public:
  // `tokenizer` must outlive this object; the generated tokens continue
  // `prompt` (only its last few tokens are kept).
  TextStream(const engine::Tokenizer& tokenizer, std::vector<std::string> stops,
             absl::Span<const int32_t> prompt = {});

  // The text of one more generated token that is now final (possibly empty).
  std::string Add(int32_t id);
  // The rest of the text, cut before the first stop string, once the
  // generation has ended.
  std::string Finish();

 private:
  size_t FirstStop() const;  // in text_; npos if none

  engine::IncrementalDecoder decoder_;
  std::vector<std::string> stops_;
  size_t hold_ = 0;   // longest stop string - 1: what may still become one
  std::string text_;  // everything decoded so far
  size_t sent_ = 0;   // bytes of text_ already handed out
};

}  // namespace switchyard::server
