// Canonical Unicode normalization (NFC and NFD) with the same Unicode data as
// HF tokenizers, so that normalized text, and hence token ids, agree.
#pragma once

#include <string>
#include <string_view>

namespace switchyard::engine::tok {

// `text` must be valid UTF-8.
std::string ToNfc(std::string_view text);
std::string ToNfd(std::string_view text);

}  // namespace switchyard::engine::tok
