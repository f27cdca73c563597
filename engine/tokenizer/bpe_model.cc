#include "engine/tokenizer/bpe_model.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "engine/tokenizer/json_util.h"
#include "engine/tokenizer/utf8.h"
#include "engine/tokenizer/absl_view.h"
#include "nlohmann/json.hpp"

namespace switchyard::engine::tok {
namespace {

uint64_t PairKey(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

absl::StatusOr<std::string> OptionalString(const nlohmann::json& json, std::string_view key) {
  const auto it = json.find(key);
  if (it == json.end() || it->is_null()) return std::string();
  if (!it->is_string()) {
    return absl::InvalidArgumentError(absl::StrCat("BPE field \"", AbslView(key), "\" is not a string"));
  }
  return it->get<std::string>();
}

// Words up to this many symbols merge by rescanning for the best pair, which
// beats a heap for the short words that make up almost all text.
constexpr size_t kSmallWord = 24;

}  // namespace

absl::StatusOr<std::unique_ptr<BpeModel>> BpeModel::FromJson(const nlohmann::json& model) {
  if (!model.is_object()) return absl::InvalidArgumentError("tokenizer.json has no model object");
  // Old files may leave out the type of a BPE model; they do have merges.
  std::string type = "BPE";
  if (model.contains("type") || !model.contains("merges")) {
    ASSIGN_OR_RETURN(type, TypeOf(model, "model"));
  }
  if (type != "BPE") return Unsupported("model", type, "BPE");

  std::unique_ptr<BpeModel> bpe(new BpeModel());
  if (const auto it = model.find("dropout");
      it != model.end() && !it->is_null() && (!it->is_number() || it->get<double>() > 0.0)) {
    return absl::UnimplementedError(
        "BPE dropout in tokenizer.json is not supported (it makes encoding random)");
  }
  ASSIGN_OR_RETURN(const nlohmann::json* vocab, Field(model, "vocab"));
  if (!vocab->is_object()) return absl::InvalidArgumentError("BPE vocab is not an object");
  int64_t max_id = -1;
  for (const auto& [token, id] : vocab->items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX) {
      return absl::InvalidArgumentError(absl::StrCat("bad id for vocab entry '", token, "'"));
    }
    bpe->vocab_.insert_or_assign(token, static_cast<int32_t>(id.get<int64_t>()));
    max_id = std::max(max_id, id.get<int64_t>());
  }
  if (max_id >= static_cast<int64_t>(bpe->vocab_.size()) * 4 + 1024) {
    return absl::InvalidArgumentError("BPE vocab ids are too sparse");
  }
  bpe->id_to_token_.assign(max_id + 1, nullptr);
  for (const auto& [token, id] : bpe->vocab_) bpe->id_to_token_[id] = &token;

  ASSIGN_OR_RETURN(bpe->continuing_subword_prefix_,
                   OptionalString(model, "continuing_subword_prefix"));
  ASSIGN_OR_RETURN(bpe->end_of_word_suffix_, OptionalString(model, "end_of_word_suffix"));
  ASSIGN_OR_RETURN(bpe->fuse_unk_, BoolField(model, "fuse_unk", false));
  ASSIGN_OR_RETURN(bpe->byte_fallback_, BoolField(model, "byte_fallback", false));
  ASSIGN_OR_RETURN(bpe->ignore_merges_, BoolField(model, "ignore_merges", false));
  ASSIGN_OR_RETURN(const std::string unk, OptionalString(model, "unk_token"));
  if (!unk.empty()) {
    // HF fails at encode time when it needs a missing unk token; refusing the
    // file up front is the only way not to drop characters silently.
    const auto id = bpe->TokenToId(unk);
    if (!id.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("BPE unk_token '", unk, "' is not in the vocabulary"));
    }
    bpe->unk_id_ = *id;
  }
  bpe->small_char_ids_.assign(0x800, -1);
  for (const auto& [token, id] : bpe->vocab_) {
    size_t len;
    if (!token.empty() && DecodeUtf8(token, 0, &len) < 0x800 && len == token.size()) {
      bpe->small_char_ids_[DecodeUtf8(token, 0, &len)] = id;
    }
  }
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    bpe->byte_ids_[b] = bpe->TokenToId(name).value_or(-1);
  }
  ASSIGN_OR_RETURN(const nlohmann::json* merges, ArrayField(model, "merges"));
  RETURN_IF_ERROR(bpe->LoadMerges(*merges, bpe->continuing_subword_prefix_));
  return bpe;
}

