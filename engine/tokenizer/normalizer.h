// Normalizers: rewrite each stretch of input text between added tokens
// before pre-tokenization (tokenizer.json "normalizer").
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json_fwd.hpp"

namespace switchyard::engine::tok {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  // `text` is valid UTF-8 and stays so.
  virtual void Normalize(std::string* text) const = 0;
};

// null gives a null normalizer (no normalization). Unsupported types are
// refused with a message that lists the supported ones.
absl::StatusOr<std::unique_ptr<Normalizer>> NormalizerFromJson(const nlohmann::json& json);

}  // namespace switchyard::engine::tok
