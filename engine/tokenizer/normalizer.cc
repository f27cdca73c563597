#include "engine/tokenizer/normalizer.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "engine/tokenizer/json_util.h"
#include "engine/tokenizer/split_pattern.h"
#include "engine/tokenizer/unicode_nfc.h"
#include "engine/tokenizer/utf8.h"
#include "nlohmann/json.hpp"

namespace switchyard::engine::tok {
namespace {

constexpr char kSupported[] = "Sequence, NFC, NFD, Prepend, Replace, Strip";

class SequenceNormalizer : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> steps)
      : steps_(std::move(steps)) {}
  void Normalize(std::string* text) const override {
    for (const auto& step : steps_) step->Normalize(text);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

class NfcNormalizer : public Normalizer {
 public:
  void Normalize(std::string* text) const override { *text = ToNfc(*text); }
};

class NfdNormalizer : public Normalizer {
 public:
  void Normalize(std::string* text) const override { *text = ToNfd(*text); }
};

// Puts a fixed string in front of non-empty text (SentencePiece's "▁").
class PrependNormalizer : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prefix) : prefix_(std::move(prefix)) {}
  void Normalize(std::string* text) const override {
    if (!text->empty()) text->insert(0, prefix_);
  }

 private:
  std::string prefix_;
};

// Replaces every match with fixed content; HF inserts the content literally
// (no $1 group expansion), and so does this.
class ReplaceNormalizer : public Normalizer {
 public:
  ReplaceNormalizer(SplitPattern pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void Normalize(std::string* text) const override {
    const auto matches = pattern_.FindAll(*text);
    if (matches.empty()) return;
    std::string out;
    size_t prev = 0;
    for (const auto& [begin, end] : matches) {
      out.append(*text, prev, begin - prev);
      out.append(content_);
      prev = end;
    }
    out.append(*text, prev);
    *text = std::move(out);
  }

 private:
  SplitPattern pattern_;
  std::string content_;
};

// Trims Unicode whitespace at either end.
class StripNormalizer : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  void Normalize(std::string* text) const override {
    size_t begin = 0, end = text->size();
    if (left_) {
      while (begin < end) {
        size_t len;
        if (!IsUnicodeWhitespace(DecodeUtf8(*text, begin, &len))) break;
        begin += len;
      }
    }
    if (right_) {
      while (end > begin) {
        size_t start = end - 1;
        while ((static_cast<unsigned char>((*text)[start]) & 0xC0) == 0x80) --start;
        size_t len;
        if (!IsUnicodeWhitespace(DecodeUtf8(*text, start, &len))) break;
        end = start;
      }
    }
    *text = text->substr(begin, end - begin);
  }

 private:
  bool left_, right_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Normalizer>> NormalizerFromJson(const nlohmann::json& json) {
  if (json.is_null()) return nullptr;
  ASSIGN_OR_RETURN(const std::string type, TypeOf(json, "normalizer"));
  if (type == "Sequence") {
    std::vector<std::unique_ptr<Normalizer>> steps;
    ASSIGN_OR_RETURN(const nlohmann::json* list, ArrayField(json, "normalizers"));
    for (const auto& item : *list) {
      ASSIGN_OR_RETURN(auto step, NormalizerFromJson(item));
      if (step != nullptr) steps.push_back(std::move(step));
    }
    return std::make_unique<SequenceNormalizer>(std::move(steps));
  }
  if (type == "NFC") return std::make_unique<NfcNormalizer>();
  if (type == "NFD") return std::make_unique<NfdNormalizer>();
  if (type == "Prepend") {
    ASSIGN_OR_RETURN(std::string prefix, StringField(json, "prepend"));
    return std::make_unique<PrependNormalizer>(std::move(prefix));
  }
  if (type == "Replace") {
    ASSIGN_OR_RETURN(const nlohmann::json* pattern, Field(json, "pattern"));
    ASSIGN_OR_RETURN(SplitPattern p, SplitPattern::FromJson(*pattern));
    ASSIGN_OR_RETURN(std::string content, StringField(json, "content"));
    return std::make_unique<ReplaceNormalizer>(std::move(p), std::move(content));
  }
  if (type == "Strip") {
    ASSIGN_OR_RETURN(const bool left, BoolField(json, "strip_left", true));
    ASSIGN_OR_RETURN(const bool right, BoolField(json, "strip_right", true));
    return std::make_unique<StripNormalizer>(left, right);
  }
  return Unsupported("normalizer", type, kSupported);
}

}  // namespace switchyard::engine::tok