// Merges come as "left right" strings (older files) or [left, right] pairs
// (newer files, which allow spaces inside tokens). Rank is list position; a
// pair listed twice keeps its last rank, as in HF.
absl::Status BpeModel::LoadMerges(const nlohmann::json& merges, const std::string& prefix) {
  merges_.reserve(merges.size());
  int32_t rank = 0;
  for (const auto& merge : merges) {
    std::string left, right;
    if (merge.is_string()) {
      const std::string& s = merge.get_ref<const std::string&>();
      const size_t space = s.find(' ');
      if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos) {
        return absl::InvalidArgumentError(absl::StrCat("bad BPE merge \"", s, "\""));
      }
      left = s.substr(0, space);
      right = s.substr(space + 1);
    } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() &&
               merge[1].is_string()) {
      left = merge[0].get<std::string>();
      right = merge[1].get<std::string>();
    } else {
      return absl::InvalidArgumentError(absl::StrCat("bad BPE merge ", merge.dump()));
    }
    // With a continuing-subword prefix, "a" + "##b" makes "ab".
    const std::string merged = left + right.substr(std::min(prefix.size(), right.size()));
    const auto l = TokenToId(left), r = TokenToId(right), m = TokenToId(merged);
    if (!l || !r || !m) {
      return absl::InvalidArgumentError(absl::StrCat(
          "BPE merge '", left, " ", right, "' uses a token missing from the vocabulary"));
    }
    merges_.insert_or_assign(PairKey(*l, *r), Merge{rank++, *m});
  }
  return absl::OkStatus();
}

std::optional<int32_t> BpeModel::TokenToId(std::string_view token) const {
  const auto it = vocab_.find(AbslView(token));
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* BpeModel::IdToToken(int32_t id) const {
  if (id < 0 || id >= static_cast<int32_t>(id_to_token_.size())) return nullptr;
  return id_to_token_[id];
}

const BpeModel::Merge* BpeModel::FindMerge(int32_t left, int32_t right) const {
  const auto it = merges_.find(PairKey(left, right));
  return it == merges_.end() ? nullptr : &it->second;
}

void BpeModel::Encode(std::string_view word, std::vector<int32_t>* ids) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    if (const auto id = TokenToId(word)) {
      ids->push_back(*id);
      return;
    }
  }
  if (cache_.Lookup(word, ids)) return;
  const size_t first = ids->size();
  EncodeUncached(word, ids);
  cache_.Insert(word, ids->data() + first, ids->size() - first);
}

void BpeModel::EncodeUncached(std::string_view word, std::vector<int32_t>* ids) const {
  std::vector<Symbol> symbols;
  InitialSymbols(word, &symbols);
  if (symbols.size() <= kSmallWord) {
    MergeSmall(&symbols);
  } else {
    MergeLarge(&symbols);
  }
  for (const Symbol& s : symbols) {
    if (s.len != 0) ids->push_back(s.id);
  }
}

