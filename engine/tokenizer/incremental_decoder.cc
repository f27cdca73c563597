#include "engine/tokenizer/incremental_decoder.h"

#include "engine/tokenizer/decoder.h"

namespace switchyard::engine {
namespace {

constexpr char kReplacementChar[] = "\xEF\xBF\xBD";

}  // namespace

IncrementalDecoder::IncrementalDecoder(const Tokenizer& tokenizer, bool skip_special_tokens)
    : tokenizer_(tokenizer), skip_special_tokens_(skip_special_tokens) {}

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

std::string IncrementalDecoder::Add(int32_t id) {
  ids_.push_back(id);
  const std::string text = tokenizer_.Decode(ids_, skip_special_tokens_);
  // (A window decode that does not extend the context's text would mean a
  // decoder rewrote earlier output; none of the supported ones does.)
  if (text.size() <= context_text_.size() || !text.starts_with(context_text_) || MustHold(text)) {
    return "";
  }
  std::string fresh = text.substr(context_text_.size());
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

std::string IncrementalDecoder::Flush() {
  const std::string text = tokenizer_.Decode(ids_, skip_special_tokens_);
  std::string rest;
  if (text.size() > context_text_.size() && text.starts_with(context_text_)) {
    rest = text.substr(context_text_.size());
  }
  ids_.clear();
  context_ = 0;
  context_text_.clear();
  return rest;
}

}  // namespace switchyard::engine
