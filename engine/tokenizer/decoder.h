// Decoders (tokenizer.json "decoder"): turn the token strings of an id
// sequence back into text. As in HF, each step maps the list of token
// strings to a new list and the final list is concatenated.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json_fwd.hpp"

namespace switchyard::engine::tok {

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual void DecodeChain(std::vector<std::string>* tokens) const = 0;
};

// What streaming decode must know about a decoder chain.
struct DecoderTraits {
  // A ByteFallback step renders a run of "<0xXX>" tokens only once the run
  // ends, so the text of an unfinished run may still change.
  bool byte_fallback = false;
  // A Strip that cuts trailing characters after the tokens were fused into
  // one string: the end of the text may still grow back. Holds that char.
  std::string fused_trailing_strip;
};

// The byte of a "<0xXX>" byte-fallback token, or -1 for any other token.
int ByteFallbackByte(const std::string& token);

// null gives nullptr (tokens are joined with spaces, as HF does).
absl::StatusOr<std::unique_ptr<Decoder>> DecoderFromJson(const nlohmann::json& json,
                                                         DecoderTraits* traits);

}  // namespace switchyard::engine::tok