// One symbol per character (with the subword prefix / word suffix the model
// spells them with); characters outside the vocabulary become their bytes
// ("<0xE4>") under byte_fallback, otherwise the unk token, which fuse_unk
// merges across neighbours. Without an unk token they are dropped, as in HF.
void BpeModel::InitialSymbols(std::string_view word, std::vector<Symbol>* symbols) const {
  symbols->reserve(word.size());
  const auto add = [&](int32_t id, uint32_t len) {
    const int32_t index = static_cast<int32_t>(symbols->size());
    if (index > 0) symbols->back().next = index;
    symbols->push_back({id, index - 1, -1, len});
  };
  const bool affixes = !continuing_subword_prefix_.empty() || !end_of_word_suffix_.empty();
  std::string spelled;
  bool pending_unk = false;
  uint32_t unk_len = 0;
  for (size_t i = 0; i < word.size();) {
    const uint32_t len = static_cast<uint32_t>(Utf8Length(static_cast<unsigned char>(word[i])));
    std::string_view ch = word.substr(i, len);
    if (affixes) {
      spelled.clear();
      if (i > 0) spelled += continuing_subword_prefix_;
      spelled += ch;
      if (i + len == word.size()) spelled += end_of_word_suffix_;
      ch = spelled;
    }
    i += len;
    int32_t id = -1;
    if (!affixes && len <= 2) {
      size_t unused;
      id = small_char_ids_[DecodeUtf8(ch, 0, &unused)];
    } else if (const auto it = vocab_.find(AbslView(ch)); it != vocab_.end()) {
      id = it->second;
    }
    if (id >= 0) {
      if (pending_unk) add(*unk_id_, unk_len);
      pending_unk = false;
      add(id, len);
      continue;
    }
    if (byte_fallback_ && std::all_of(ch.begin(), ch.end(), [&](char c) {
          return byte_ids_[static_cast<unsigned char>(c)] >= 0;
        })) {
      for (const char c : ch) add(byte_ids_[static_cast<unsigned char>(c)], 1);
      continue;
    }
    if (!unk_id_.has_value()) continue;
    if (pending_unk && fuse_unk_) {
      unk_len += len;
    } else {
      if (pending_unk) add(*unk_id_, unk_len);
      pending_unk = true;
      unk_len = len;
    }
  }
  if (pending_unk) add(*unk_id_, unk_len);
}

// Repeatedly applies the lowest-ranked merge among adjacent pairs, leftmost
// first on ties; merged-away symbols keep len 0.
void BpeModel::MergeSmall(std::vector<Symbol>* symbols) const {
  std::vector<Symbol>& s = *symbols;
  while (!s.empty()) {
    const Merge* best = nullptr;
    int32_t best_pos = -1;
    for (int32_t i = 0; i != -1 && s[i].next != -1; i = s[i].next) {
      const Merge* m = FindMerge(s[i].id, s[s[i].next].id);
      if (m != nullptr && (best == nullptr || m->rank < best->rank)) {
        best = m;
        best_pos = i;
      }
    }
    if (best == nullptr) return;
    Symbol& left = s[best_pos];
    Symbol& right = s[left.next];
    left.id = best->new_id;
    left.len += right.len;
    left.next = right.next;
    if (right.next != -1) s[right.next].prev = best_pos;
    right.len = 0;
  }
}

// The same merge order with a min-heap of candidate pairs, so a long word
// (SentencePiece-style models have one word per line) costs O(n log n).
// Stale candidates are recognised by the pair no longer producing them.
void BpeModel::MergeLarge(std::vector<Symbol>* symbols) const {
  struct Candidate {
    int32_t rank;
    int32_t pos;
    int32_t new_id;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::vector<Symbol>& s = *symbols;
  std::vector<Candidate> heap;
  const auto push = [&](int32_t pos) {
    if (pos < 0 || s[pos].next == -1) return;
    if (const Merge* m = FindMerge(s[pos].id, s[s[pos].next].id)) {
      heap.push_back({m->rank, pos, m->new_id});
      std::push_heap(heap.begin(), heap.end(), std::greater<>());
    }
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(s.size()); ++i) push(i);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), std::greater<>());
    const Candidate top = heap.back();
    heap.pop_back();
    Symbol& left = s[top.pos];
    if (left.len == 0 || left.next == -1) continue;
    const Merge* m = FindMerge(left.id, s[left.next].id);
    if (m == nullptr || m->new_id != top.new_id) continue;
    Symbol& right = s[left.next];
    left.id = top.new_id;
    left.len += right.len;
    left.next = right.next;
    if (right.next != -1) s[right.next].prev = top.pos;
    right.len = 0;
    push(left.prev);
    push(top.pos);
  }
}

}  // namespace switchyard::engine::tok
