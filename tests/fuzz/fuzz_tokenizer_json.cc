// tokenizer.json bytes -> engine::Tokenizer::FromJson, then a fixed short text
// through the tokenizer it built. An odd first byte also passes a
// tokenizer_config.json: what follows the first NUL byte (a NUL cannot occur
// in valid JSON text, so it never cuts a tokenizer.json worth reading).
//
// Checked: FromJson refuses with INVALID_ARGUMENT (malformed) or
// UNIMPLEMENTED (unsupported), no JSON exception escaping it; a tokenizer it
// builds encodes to ids in [0, vocab_size()), names BOS and EOS inside the
// vocabulary, and decodes, all at once and streaming, to the same text.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/check.h"
#include "engine/tokenizer/incremental_decoder.h"
#include "engine/tokenizer/tokenizer.h"

namespace switchyard::engine {
namespace {

// Words, digits, spaces to strip or keep, a special-looking token, accented
// and CJK letters, an emoji (byte fallback) and a byte that is not UTF-8.
constexpr std::string_view kText = " Hello  wörld 123\n<s>你好 😀\xff";

void CheckTokenizer(const Tokenizer& tokenizer) {
  const int32_t vocab_size = tokenizer.vocab_size();
  SWITCHYARD_CHECK(vocab_size >= 0);
  if (tokenizer.bos_id()) SWITCHYARD_CHECK(*tokenizer.bos_id() >= 0 && *tokenizer.bos_id() < vocab_size);
  if (tokenizer.eos_id()) SWITCHYARD_CHECK(*tokenizer.eos_id() >= 0 && *tokenizer.eos_id() < vocab_size);
  for (bool add_special : {true, false}) {
    const std::vector<int32_t> ids = tokenizer.Encode(kText, add_special);
    for (int32_t id : ids) SWITCHYARD_CHECK(id >= 0 && id < vocab_size);
    for (bool skip_special : {true, false}) {
      const std::string text = tokenizer.Decode(ids, skip_special);
      IncrementalDecoder decoder(tokenizer, skip_special);
      std::string streamed;
      for (int32_t id : ids) streamed += decoder.Add(id);
      streamed += decoder.Flush();
      SWITCHYARD_CHECK(streamed == text);
    }
  }
}

}  // namespace
}  // namespace switchyard::engine

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace switchyard::engine;
  if (size == 0) return 0;
  const bool with_config = data[0] & 1;
  std::string_view tokenizer_json(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string_view config_json;
  if (with_config) {
    const size_t nul = tokenizer_json.find('\0');
    if (nul != std::string_view::npos) {
      config_json = tokenizer_json.substr(nul + 1);
      tokenizer_json = tokenizer_json.substr(0, nul);
    }
  }
  const absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer = Tokenizer::FromJson(tokenizer_json, config_json);
  if (!tokenizer.ok()) {
    // Malformed, or a component or option the tokenizer does not implement.
    const absl::StatusCode code = tokenizer.status().code();
    SWITCHYARD_CHECK(code == absl::StatusCode::kInvalidArgument || code == absl::StatusCode::kUnimplemented);
    return 0;
  }
  CheckTokenizer(**tokenizer);
  return 0;
}
