#include "engine/tokenizer/stop_strings.h"

#include <gtest/gtest.h>

namespace switchyard::engine {
namespace {

// On the Mixtral fixture's SentencePiece-style tokenizer, whose decoder makes
// a token's text depend on what precedes it.
class StopStringsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = Tokenizer::FromModelDir(std::string(SWITCHYARD_SOURCE_DIR) + "/tests/fixtures/mixtral");
    ASSERT_TRUE(t.ok()) << t.status();
    tokenizer_ = std::move(*t);
    ids_ = tokenizer_->Encode("with a clipboard and a cup of tea", /*add_special_tokens=*/false);
  }
  std::unique_ptr<Tokenizer> tokenizer_;
  std::vector<int32_t> ids_;
};

TEST_F(StopStringsTest, MatchesAcrossTokensAndTruncatesBeforeTheEarliest) {
  StopStrings stops(*tokenizer_, {"tea", "board and"});
  EXPECT_TRUE(stops.Matches(ids_));
  EXPECT_EQ(stops.Truncate(ids_), "with a clip");
  // Before the tokens that complete "board and" arrive, nothing matches.
  size_t n = 1;
  while (n < ids_.size() && !stops.Matches(absl::MakeConstSpan(ids_.data(), n))) ++n;
  EXPECT_EQ(tokenizer_->Decode(absl::MakeConstSpan(ids_.data(), n - 1)).find("board and"), std::string::npos);
  EXPECT_NE(tokenizer_->Decode(absl::MakeConstSpan(ids_.data(), n)).find("board and"), std::string::npos);
}

TEST_F(StopStringsTest, NoStopsNeverMatch) {
  StopStrings none(*tokenizer_, {});
  EXPECT_TRUE(none.empty());
  EXPECT_FALSE(none.Matches(ids_));
  EXPECT_EQ(none.Truncate(ids_), "with a clipboard and a cup of tea");
}

TEST(StopStringsValidateTest, RejectsEmptyString) {
  EXPECT_TRUE(StopStrings::Validate({"a", "bc"}).ok());
  absl::Status st = StopStrings::Validate({"a", ""});
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "stop[1] is an empty string");
}

}  // namespace
}  // namespace switchyard::engine
