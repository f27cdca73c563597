// UTF-8 repair and Unicode normalization, which must match Rust's
// from_utf8_lossy and HF tokenizers' NFC/NFD exactly.
#include <filesystem>
#include <fstream>
#include <string>

#include "engine/tokenizer/unicode_nfc.h"
#include "engine/tokenizer/utf8.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace switchyard::engine::tok {
namespace {

const std::string kReplacement = "\xEF\xBF\xBD";

TEST(LossyUtf8, ValidTextIsUnchanged) {
  const std::string text = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";  // a é € 😀
  EXPECT_TRUE(IsValidUtf8(text));
  EXPECT_EQ(LossyUtf8(text), text);
}

TEST(LossyUtf8, OneReplacementPerMaximalInvalidSubsequence) {
  // The cases follow Rust's String::from_utf8_lossy.
  EXPECT_EQ(LossyUtf8("\xE2\x82"), kReplacement);                // truncated at the end
  EXPECT_EQ(LossyUtf8("\xE2\x82" "A"), kReplacement + "A");       // truncated mid-text
  EXPECT_EQ(LossyUtf8("\x80"), kReplacement);                     // stray continuation
  EXPECT_EQ(LossyUtf8("\xF0\x80\x80"), kReplacement + kReplacement + kReplacement);  // overlong
  EXPECT_EQ(LossyUtf8("\xED\xA0\x80"), kReplacement + kReplacement + kReplacement);  // surrogate
  EXPECT_EQ(LossyUtf8("\xF4\x90\x80\x80"), kReplacement + kReplacement + kReplacement + kReplacement);
  EXPECT_EQ(LossyUtf8("\xC0\xAF"), kReplacement + kReplacement);
  EXPECT_EQ(LossyUtf8("\xF0\x9F\x98"), kReplacement);
  EXPECT_FALSE(IsValidUtf8("\xF0\x9F\x98"));
}

TEST(Whitespace, IsUnicodeWhiteSpace) {
  for (char32_t c : {0x20, 0x09, 0x0A, 0x0D, 0x85, 0xA0, 0x1680, 0x2000, 0x200A, 0x2028, 0x3000}) {
    EXPECT_TRUE(IsUnicodeWhitespace(c)) << static_cast<uint32_t>(c);
  }
  for (char32_t c : {0x41, 0x200B, 0x200D, 0xFEFF, 0x180E}) {
    EXPECT_FALSE(IsUnicodeWhitespace(c)) << static_cast<uint32_t>(c);
  }
}

// tests/fixtures/tokenizer/normalization.json: [input, HF NFC, HF NFD].
TEST(Normalization, MatchesHuggingFace) {
  std::ifstream in(std::filesystem::path(SWITCHYARD_SOURCE_DIR) /
                   "tests/fixtures/tokenizer/normalization.json");
  const nlohmann::json cases = nlohmann::json::parse(in);
  ASSERT_GT(cases.size(), 1000u);
  int wrong = 0;
  for (const auto& c : cases) {
    const std::string input = c[0];
    if (ToNfc(input) != c[1].get<std::string>() && ++wrong < 5) ADD_FAILURE() << "NFC " << c.dump();
    if (ToNfd(input) != c[2].get<std::string>() && ++wrong < 5) ADD_FAILURE() << "NFD " << c.dump();
  }
  EXPECT_EQ(wrong, 0);
}

TEST(Normalization, ComposesAndReorders) {
  EXPECT_EQ(ToNfc("e\xCC\x81"), "\xC3\xA9");                         // e + acute -> é
  EXPECT_EQ(ToNfd("\xC3\xA9"), "e\xCC\x81");
  EXPECT_EQ(ToNfc("\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8"), "\xEA\xB0\x81");  // jamo -> 각
  EXPECT_EQ(ToNfc("\xE2\x84\xAB"), "\xC3\x85");                      // Angstrom sign -> Å
  // a + dot below (220) after grave (230) sorts first, then composes with a.
  EXPECT_EQ(ToNfd("a\xCC\x80\xCC\xA3"), "a\xCC\xA3\xCC\x80");
  EXPECT_EQ(ToNfc("plain ascii and \xE4\xBD\xA0\xE5\xA5\xBD"), "plain ascii and \xE4\xBD\xA0\xE5\xA5\xBD");
}

TEST(Normalization, LongRunsOfMarksStayLinearish) {
  std::string marks = "a";
  for (int i = 0; i < 100000; ++i) marks += "\xCC\x81";  // combining acute
  const std::string out = ToNfc(marks);
  EXPECT_EQ(out.substr(0, 2), "\xC3\xA1");  // á, then the remaining marks
  EXPECT_EQ(out.size(), marks.size() - 1);
}

}  // namespace
}  // namespace switchyard::engine::tok
