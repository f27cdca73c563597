// Tokenizer: encodes text to ids and decodes ids to text exactly as Hugging
// Face `tokenizers` does for the same tokenizer.json (BPE models: byte-level
// GPT-2/Qwen/Llama-3 style and SentencePiece style with byte fallback).
//
// Supported tokenizer.json components; anything else is refused at load:
//   model:          BPE (merges as "a b" strings or [a, b] pairs; byte_fallback,
//                   fuse_unk, unk_token, continuing_subword_prefix,
//                   end_of_word_suffix, ignore_merges; no dropout)
//   normalizer:     Sequence, NFC, NFD, Prepend, Replace, Strip
//   pre_tokenizer:  Sequence, Split, ByteLevel, Metaspace, Digits
//   post_processor: TemplateProcessing, ByteLevel, RobertaProcessing,
//                   BertProcessing, Sequence
//   decoder:        Sequence, ByteLevel, Replace, ByteFallback, Fuse, Strip,
//                   Metaspace
//   added_tokens:   special, lstrip, rstrip, normalized, single_word
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace switchyard::engine {

namespace tok {
class AddedVocabulary;
class BpeModel;
class Decoder;
class Normalizer;
class PreTokenizer;
struct DecoderTraits;
struct SpecialWrap;
}  // namespace tok

class Tokenizer {
 public:
  // Reads tokenizer.json, and tokenizer_config.json beside it if present
  // (for bos_token / eos_token).
  static absl::StatusOr<std::unique_ptr<Tokenizer>> FromFile(const std::string& tokenizer_json_path);
  // DIR/tokenizer.json (+ DIR/tokenizer_config.json).
  static absl::StatusOr<std::unique_ptr<Tokenizer>> FromModelDir(const std::string& dir);
  // The contents of tokenizer.json, and of tokenizer_config.json or "".
  static absl::StatusOr<std::unique_ptr<Tokenizer>> FromJson(std::string_view tokenizer_json,
                                                             std::string_view config_json = "");
  ~Tokenizer();

  // Thread-safe. Invalid UTF-8 in `text` is read as U+FFFD first (Python,
  // HF's front end, cannot even hold such a string).
  std::vector<int32_t> Encode(std::string_view text, bool add_special_tokens = true) const;
  // Unknown ids are skipped, as in HF.
  std::string Decode(absl::Span<const int32_t> ids, bool skip_special_tokens = true) const;

  // One past the largest id of the vocabulary and added tokens.
  int32_t vocab_size() const;
  std::optional<int32_t> bos_id() const { return bos_id_; }
  std::optional<int32_t> eos_id() const { return eos_id_; }
  // Whether id is a special token (e.g. "<|im_end|>", "</s>").
  bool IsSpecial(int32_t id) const;
  // The id of a token string (added tokens first, then the model vocabulary).
  std::optional<int32_t> TokenToId(std::string_view token) const;

 private:
  friend class IncrementalDecoder;
  Tokenizer();
  static absl::StatusOr<std::unique_ptr<Tokenizer>> Load(std::string_view tokenizer_json,
                                                         std::string_view config_json);
  absl::Status ReadConfig(std::string_view config_json);
  void EncodeText(std::string_view text, std::vector<int32_t>* ids) const;
  // The token string Decode starts from, nullptr for an unknown id.
  const std::string* IdToToken(int32_t id) const;
  // Whether Decode drops the token string when skipping special tokens.
  bool SkipsToken(const std::string& token, bool skip_special_tokens) const;

  std::unique_ptr<tok::Normalizer> normalizer_;
  std::unique_ptr<tok::PreTokenizer> pre_tokenizer_;
  std::unique_ptr<tok::BpeModel> model_;
  std::unique_ptr<tok::AddedVocabulary> added_;
  std::unique_ptr<tok::Decoder> decoder_;
  std::unique_ptr<tok::DecoderTraits> decoder_traits_;
  std::unique_ptr<tok::SpecialWrap> wrap_;
  std::optional<int32_t> bos_id_;
  std::optional<int32_t> eos_id_;
};

}  // namespace switchyard::engine
