#include "engine/tokenizer/stop_strings.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace switchyard::engine {

StopStrings::StopStrings(const Tokenizer& tokenizer, std::vector<std::string> stops, absl::Span<const int32_t> prompt)
    : tokenizer_(tokenizer),
      stops_(std::move(stops)),
      prompt_window_(prompt.begin() + IncrementalDecoder::PromptWindowStart(tokenizer, prompt, true), prompt.end()),
      decoder_(tokenizer) {
  for (const std::string& s : stops_) keep_ = std::max(keep_, s.size() - 1);
  Restart();
}

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

void StopStrings::Restart() {
  decoder_.StartAfter(prompt_window_);
  seen_ = 0;
  tail_.clear();
  matched_ = false;
}

bool StopStrings::Matches(absl::Span<const int32_t> generated) {
  if (stops_.empty()) return false;
  if (generated.size() < seen_ || (seen_ > 0 && generated[seen_ - 1] != last_)) Restart();
  std::string text = std::move(tail_);
  for (; seen_ < generated.size(); ++seen_) text += decoder_.Add(last_ = generated[seen_]);
  // The held-back end counts too, as it reads now: a stop string may end in
  // a character whose last byte token just arrived.
  const bool found = FirstStop(text + decoder_.Pending()) != std::string::npos;
  // Only a match in the final text stays one: the held-back end may change.
  matched_ = matched_ || FirstStop(text) != std::string::npos;
  tail_ = text.size() > keep_ ? text.substr(text.size() - keep_) : std::move(text);
  return found || matched_;
}

std::string StopStrings::Truncate(absl::Span<const int32_t> generated) const {
  std::string text = DecodeAfter(tokenizer_, prompt_window_, generated);
  if (const size_t at = FirstStop(text); at != std::string::npos) text.resize(at);
  return text;
}

}  // namespace switchyard::engine
