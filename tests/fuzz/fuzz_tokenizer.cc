// Encode and decode with every shipped tokenizer.json. The first byte picks
// the tokenizer (kTokenizerDirs, in a fixed order so that a saved input keeps
// meaning the same one); the rest is text, possibly invalid UTF-8, and, read
// two bytes at a time, a sequence of ids for the decoders, mostly inside the
// vocabulary and sometimes outside it (negative, or past its end).
//
// Checked: every encoded id is in [0, vocab_size()); IncrementalDecoder's
// pieces start on character boundaries and concatenate to Decode of the same
// ids (incremental_decoder.h); a completion decoded after a prompt is the end
// of the text of prompt + completion.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/types/span.h"
#include "common/check.h"
#include "engine/tokenizer/incremental_decoder.h"
#include "engine/tokenizer/tokenizer.h"

namespace switchyard::engine {
namespace {

// Relative to tests/fixtures; each has a tokenizer.json (and perhaps a
// tokenizer_config.json). tests/fuzz/make_corpus.py lists them in this order.
constexpr const char* kTokenizerDirs[] = {
    "mixtral",
    "olmoe",
    "qwen2_moe",
    "qwen3_moe",
    "tokenizer/bpe_affixes",
    "tokenizer/bytelevel_gpt2",
    "tokenizer/bytelevel_llama3",
    "tokenizer/bytelevel_misc",
    "tokenizer/bytelevel_qwen",
    "tokenizer/spm_legacy",
    "tokenizer/spm_metaspace",
    "tokenizer/spm_metaspace_split",
};
constexpr size_t kNumTokenizers = std::size(kTokenizerDirs);

const std::vector<std::unique_ptr<Tokenizer>>& Tokenizers() {
  static const auto* tokenizers = [] {
    auto* loaded = new std::vector<std::unique_ptr<Tokenizer>>();
    for (const char* dir : kTokenizerDirs) {
      const std::string path = std::string(SWITCHYARD_SOURCE_DIR "/tests/fixtures/") + dir;
      absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer = Tokenizer::FromModelDir(path);
      if (!tokenizer.ok()) {
        std::fprintf(stderr, "cannot load %s: %s\n", path.c_str(),
                     std::string(tokenizer.status().message()).c_str());
        std::abort();
      }
      loaded->push_back(std::move(*tokenizer));
    }
    return loaded;
  }();
  return *tokenizers;
}

bool StartsCharacter(const std::string& text) {
  return text.empty() || (static_cast<unsigned char>(text[0]) & 0xC0) != 0x80;
}

// Each Add decodes the decoder's window again, so streaming costs most of a
// run; past this many ids a longer sequence adds time more than new states
// (the window starts over at each piece handed out).
constexpr size_t kMaxStreamedIds = 64;

// Streams `ids` through an IncrementalDecoder, as the server does for every
// generated token, and checks its promises against Decode.
void CheckStreaming(const Tokenizer& tokenizer, absl::Span<const int32_t> ids, bool skip_special) {
  ids = ids.first(std::min(ids.size(), kMaxStreamedIds));
  IncrementalDecoder decoder(tokenizer, skip_special);
  std::string streamed;
  for (int32_t id : ids) {
    const std::string pending = decoder.Pending();
    SWITCHYARD_CHECK(StartsCharacter(pending));
    const std::string piece = decoder.Add(id);
    SWITCHYARD_CHECK(StartsCharacter(piece));
    streamed += piece;
  }
  const std::string rest = decoder.Flush();
  SWITCHYARD_CHECK(StartsCharacter(rest));
  streamed += rest;
  SWITCHYARD_CHECK(streamed == tokenizer.Decode(ids, skip_special));
}

void CheckCompletion(const Tokenizer& tokenizer, absl::Span<const int32_t> prompt,
                     absl::Span<const int32_t> completion, bool skip_special) {
  std::vector<int32_t> all(prompt.begin(), prompt.end());
  all.insert(all.end(), completion.begin(), completion.end());
  const std::string whole = tokenizer.Decode(all, skip_special);
  const std::string after = DecodeAfter(tokenizer, prompt, completion, skip_special);
  SWITCHYARD_CHECK(whole.ends_with(after));
}

// Two bytes -> an id: 15 in 16 inside the vocabulary, where the decoders have
// work to do; the rest the ids a client may send that name no token.
int32_t IdFromBits(uint16_t bits, int32_t vocab_size) {
  if (bits < 0xF000) return static_cast<int32_t>(bits % vocab_size);
  const int32_t outside[] = {-1, -2, vocab_size, vocab_size + 1, std::numeric_limits<int32_t>::max(),
                             std::numeric_limits<int32_t>::min()};
  return outside[bits % std::size(outside)];
}

}  // namespace
}  // namespace switchyard::engine

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  switchyard::engine::Tokenizers();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace switchyard::engine;
  if (size == 0) return 0;
  const Tokenizer& tokenizer = *Tokenizers()[data[0] % kNumTokenizers];
  const int32_t vocab_size = tokenizer.vocab_size();
  SWITCHYARD_CHECK(vocab_size > 0);
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

  for (bool add_special : {true, false}) {
    const std::vector<int32_t> ids = tokenizer.Encode(text, add_special);
    for (int32_t id : ids) SWITCHYARD_CHECK(id >= 0 && id < vocab_size);
    CheckStreaming(tokenizer, ids, /*skip_special=*/!add_special);
  }

  std::vector<int32_t> ids;
  for (size_t i = 0; i + 1 < text.size() && ids.size() < kMaxStreamedIds; i += 2) {
    ids.push_back(IdFromBits(static_cast<uint16_t>(static_cast<uint8_t>(text[i]) |
                                                   static_cast<uint8_t>(text[i + 1]) << 8),
                             vocab_size));
  }
  for (bool skip_special : {true, false}) {
    CheckStreaming(tokenizer, ids, skip_special);
    // The text's last byte says where the prompt ends.
    const size_t split = ids.empty() ? 0 : static_cast<uint8_t>(text.back()) % (ids.size() + 1);
    CheckCompletion(tokenizer, absl::MakeConstSpan(ids).first(split),
                    absl::MakeConstSpan(ids).subspan(split), skip_special);
  }
  return 0;
}
