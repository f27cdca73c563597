// Streaming detokenization: text is handed out as ids arrive, never in the
// middle of a UTF-8 character, and the pieces concatenate to exactly
// Tokenizer::Decode of all the ids, or, after StartAfter(prompt), to the
// completion text Decode(prompt + ids) minus Decode(prompt) (what vLLM and
// TGI return: with SentencePiece vocabularies the first token's leading
// space, which Decode drops at the start of a text, is kept).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "engine/tokenizer/tokenizer.h"

namespace switchyard::engine {

class IncrementalDecoder {
 public:
  // `tokenizer` must outlive the decoder.
  explicit IncrementalDecoder(const Tokenizer& tokenizer, bool skip_special_tokens = true);

  // Starts a new stream that continues `prompt`: what follows is decoded as
  // it reads after the prompt's text. Only a bounded window of the prompt's
  // last tokens is kept as context (PromptWindowStart), so a long prompt
  // costs nothing per token. Should the prompt end in the middle of a
  // character that the completion finishes, the completion text starts with
  // the whole character (the prompt's text had U+FFFD for its bytes).
  void StartAfter(absl::Span<const int32_t> prompt);

  // New text that is final (possibly empty).
  std::string Add(int32_t id);
  // The text still held back at the end of the stream; the decoder then
  // starts over as if new.
  std::string Flush();
  // What Flush would return now, without ending the stream: the held-back
  // text as it reads so far (it may still change), for stop-string matching.
  std::string Pending() const;

  // The first of `prompt`'s tokens that StartAfter keeps as context: the
  // last few that reach the decoder, and as many more as it takes for the
  // window to decode a continuation exactly as the whole prompt does (its
  // text not empty, not starting inside a run of byte-fallback tokens).
  static size_t PromptWindowStart(const Tokenizer& tokenizer, absl::Span<const int32_t> prompt,
                                  bool skip_special_tokens);

 private:
  bool MustHold(const std::string& text) const;
  // Where the new text starts in `text`, the decode of the window; npos if
  // it has none yet.
  size_t FreshFrom(const std::string& text) const;

  const Tokenizer& tokenizer_;
  bool skip_special_tokens_;
  // A window of the stream: `context_` ids whose text was already handed out
  // (kept so the next ids decode as they would mid-sequence), then the ids
  // not yet handed out. Decoding only the window keeps each Add cheap.
  std::vector<int32_t> ids_;
  size_t context_ = 0;
  std::string context_text_;  // Decode of the context ids on their own
  // The context is the prompt's and nothing was handed out yet: the prompt's
  // last character may still be rewritten (see StartAfter).
  bool after_prompt_ = false;
};

// The completion text of `completion` after `prompt` in one go (see
// IncrementalDecoder::StartAfter).
std::string DecodeAfter(const Tokenizer& tokenizer, absl::Span<const int32_t> prompt,
                        absl::Span<const int32_t> completion, bool skip_special_tokens = true);

}  // namespace switchyard::engine
