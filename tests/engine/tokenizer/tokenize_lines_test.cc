#include "engine/tokenizer/tokenize_lines.h"

#include <filesystem>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace switchyard::engine {
namespace {

std::unique_ptr<Tokenizer> Load() {
  auto t = Tokenizer::FromModelDir(std::string(SWITCHYARD_SOURCE_DIR) +
                                   "/tests/fixtures/tokenizer/bytelevel_qwen");
  EXPECT_TRUE(t.ok()) << t.status();
  return std::move(t).value();
}

TEST(TokenizeLines, OneJsonArrayPerLineAndBack) {
  const auto t = Load();
  std::istringstream in("hello world\n\n<|im_start|>caf\xC3\xA9 \"q\"\n");
  std::ostringstream ids;
  ASSERT_TRUE(TokenizeLines(*t, in, ids).ok());
  std::istringstream ids_in(ids.str());
  std::ostringstream text;
  ASSERT_TRUE(DetokenizeLines(*t, ids_in, text, /*skip_special_tokens=*/false).ok());
  EXPECT_EQ(text.str(), "\"hello world\"\n\"\"\n\"<|im_start|>caf\xC3\xA9 \\\"q\\\"\"\n");
  const std::string lines = ids.str();
  EXPECT_EQ(lines.substr(0, 1), "[");
  EXPECT_EQ(std::count(lines.begin(), lines.end(), '\n'), 3);
}

TEST(DetokenizeLines, NamesTheBadLine) {
  const auto t = Load();
  std::istringstream in("[1, 2]\n[1, \"x\"]\n");
  std::ostringstream out;
  const absl::Status status = DetokenizeLines(*t, in, out);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), testing::HasSubstr("line 2"));
}

}  // namespace
}  // namespace switchyard::engine
