#include "engine/tokenizer/tokenizer.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_join.h"
#include "engine/tokenizer/added_vocabulary.h"
#include "engine/tokenizer/bpe_model.h"
#include "engine/tokenizer/decoder.h"
#include "engine/tokenizer/normalizer.h"
#include "engine/tokenizer/post_processor.h"
#include "engine/tokenizer/pre_tokenizer.h"
#include "engine/tokenizer/utf8.h"

namespace switchyard::engine {

Tokenizer::Tokenizer() = default;
Tokenizer::~Tokenizer() = default;

std::vector<int32_t> Tokenizer::Encode(std::string_view text, bool add_special_tokens) const {
  std::vector<int32_t> ids;
  if (add_special_tokens) ids = wrap_->prefix;
  if (tok::IsValidUtf8(text)) {
    EncodeText(text, &ids);
  } else {
    EncodeText(tok::LossyUtf8(text), &ids);
  }
  if (add_special_tokens) ids.insert(ids.end(), wrap_->suffix.begin(), wrap_->suffix.end());
  return ids;
}

// HF's pipeline: cut out raw added tokens; normalize each stretch between
// them; cut out normalized added tokens; pre-tokenize what is left into
// words; run BPE on each word.
void Tokenizer::EncodeText(std::string_view text, std::vector<int32_t>* ids) const {
  std::vector<tok::PreToken> words;
  for (const tok::Segment& raw : added_->SplitRaw(text)) {
    if (raw.id.has_value()) {
      ids->push_back(*raw.id);
      continue;
    }
    if (raw.begin == raw.end) continue;
    std::string normalized(text.substr(raw.begin, raw.end - raw.begin));
    if (normalizer_ != nullptr) normalizer_->Normalize(&normalized);
    for (const tok::Segment& seg : added_->SplitNormalized(normalized)) {
      if (seg.id.has_value()) {
        ids->push_back(*seg.id);
        continue;
      }
      if (seg.begin == seg.end) continue;
      words.clear();
      words.push_back({normalized.substr(seg.begin, seg.end - seg.begin),
                       raw.begin == 0 && seg.begin == 0});
      if (pre_tokenizer_ != nullptr) pre_tokenizer_->PreTokenize(&words);
      for (const tok::PreToken& word : words) model_->Encode(word.text, ids);
    }
  }
}

const std::string* Tokenizer::IdToToken(int32_t id) const {
  if (const std::string* token = added_->IdToToken(id)) return token;
  return model_->IdToToken(id);
}

std::string Tokenizer::Decode(absl::Span<const int32_t> ids, bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (const int32_t id : ids) {
    const std::string* token = IdToToken(id);
    if (token == nullptr || SkipsToken(*token, skip_special_tokens)) continue;
    tokens.push_back(*token);
  }
  if (decoder_ == nullptr) return absl::StrJoin(tokens, " ");
  decoder_->DecodeChain(&tokens);
  return absl::StrJoin(tokens, "");
}

bool Tokenizer::SkipsToken(const std::string& token, bool skip_special_tokens) const {
  return skip_special_tokens && added_->IsSpecialContent(token);
}

int32_t Tokenizer::vocab_size() const { return std::max(model_->max_id(), added_->max_id()) + 1; }

bool Tokenizer::IsSpecial(int32_t id) const {
  if (added_->IsSpecialId(id)) return true;
  const std::string* token = model_->IdToToken(id);
  return token != nullptr && added_->IsSpecialContent(*token);
}

std::optional<int32_t> Tokenizer::TokenToId(std::string_view token) const {
  if (const auto id = added_->TokenToId(token)) return id;
  return model_->TokenToId(token);
}

}  // namespace switchyard::engine
