#include "engine/tokenizer/decoder.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/status_macros.h"
#include "engine/tokenizer/byte_level_alphabet.h"
#include "engine/tokenizer/json_util.h"
#include "engine/tokenizer/split_pattern.h"
#include "engine/tokenizer/utf8.h"
#include "engine/tokenizer/absl_view.h"
#include "nlohmann/json.hpp"

namespace switchyard::engine::tok {
namespace {

constexpr char kSupported[] = "Sequence, ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace";
constexpr char kReplacementChar[] = "\xEF\xBF\xBD";

class SequenceDecoder : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> steps) : steps_(std::move(steps)) {}
  void DecodeChain(std::vector<std::string>* tokens) const override {
    for (const auto& step : steps_) step->DecodeChain(tokens);
  }

 private:
  std::vector<std::unique_ptr<Decoder>> steps_;
};

// Maps byte-level alphabet characters back to bytes and reads the whole
// sequence as one UTF-8 string. A token with any character outside the
// alphabet (an added token such as "<｜end▁of▁sentence｜>") keeps its bytes.
class ByteLevelDecoder : public Decoder {
 public:
  void DecodeChain(std::vector<std::string>* tokens) const override {
    std::string bytes;
    for (const std::string& token : *tokens) {
      const size_t mark = bytes.size();
      for (size_t i = 0; i < token.size();) {
        size_t len;
        const int b = AlphabetToByte(DecodeUtf8(token, i, &len));
        if (b < 0) {
          bytes.resize(mark);
          bytes.append(token);
          break;
        }
        bytes.push_back(static_cast<char>(b));
        i += len;
      }
    }
    tokens->assign(1, LossyUtf8(bytes));
  }
};

class ReplaceDecoder : public Decoder {
 public:
  ReplaceDecoder(SplitPattern pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void DecodeChain(std::vector<std::string>* tokens) const override {
    for (std::string& token : *tokens) {
      const auto matches = pattern_.FindAll(token);
      if (matches.empty()) continue;
      std::string out;
      size_t prev = 0;
      for (const auto& [begin, end] : matches) {
        out.append(token, prev, begin - prev);
        out.append(content_);
        prev = end;
      }
      out.append(token, prev);
      token = std::move(out);
    }
  }

 private:
  SplitPattern pattern_;
  std::string content_;
};

// "<0xE4>" style tokens (SentencePiece byte fallback) become bytes; each run
// of them is one string if it is valid UTF-8, else one U+FFFD per byte.
class ByteFallbackDecoder : public Decoder {
 public:
  void DecodeChain(std::vector<std::string>* tokens) const override {
    std::vector<std::string> out;
    std::string run;
    size_t run_tokens = 0;
    const auto flush = [&] {
      if (run_tokens == 0) return;
      if (IsValidUtf8(run)) {
        out.push_back(run);
      } else {
        for (size_t i = 0; i < run_tokens; ++i) out.push_back(kReplacementChar);
      }
      run.clear();
      run_tokens = 0;
    };
    for (std::string& token : *tokens) {
      if (const int b = ByteFallbackByte(token); b >= 0) {
        run.push_back(static_cast<char>(b));
        ++run_tokens;
        continue;
      }
      flush();
      out.push_back(std::move(token));
    }
    flush();
    *tokens = std::move(out);
  }
};

class FuseDecoder : public Decoder {
 public:
  void DecodeChain(std::vector<std::string>* tokens) const override {
    tokens->assign(1, absl::StrJoin(*tokens, ""));
  }
};

// Removes up to `start` leading and `stop` trailing copies of one character
// from each token.
class StripDecoder : public Decoder {
 public:
  StripDecoder(std::string content, size_t start, size_t stop)
      : content_(std::move(content)), start_(start), stop_(stop) {}
  void DecodeChain(std::vector<std::string>* tokens) const override {
    for (std::string& token : *tokens) {
      size_t begin = 0, end = token.size();
      for (size_t i = 0; i < start_ && token.compare(begin, content_.size(), content_) == 0 &&
                         begin < end;
           ++i) {
        begin += content_.size();
      }
      for (size_t i = 0; i < stop_ && end - begin >= content_.size() &&
                         token.compare(end - content_.size(), content_.size(), content_) == 0;
           ++i) {
        end -= content_.size();
      }
      token = token.substr(begin, end - begin);
    }
  }

