// Abseil takes string views as absl::string_view (hash map lookups, StrCat),
// which the Debian build of Abseil does not alias to std::string_view; this
// converts.
#pragma once

#include <string_view>

#include "absl/strings/string_view.h"

namespace switchyard::engine::tok {

inline absl::string_view AbslView(std::string_view s) { return {s.data(), s.size()}; }

}  // namespace switchyard::engine::tok
