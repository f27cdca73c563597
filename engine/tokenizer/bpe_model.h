// The BPE model of tokenizer.json: vocabulary, ranked merges, and the merge
// loop that turns one pre-tokenized word into ids.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "engine/tokenizer/word_cache.h"
#include "nlohmann/json_fwd.hpp"

namespace switchyard::engine::tok {

class BpeModel {
 public:
  // `model` is tokenizer.json's "model" object; only type BPE is accepted.
  static absl::StatusOr<std::unique_ptr<BpeModel>> FromJson(const nlohmann::json& model);

  // Appends the ids of one word. Thread-safe.
  void Encode(std::string_view word, std::vector<int32_t>* ids) const;

  std::optional<int32_t> TokenToId(std::string_view token) const;
  // nullptr for an id the vocabulary does not have.
  const std::string* IdToToken(int32_t id) const;
  // Number of vocabulary entries (HF's get_vocab_size without added tokens).
  size_t size() const { return vocab_.size(); }
  int32_t max_id() const { return static_cast<int32_t>(id_to_token_.size()) - 1; }

 private:
  struct Merge {
    int32_t rank;
    int32_t new_id;
  };
  struct Symbol {
    int32_t id;
    int32_t prev;  // index of the previous live symbol, -1 at the start
    int32_t next;  // index of the next live symbol, -1 at the end
    uint32_t len;  // bytes of the word it covers; 0 once merged away
  };

  BpeModel() : cache_(kCacheCapacity) {}
  absl::Status LoadMerges(const nlohmann::json& merges, const std::string& prefix);
  void EncodeUncached(std::string_view word, std::vector<int32_t>* ids) const;
  void InitialSymbols(std::string_view word, std::vector<Symbol>* symbols) const;
  const Merge* FindMerge(int32_t left, int32_t right) const;
  void MergeSmall(std::vector<Symbol>* symbols) const;
  void MergeLarge(std::vector<Symbol>* symbols) const;

  static constexpr size_t kCacheCapacity = 1 << 16;

  absl::flat_hash_map<std::string, int32_t> vocab_;
  std::vector<const std::string*> id_to_token_;  // points into vocab_ keys
  absl::flat_hash_map<uint64_t, Merge> merges_;  // (left id, right id) -> merge
  std::optional<int32_t> unk_id_;
  std::string continuing_subword_prefix_;
  std::string end_of_word_suffix_;
  bool fuse_unk_ = false;
  bool byte_fallback_ = false;
  bool ignore_merges_ = false;
  int32_t byte_ids_[256];  // "<0xXX>" ids for byte_fallback, -1 where absent
  // Ids of one-character tokens below U+0800 (the whole byte-level alphabet),
  // -1 where absent: most symbol lookups then skip hashing.
  std::vector<int32_t> small_char_ids_;
  mutable WordCache cache_;
};

}  // namespace switchyard::engine::tok
