#include "engine/tokenizer/pre_tokenizer.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/status_macros.h"
#include "engine/tokenizer/byte_level_alphabet.h"
#include "engine/tokenizer/json_util.h"
#include "engine/tokenizer/split_pattern.h"
#include "engine/tokenizer/word_splitter.h"
#include "nlohmann/json.hpp"

namespace switchyard::engine::tok {
namespace {

constexpr char kSupported[] = "Sequence, Split, ByteLevel, Metaspace, Digits";

// A pre-tokenizer that handles each piece on its own.
class PieceWise : public PreTokenizer {
 public:
  void PreTokenize(std::vector<PreToken>* pieces) const override {
    std::vector<PreToken> out;
    out.reserve(pieces->size());
    for (PreToken& piece : *pieces) Split(std::move(piece), &out);
    std::erase_if(out, [](const PreToken& p) { return p.text.empty(); });
    *pieces = std::move(out);
  }

 protected:
  virtual void Split(PreToken piece, std::vector<PreToken>* out) const = 0;

  // Cuts `piece` at pattern matches, treating them as `behavior` says.
  static void SplitBy(const SplitPattern& pattern, SplitBehavior behavior, bool invert,
                      const PreToken& piece, std::vector<PreToken>* out) {
    std::vector<Span> spans = MatchSpans(pattern, piece.text);
    if (invert) {
      for (Span& s : spans) s.is_match = !s.is_match;
    }
    for (const auto& [begin, end] : ApplySplitBehavior(spans, behavior)) {
      out->push_back({piece.text.substr(begin, end - begin), piece.at_input_start && begin == 0});
    }
  }
};

class SequencePreTokenizer : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps)
      : steps_(std::move(steps)) {}
  void PreTokenize(std::vector<PreToken>* pieces) const override {
    for (const auto& step : steps_) step->PreTokenize(pieces);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

class SplitPreTokenizer : public PieceWise {
 public:
  SplitPreTokenizer(SplitPattern pattern, SplitBehavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}

 protected:
  void Split(PreToken piece, std::vector<PreToken>* out) const override {
    SplitBy(pattern_, behavior_, invert_, piece, out);
  }

 private:
  SplitPattern pattern_;
  SplitBehavior behavior_;
  bool invert_;
};

// Optionally adds a leading space and splits with the GPT-2 regex, then
// spells every byte in the byte-level alphabet.
class ByteLevelPreTokenizer : public PieceWise {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, std::optional<SplitPattern> regex)
      : add_prefix_space_(add_prefix_space), regex_(std::move(regex)) {}

 protected:
  void Split(PreToken piece, std::vector<PreToken>* out) const override {
    if (add_prefix_space_ && !piece.text.starts_with(' ')) piece.text.insert(piece.text.begin(), ' ');
    const size_t first = out->size();
    if (regex_.has_value()) {
      SplitBy(*regex_, SplitBehavior::kIsolated, false, piece, out);
    } else {
      out->push_back(std::move(piece));
    }
    for (size_t i = first; i < out->size(); ++i) {
      std::string mapped;
      mapped.reserve((*out)[i].text.size() * 2);
      for (const char c : (*out)[i].text) mapped.append(ByteToAlphabet(static_cast<unsigned char>(c)));
      (*out)[i].text = std::move(mapped);
    }
  }

 private:
  bool add_prefix_space_;
  std::optional<SplitPattern> regex_;
};

enum class PrependScheme { kAlways, kFirst, kNever };

// SentencePiece-style: spaces become the replacement ("▁"), which is put in
// front of the piece as the scheme says, and each word starts at one.
class MetaspacePreTokenizer : public PieceWise {
 public:
  MetaspacePreTokenizer(std::string replacement, PrependScheme scheme, bool split)
      : replacement_(replacement),
        scheme_(scheme),
        split_(split),
        pattern_(SplitPattern::Literal(std::move(replacement))) {}

