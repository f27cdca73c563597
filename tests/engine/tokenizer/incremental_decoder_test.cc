// Streaming decode on random id sequences: every piece is whole UTF-8 and
// the pieces add up to Tokenizer::Decode of all ids.
#include "engine/tokenizer/incremental_decoder.h"

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/utf8.h"
#include "gtest/gtest.h"

namespace switchyard::engine {
namespace {

namespace fs = std::filesystem;

class IncrementalDecoderTest : public testing::TestWithParam<std::string> {};

TEST_P(IncrementalDecoderTest, PiecesAddUpToTheFullDecode) {
  const fs::path path =
      fs::path(SWITCHYARD_SOURCE_DIR) / "tests/fixtures/tokenizer" / GetParam() / "tokenizer.json";
  auto loaded = Tokenizer::FromFile(path.string());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const Tokenizer& t = **loaded;
  // Byte tokens and text that splits characters are the hard cases, so
  // draw ids from the whole vocabulary and, often, from encoded emoji/CJK.
  const std::vector<int32_t> hard = t.Encode("😀👨‍👩‍👧 你好 e\xCC\x81 \xE2\x82\xAC ẞ", false);
  std::mt19937 rng(42);
  int wrong = 0;
  for (int round = 0; round < 400; ++round) {
    std::vector<int32_t> ids;
    const int n = 1 + rng() % 40;
    for (int i = 0; i < n; ++i) {
      ids.push_back(rng() % 3 == 0 ? hard[rng() % hard.size()]
                                   : static_cast<int32_t>(rng() % (t.vocab_size() + 5)));
    }
    for (const bool skip : {true, false}) {
      IncrementalDecoder decoder(t, skip);
      std::string streamed;
      for (const int32_t id : ids) {
        const std::string piece = decoder.Add(id);
        EXPECT_TRUE(tok::IsValidUtf8(piece));
        streamed += piece;
      }
      streamed += decoder.Flush();
      if (streamed != t.Decode(ids, skip) && ++wrong <= 3) {
        ADD_FAILURE() << "ids " << testing::PrintToString(ids) << " skip " << skip;
      }
    }
  }
  EXPECT_EQ(wrong, 0);
}

TEST_P(IncrementalDecoderTest, EmitsTextAsSoonAsItIsFinal) {
  const fs::path path =
      fs::path(SWITCHYARD_SOURCE_DIR) / "tests/fixtures/tokenizer" / GetParam() / "tokenizer.json";
  auto loaded = Tokenizer::FromFile(path.string());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const std::vector<int32_t> ids = (*loaded)->Encode("The rail yard at dawn, 2024.", false);
  IncrementalDecoder decoder(**loaded);
  std::string before_flush;
  for (const int32_t id : ids) before_flush += decoder.Add(id);
  EXPECT_EQ(before_flush + decoder.Flush(), (*loaded)->Decode(ids));
  EXPECT_GE(before_flush.size(), (*loaded)->Decode(ids).size() - 8);
  // After Flush the decoder starts a new stream.
  EXPECT_EQ(decoder.Add(ids[0]) + decoder.Flush(), (*loaded)->Decode({ids[0]}));
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, IncrementalDecoderTest,
                         testing::Values("bytelevel_qwen", "bytelevel_gpt2", "bytelevel_misc",
                                         "spm_legacy", "spm_metaspace", "spm_metaspace_split",
                                         "bpe_affixes"));

}  // namespace
}  // namespace switchyard::engine
