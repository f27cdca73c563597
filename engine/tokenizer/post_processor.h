// Post-processors (tokenizer.json "post_processor"): the special tokens put
// around an encoded single sequence when add_special_tokens is true.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json_fwd.hpp"

namespace switchyard::engine::tok {

// For one sequence every supported post-processor reduces to fixed ids before
// and after it (pair templates are not needed for generation).
struct SpecialWrap {
  std::vector<int32_t> prefix;
  std::vector<int32_t> suffix;
};

// null gives an empty wrap.
absl::StatusOr<SpecialWrap> PostProcessorFromJson(const nlohmann::json& json);

}  // namespace switchyard::engine::tok
