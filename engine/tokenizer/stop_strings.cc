#include "engine/tokenizer/stop_strings.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace switchyard::engine {

StopStrings::StopStrings(const Tokenizer& tokenizer, std::vector<std::string> stops)
    : tokenizer_(tokenizer), stops_(std::move(stops)) {}

absl::Status StopStrings::Validate(const std::vector<std::string>& stops) {
  for (size_t i = 0; i < stops.size(); ++i) {
    if (stops[i].empty()) return absl::InvalidArgumentError(absl::StrCat("stop[", i, "] is an empty string"));
  }
  return absl::OkStatus();
}

size_t StopStrings::FirstStop(const std::string& text) const {
  size_t first = std::string::npos;
  for (const std::string& stop : stops_) first = std::min(first, text.find(stop));
  return first;
}

bool StopStrings::Matches(absl::Span<const int32_t> generated) const {
  return !stops_.empty() && FirstStop(tokenizer_.Decode(generated)) != std::string::npos;
}

std::string StopStrings::Truncate(absl::Span<const int32_t> generated) const {
  std::string text = tokenizer_.Decode(generated);
  if (const size_t at = FirstStop(text); at != std::string::npos) text.resize(at);
  return text;
}

}  // namespace switchyard::engine
