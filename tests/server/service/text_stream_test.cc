#include "server/service/text_stream.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "server/generate_command.h"

namespace switchyard::server {
namespace {

const std::string kMixtral = std::string(SWITCHYARD_SOURCE_DIR) + "/tests/fixtures/mixtral";

struct Golden {
  std::vector<int32_t> greedy;
  std::string text;
};

Golden ReadGolden() {
  std::ifstream in(kMixtral + "/golden.json");
  const nlohmann::json p = nlohmann::json::parse(in)["prompts"][0];
  return {p["greedy"], p["greedy_text"]};
}

// Streams `ids`, stopping after the first token whose text holds a stop
// string (as the engine does); returns the pieces.
std::vector<std::string> Stream(const std::vector<int32_t>& ids, std::vector<std::string> stops) {
  auto tokenizer = *LoadTokenizer(kMixtral);
  TextStream stream(*tokenizer, stops);
  std::vector<std::string> pieces;
  std::vector<int32_t> generated;
  for (int32_t id : ids) {
    pieces.push_back(stream.Add(id));
    generated.push_back(id);
    const std::string text = tokenizer->Decode(generated);
    bool stop = false;
    for (const std::string& s : stops) stop |= text.find(s) != std::string::npos;
    if (stop) break;
  }
  pieces.push_back(stream.Finish());
  return pieces;
}

std::string Join(const std::vector<std::string>& pieces) {
  std::string all;
  for (const std::string& p : pieces) all += p;
  return all;
}

TEST(TextStreamTest, PiecesConcatenateToTheDecodedText) {
  const Golden g = ReadGolden();
  const std::vector<std::string> pieces = Stream(g.greedy, {});
  EXPECT_EQ(Join(pieces), g.text);
  EXPECT_GT(pieces.size(), 2u);
}

TEST(TextStreamTest, TextEndsBeforeTheStopString) {
  const Golden g = ReadGolden();
  for (const std::string stop : {" cup", "a", "clipboard and", "tea"}) {
    SCOPED_TRACE(stop);
    const size_t at = g.text.find(stop);
    ASSERT_NE(at, std::string::npos);
    EXPECT_EQ(Join(Stream(g.greedy, {stop})), g.text.substr(0, at));
  }
}

TEST(TextStreamTest, NeverSplitsAUtf8Character) {
  auto tokenizer = *LoadTokenizer(kMixtral);
  TextStream stream(*tokenizer, {"zz"});
  // "é" is two bytes: with byte fallback its tokens arrive one byte each.
  const std::vector<int32_t> ids = tokenizer->Encode("caf\xc3\xa9 ok", /*add_special_tokens=*/false);
  std::string all;
  for (int32_t id : ids) {
    const std::string piece = stream.Add(id);
    if (!piece.empty()) EXPECT_NE(static_cast<unsigned char>(piece[0]) & 0xC0, 0x80) << piece;
    all += piece;
  }
  all += stream.Finish();
  EXPECT_EQ(all, tokenizer->Decode(ids));
}

}  // namespace
}  // namespace switchyard::server