 protected:
  void Split(PreToken piece, std::vector<PreToken>* out) const override {
    piece.text = absl::StrReplaceAll(piece.text, {{" ", replacement_}});
    const bool prepend = scheme_ == PrependScheme::kAlways ||
                         (scheme_ == PrependScheme::kFirst && piece.at_input_start);
    if (prepend && !piece.text.starts_with(replacement_)) piece.text.insert(0, replacement_);
    if (split_) {
      SplitBy(pattern_, SplitBehavior::kMergedWithNext, false, piece, out);
    } else {
      out->push_back(std::move(piece));
    }
  }

 private:
  std::string replacement_;
  PrependScheme scheme_;
  bool split_;
  SplitPattern pattern_;
};

absl::StatusOr<std::unique_ptr<PreTokenizer>> MakeMetaspace(const nlohmann::json& json) {
  ASSIGN_OR_RETURN(std::string replacement, StringField(json, "replacement"));
  PrependScheme scheme = PrependScheme::kAlways;
  if (const auto it = json.find("prepend_scheme"); it != json.end() && !it->is_null()) {
    const std::string name = it->is_string() ? it->get<std::string>() : it->dump();
    if (name == "always") {
      scheme = PrependScheme::kAlways;
    } else if (name == "first") {
      scheme = PrependScheme::kFirst;
    } else if (name == "never") {
      scheme = PrependScheme::kNever;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown Metaspace prepend_scheme ", name));
    }
  } else {
    // Files older than prepend_scheme say add_prefix_space instead.
    ASSIGN_OR_RETURN(const bool add, BoolField(json, "add_prefix_space", true));
    scheme = add ? PrependScheme::kAlways : PrependScheme::kNever;
  }
  ASSIGN_OR_RETURN(const bool split, BoolField(json, "split", true));
  return std::make_unique<MetaspacePreTokenizer>(std::move(replacement), scheme, split);
}

}  // namespace

absl::StatusOr<std::unique_ptr<PreTokenizer>> PreTokenizerFromJson(const nlohmann::json& json) {
  if (json.is_null()) return nullptr;
  ASSIGN_OR_RETURN(const std::string type, TypeOf(json, "pre_tokenizer"));
  if (type == "Sequence") {
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    ASSIGN_OR_RETURN(const nlohmann::json* list, ArrayField(json, "pretokenizers"));
    for (const auto& item : *list) {
      ASSIGN_OR_RETURN(auto step, PreTokenizerFromJson(item));
      if (step != nullptr) steps.push_back(std::move(step));
    }
    return std::make_unique<SequencePreTokenizer>(std::move(steps));
  }
  if (type == "Split") {
    ASSIGN_OR_RETURN(const nlohmann::json* pattern, Field(json, "pattern"));
    ASSIGN_OR_RETURN(SplitPattern p, SplitPattern::FromJson(*pattern));
    ASSIGN_OR_RETURN(const nlohmann::json* behavior, Field(json, "behavior"));
    ASSIGN_OR_RETURN(const SplitBehavior b, SplitBehaviorFromJson(*behavior));
    ASSIGN_OR_RETURN(const bool invert, BoolField(json, "invert", false));
    return std::make_unique<SplitPreTokenizer>(std::move(p), b, invert);
  }
  if (type == "ByteLevel") {
    ASSIGN_OR_RETURN(const bool add_prefix_space, BoolField(json, "add_prefix_space", true));
    ASSIGN_OR_RETURN(const bool use_regex, BoolField(json, "use_regex", true));
    std::optional<SplitPattern> regex;
    if (use_regex) {
      ASSIGN_OR_RETURN(regex, SplitPattern::Regex(kGpt2WordRegex));
    }
    return std::make_unique<ByteLevelPreTokenizer>(add_prefix_space, std::move(regex));
  }
  if (type == "Metaspace") return MakeMetaspace(json);
  if (type == "Digits") {
    // Rust's char::is_numeric is the general category N, which \p{N} is.
    ASSIGN_OR_RETURN(const bool individual, BoolField(json, "individual_digits", false));
    ASSIGN_OR_RETURN(SplitPattern digits, SplitPattern::Regex(R"(\p{N})"));
    return std::make_unique<SplitPreTokenizer>(
        std::move(digits), individual ? SplitBehavior::kIsolated : SplitBehavior::kContiguous,
        false);
  }
  return Unsupported("pre_tokenizer", type, kSupported);
}

}  // namespace switchyard::engine::tok
