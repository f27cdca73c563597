#include "engine/tokenizer/incremental_decoder.h"

#include <algorithm>

#include "engine/tokenizer/decoder.h"
#include "engine/tokenizer/utf8.h"

namespace switchyard::engine {
namespace {

constexpr char kReplacementChar[] = "\xEF\xBF\xBD";

// Prompt tokens that reach the decoder kept as context by StartAfter (vLLM's
// detokenizer keeps 5). More than the 3 bytes of an unfinished UTF-8
// character, so that byte-level text that ends in one is decoded whole.
constexpr size_t kPromptWindowTokens = 8;

// The length of the longest common prefix of `a` and `b` that ends on a
// character boundary of `a`.
size_t CommonPrefix(const std::string& a, const std::string& b) {
  size_t n = 0;
  const size_t limit = std::min(a.size(), b.size());
  while (n < limit && a[n] == b[n]) ++n;
  while (n > 0 && n < a.size() && (static_cast<unsigned char>(a[n]) & 0xC0) == 0x80) --n;
  return n;
}

}  // namespace

IncrementalDecoder::IncrementalDecoder(const Tokenizer& tokenizer, bool skip_special_tokens)
    : tokenizer_(tokenizer), skip_special_tokens_(skip_special_tokens) {}

size_t IncrementalDecoder::PromptWindowStart(const Tokenizer& tokenizer, absl::Span<const int32_t> prompt,
                                             bool skip_special_tokens) {
  // Unknown ids and skipped special tokens never reach the decoder: they
  // neither count towards the window nor end a run of byte tokens.
  auto visible = [&](int32_t id) {
    const std::string* token = tokenizer.IdToToken(id);
    return token != nullptr && !tokenizer.SkipsToken(*token, skip_special_tokens);
  };
  auto byte_or_invisible = [&](int32_t id) {
    if (!visible(id)) return true;
    return tok::ByteFallbackByte(*tokenizer.IdToToken(id)) >= 0;
  };
  size_t start = prompt.size();
  for (size_t seen = 0; start > 0 && seen < kPromptWindowTokens;) {
    if (visible(prompt[--start])) ++seen;
  }
  // A ByteFallback step renders a run of byte tokens as a whole (all U+FFFD
  // if any character in it is broken): start the window where the run does.
  if (tokenizer.decoder_traits_->byte_fallback) {
    while (start > 0 && byte_or_invisible(prompt[start]) && byte_or_invisible(prompt[start - 1])) --start;
  }
  // A window whose text is empty cannot stand in for the prompt (a
  // SentencePiece decoder would drop the completion's leading space as at
  // the start of a text): widen it, doubling, until it has text.
  while (start > 0 && tokenizer.Decode(prompt.subspan(start), skip_special_tokens).empty()) {
    const size_t width = prompt.size() - start;
    start = width >= start ? 0 : start - width;
  }
  return start;
}

void IncrementalDecoder::StartAfter(absl::Span<const int32_t> prompt) {
  const size_t start = PromptWindowStart(tokenizer_, prompt, skip_special_tokens_);
  ids_.assign(prompt.begin() + start, prompt.end());
  context_ = ids_.size();
  context_text_ = tokenizer_.Decode(ids_, skip_special_tokens_);
  after_prompt_ = true;
}

// Text is not final while it may still change when more ids arrive: a U+FFFD
// at the end may be the first bytes of a character; a run of byte-fallback
// tokens is rendered only once it ends; a trailing character that a fused
// Strip removes may come back.
bool IncrementalDecoder::MustHold(const std::string& text) const {
  const tok::DecoderTraits& traits = *tokenizer_.decoder_traits_;
  if (text.ends_with(kReplacementChar)) return true;
  if (traits.byte_fallback) {
    // The last token that reaches the decoder; unknown ids and skipped
    // special tokens do not end a run of byte tokens.
    for (auto it = ids_.rbegin(); it != ids_.rend(); ++it) {
      const std::string* token = tokenizer_.IdToToken(*it);
      if (token == nullptr || tokenizer_.SkipsToken(*token, skip_special_tokens_)) continue;
      if (tok::ByteFallbackByte(*token) >= 0) return true;
      break;
    }
  }
  return !traits.fused_trailing_strip.empty() && text.ends_with(traits.fused_trailing_strip);
}

size_t IncrementalDecoder::FreshFrom(const std::string& text) const {
  size_t from = context_text_.size();
  if (!text.starts_with(context_text_)) {
    // Only the prompt's text can be rewritten: its last character was
    // unfinished (U+FFFD for its bytes) and the completion finishes it. (A
    // window decode that does not extend text already handed out would mean
    // a decoder rewrote earlier output; none of the supported ones does.)
    if (!after_prompt_) return std::string::npos;
    from = CommonPrefix(text, context_text_);
  }
  return text.size() > from ? from : std::string::npos;
}

std::string IncrementalDecoder::Add(int32_t id) {
  ids_.push_back(id);
  const std::string text = tokenizer_.Decode(ids_, skip_special_tokens_);
  if (MustHold(text)) return "";
  const size_t from = FreshFrom(text);
  if (from == std::string::npos) return "";
  std::string fresh = text.substr(from);
  after_prompt_ = false;
  // The ids just handed out become the context of what follows. Should they
  // decode to nothing on their own (a lone "▁" loses its space at the start
  // of a text), they cannot stand in for what came before: keep it all.
  const std::vector<int32_t> pending(ids_.begin() + context_, ids_.end());
  std::string pending_text = tokenizer_.Decode(pending, skip_special_tokens_);
  if (pending_text.empty()) {
    context_text_ = text;
  } else {
    ids_ = pending;
    context_text_ = std::move(pending_text);
  }
  context_ = ids_.size();
  return fresh;
}

std::string IncrementalDecoder::Pending() const {
  const std::string text = tokenizer_.Decode(ids_, skip_special_tokens_);
  const size_t from = FreshFrom(text);
  return from == std::string::npos ? "" : text.substr(from);
}

std::string IncrementalDecoder::Flush() {
  std::string rest = Pending();
  ids_.clear();
  context_ = 0;
  context_text_.clear();
  after_prompt_ = false;
  return rest;
}

std::string DecodeAfter(const Tokenizer& tokenizer, absl::Span<const int32_t> prompt,
                        absl::Span<const int32_t> completion, bool skip_special_tokens) {
  IncrementalDecoder decoder(tokenizer, skip_special_tokens);
  decoder.StartAfter(prompt);
  std::string text;
  for (const int32_t id : completion) text += decoder.Add(id);
  return text + decoder.Flush();
}

}  // namespace switchyard::engine
