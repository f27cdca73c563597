// Streaming detokenization: text is handed out as ids arrive, never in the
// middle of a UTF-8 character, and the pieces concatenate to exactly
// Tokenizer::Decode of all the ids.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/tokenizer/tokenizer.h"

namespace switchyard::engine {

class IncrementalDecoder {
 public:
  // `tokenizer` must outlive the decoder.
  explicit IncrementalDecoder(const Tokenizer& tokenizer, bool skip_special_tokens = true);

  // New text that is final (possibly empty).
  std::string Add(int32_t id);
  // The text still held back at the end of the stream; the decoder then
  // starts over as if new.
  std::string Flush();

 private:
  bool MustHold(const std::string& text) const;

  const Tokenizer& tokenizer_;
  bool skip_special_tokens_;
  // A window of the stream: `context_` ids whose text was already handed out
  // (kept so the next ids decode as they would mid-sequence), then the ids
  // not yet handed out. Decoding only the window keeps each Add cheap.
  std::vector<int32_t> ids_;
  size_t context_ = 0;
  std::string context_text_;  // Decode of the context ids on their own
};

}  // namespace switchyard::engine
