// Pre-tokenizers: cut normalized text into the words the BPE model encodes
// one at a time, rewriting them on the way (byte-level alphabet, "▁").
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json_fwd.hpp"

namespace switchyard::engine::tok {

struct PreToken {
  std::string text;
  // Whether the piece starts at the very beginning of the text given to
  // Encode; Metaspace's prepend_scheme "first" only marks such a piece.
  bool at_input_start = false;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Rewrites and splits every piece, keeping their order; empty pieces vanish.
  virtual void PreTokenize(std::vector<PreToken>* pieces) const = 0;
};

// null gives nullptr (the whole piece is one word). Unsupported types are
// refused with a message that lists the supported ones.
absl::StatusOr<std::unique_ptr<PreTokenizer>> PreTokenizerFromJson(const nlohmann::json& json);

}  // namespace switchyard::engine::tok
