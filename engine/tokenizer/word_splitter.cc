#include "engine/tokenizer/word_splitter.h"

#include <cstdint>
#include <vector>

#include "engine/tokenizer/utf8.h"

namespace switchyard::engine::tok {
namespace {

constexpr char kQwen2Regex[] =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr char kLlama3Regex[] =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

enum : uint8_t { kLetter = 1, kNumber = 2, kSpace = 4 };

// \p{L}, \p{N} and \s for every code point, read off Oniguruma itself so the
// classes agree with the regexes exactly: one search over a string of all
// code points per class.
class CharClasses {
 public:
  static const CharClasses& Get() {
    static const CharClasses* classes = new CharClasses();
    return *classes;
  }
  uint8_t Of(char32_t cp) const { return table_[cp]; }

 private:
  CharClasses() : table_(0x110000, 0) {
    std::string all;
    for (char32_t cp = 1; cp < 0x110000; ++cp) {
      if (cp < 0xD800 || cp > 0xDFFF) AppendUtf8(cp, &all);
    }
    for (const auto& [bit, pattern] : {std::pair{kLetter, R"(\p{L}+)"}, std::pair{kNumber, R"(\p{N}+)"},
                                       std::pair{kSpace, R"(\s+)"}}) {
      const auto regex = OnigRegex::Compile(pattern);
      for (const auto& [begin, end] : (*regex)->FindAll(all)) {
        size_t len;
        for (size_t i = begin; i < end; i += len) table_[DecodeUtf8(all, i, &len)] |= bit;
      }
    }
  }
  std::vector<uint8_t> table_;
};

// Reads the character classes of a text.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text), classes_(CharClasses::Get()) {}
  size_t size() const { return text_.size(); }
  char32_t Char(size_t i, size_t* len) const { return DecodeUtf8(text_, i, len); }
  uint8_t Class(size_t i) const {
    size_t len;
    return classes_.Of(Char(i, &len));
  }
  size_t Next(size_t i) const { return i + Utf8Length(static_cast<unsigned char>(text_[i])); }
  bool Is(size_t i, uint8_t bits) const { return i < size() && (Class(i) & bits); }
  // Not a letter, number or space: [^\s\p{L}\p{N}].
  bool IsOther(size_t i) const { return i < size() && Class(i) == 0; }
  bool IsNewline(size_t i) const { return i < size() && (text_[i] == '\r' || text_[i] == '\n'); }
  // End of the run of characters with any of `bits` that starts at i.
  size_t RunEnd(size_t i, uint8_t bits) const {
    while (Is(i, bits)) i = Next(i);
    return i;
  }
  size_t OtherRunEnd(size_t i) const {
    while (IsOther(i)) i = Next(i);
    return i;
  }
  size_t NewlineRunEnd(size_t i) const {
    while (IsNewline(i)) ++i;
    return i;
  }

 private:
  std::string_view text_;
  const CharClasses& classes_;
};

// The whitespace alternatives every flavor ends with, at a space character:
// [\s*[\r\n]+|] \s+(?!\S) | \s+.
size_t SpaceMatch(const Scanner& s, size_t i, bool newline_alternative) {
  const size_t end = s.RunEnd(i, kSpace);
  if (newline_alternative) {
    // \s*[\r\n]+ backtracks to just after the run's last newline.
    size_t after_newline = 0;
    for (size_t k = i; k < end; k = s.Next(k)) {
      if (s.IsNewline(k)) after_newline = k + 1;
    }
    if (after_newline != 0) return after_newline - i;
  }
  if (end == s.size()) return end - i;
  // \s+(?!\S) gives back the last space, so the next word keeps it; a run of
  // one falls through to \s+.
  size_t last = i;
  for (size_t k = i; k < end; k = s.Next(k)) last = k;
  return (last > i ? last : end) - i;
}

}  // namespace

std::unique_ptr<WordSplitter> WordSplitter::ForPattern(std::string_view pattern,
                                                       std::shared_ptr<const OnigRegex> regex) {
  Flavor flavor;
  if (pattern == kGpt2WordRegex) {
    flavor = Flavor::kGpt2;
  } else if (pattern == kQwen2Regex) {
    flavor = Flavor::kQwen2;
  } else if (pattern == kLlama3Regex) {
    flavor = Flavor::kLlama3;
  } else {
    return nullptr;
  }
  CharClasses::Get();  // build the table at load time, not in the first Encode
  return std::unique_ptr<WordSplitter>(new WordSplitter(flavor, std::move(regex)));
}

std::vector<std::pair<size_t, size_t>> WordSplitter::FindAll(std::string_view text) const {
  // Every position starts a match in these patterns (each character is a
  // letter, number, space or other, and each class has an alternative), so
  // the matches tile the text.
  std::vector<std::pair<size_t, size_t>> matches;
  for (size_t i = 0; i < text.size();) {
    const long length = MatchAt(text, i);
    if (length <= 0) return regex_->FindAll(text);  // cannot happen; stay exact if it does
    matches.emplace_back(i, i + length);
    i += length;
  }
  return matches;
}

// Length of the match at i, taking the alternatives in the regex's order.
long WordSplitter::MatchAt(std::string_view text, size_t i) const {
  const Scanner s(text);
  size_t len;
  const char32_t c = s.Char(i, &len);
  // Contractions, with Oniguruma's case folding in Qwen2/Llama 3, are left
  // to Oniguruma itself; apostrophes are rare.
  if (c == '\'') return regex_->MatchAt(text, i);
  const uint8_t cls = s.Class(i);
  const size_t next = i + len;
  if (flavor_ == Flavor::kGpt2) {
    //  ?\p{L}+ |  ?\p{N}+ |  ?[^\s\p{L}\p{N}]+ | \s+(?!\S) | \s+
    for (const uint8_t bits : {kLetter, kNumber}) {
      if (cls & bits) return s.RunEnd(i, bits) - i;
      if (c == ' ' && s.Is(next, bits)) return s.RunEnd(next, bits) - i;
    }
    if (cls == 0) return s.OtherRunEnd(i) - i;
    if (c == ' ' && s.IsOther(next)) return s.OtherRunEnd(next) - i;
    return SpaceMatch(s, i, /*newline_alternative=*/false);
  }
  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (cls & kLetter) return s.RunEnd(i, kLetter) - i;
  if (c != '\r' && c != '\n' && !(cls & kNumber) && s.Is(next, kLetter)) {
    return s.RunEnd(next, kLetter) - i;
  }
  // \p{N} (Qwen2) or \p{N}{1,3} (Llama 3)
  if (cls & kNumber) {
    size_t end = next;
    for (int n = 1; flavor_ == Flavor::kLlama3 && n < 3 && s.Is(end, kNumber); ++n) end = s.Next(end);
    return end - i;
  }
  //  ?[^\s\p{L}\p{N}]+[\r\n]*
  if (cls == 0) return s.NewlineRunEnd(s.OtherRunEnd(i)) - i;
  if (c == ' ' && s.IsOther(next)) return s.NewlineRunEnd(s.OtherRunEnd(next)) - i;
  // \s*[\r\n]+ | \s+(?!\S) | \s+
  return SpaceMatch(s, i, /*newline_alternative=*/true);
}

}  // namespace switchyard::engine::tok