 private:
  std::string content_;
  size_t start_, stop_;
};

// The replacement character becomes a space, except in the first token
// where HF drops every one of them (unless prepend_scheme is "never").
class MetaspaceDecoder : public Decoder {
 public:
  MetaspaceDecoder(std::string replacement, bool strip_first)
      : replacement_(std::move(replacement)), strip_first_(strip_first) {}
  void DecodeChain(std::vector<std::string>* tokens) const override {
    for (size_t i = 0; i < tokens->size(); ++i) {
      std::string& token = (*tokens)[i];
      token = absl::StrReplaceAll(token, {{replacement_, i == 0 && strip_first_ ? "" : " "}});
    }
  }

 private:
  std::string replacement_;
  bool strip_first_;
};

absl::StatusOr<std::string> CharField(const nlohmann::json& json, std::string_view key) {
  ASSIGN_OR_RETURN(std::string s, StringField(json, key));
  size_t len = 0;
  if (!s.empty()) DecodeUtf8(s, 0, &len);
  if (s.empty() || len != s.size()) {
    return absl::InvalidArgumentError(absl::StrCat("\"", AbslView(key), "\" must be one character"));
  }
  return s;
}

absl::StatusOr<std::unique_ptr<Decoder>> Make(const nlohmann::json& json, DecoderTraits* traits,
                                              bool* fused) {
  ASSIGN_OR_RETURN(const std::string type, TypeOf(json, "decoder"));
  if (type == "Sequence") {
    std::vector<std::unique_ptr<Decoder>> steps;
    ASSIGN_OR_RETURN(const nlohmann::json* list, ArrayField(json, "decoders"));
    for (const auto& item : *list) {
      ASSIGN_OR_RETURN(auto step, Make(item, traits, fused));
      steps.push_back(std::move(step));
    }
    return std::make_unique<SequenceDecoder>(std::move(steps));
  }
  if (type == "ByteLevel") {
    *fused = true;
    return std::make_unique<ByteLevelDecoder>();
  }
  if (type == "Replace") {
    ASSIGN_OR_RETURN(const nlohmann::json* pattern, Field(json, "pattern"));
    ASSIGN_OR_RETURN(SplitPattern p, SplitPattern::FromJson(*pattern));
    ASSIGN_OR_RETURN(std::string content, StringField(json, "content"));
    return std::make_unique<ReplaceDecoder>(std::move(p), std::move(content));
  }
  if (type == "ByteFallback") {
    traits->byte_fallback = true;
    return std::make_unique<ByteFallbackDecoder>();
  }
  if (type == "Fuse") {
    *fused = true;
    return std::make_unique<FuseDecoder>();
  }
  if (type == "Strip") {
    ASSIGN_OR_RETURN(std::string content, CharField(json, "content"));
    ASSIGN_OR_RETURN(const int64_t start, IntField(json, "start", 0));
    ASSIGN_OR_RETURN(const int64_t stop, IntField(json, "stop", 0));
    if (start < 0 || stop < 0) return absl::InvalidArgumentError("negative Strip decoder bounds");
    if (stop > 0 && *fused) traits->fused_trailing_strip = content;
    return std::make_unique<StripDecoder>(std::move(content), start, stop);
  }
  if (type == "Metaspace") {
    ASSIGN_OR_RETURN(std::string replacement, CharField(json, "replacement"));
    bool strip_first = true;
    if (const auto it = json.find("prepend_scheme"); it != json.end() && !it->is_null()) {
      strip_first = !(it->is_string() && it->get<std::string>() == "never");
    } else {
      ASSIGN_OR_RETURN(strip_first, BoolField(json, "add_prefix_space", true));
    }
    return std::make_unique<MetaspaceDecoder>(std::move(replacement), strip_first);
  }
  return Unsupported("decoder", type, kSupported);
}

}  // namespace

// The two characters are read like Rust's u8::from_str_radix(_, 16), which
// also takes a '+' sign.
int ByteFallbackByte(const std::string& token) {
  if (token.size() != 6 || !token.starts_with("<0x") || token[5] != '>') return -1;
  const auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  const int lo = hex(token[4]);
  if (lo < 0) return -1;
  if (token[3] == '+') return lo;
  const int hi = hex(token[3]);
  return hi < 0 ? -1 : hi * 16 + lo;
}

absl::StatusOr<std::unique_ptr<Decoder>> DecoderFromJson(const nlohmann::json& json,
                                                         DecoderTraits* traits) {
  *traits = DecoderTraits();
  if (json.is_null()) return nullptr;
  bool fused = false;
  return Make(json, traits, &fused);
}

}  // namespace switchyard::engine::tok
