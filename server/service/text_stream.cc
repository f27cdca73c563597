#include "server/service/text_stream.h"

#include <algorithm>

namespace switchyard::server {

TextStream::TextStream(const engine::Tokenizer& tokenizer, std::vector<std::string> stops,
                       absl::Span<const int32_t> prompt)
    : decoder_(tokenizer), stops_(std::move(stops)) {
  for (const std::string& s : stops_) hold_ = std::max(hold_, s.size() - 1);
  decoder_.StartAfter(prompt);
}

std::string TextStream::Add(int32_t id) {
  text_ += decoder_.Add(id);
  size_t end = text_.size() > sent_ + hold_ ? text_.size() - hold_ : sent_;
  // A stop string this token completed: the engine ends the request with
  // it, so nothing from its start on is ever sent.
  end = std::min(end, std::max(sent_, FirstStop()));
  // Step back to a character boundary (never before what was already sent).
  while (end > sent_ && end < text_.size() && (static_cast<unsigned char>(text_[end]) & 0xC0) == 0x80) --end;
  std::string piece = text_.substr(sent_, end - sent_);
  sent_ = end;
  return piece;
}

std::string TextStream::Finish() {
  text_ += decoder_.Flush();
  // Add never sent text from a stop string's start on.
  const size_t end = std::max(sent_, std::min(text_.size(), FirstStop()));
  std::string piece = text_.substr(sent_, end - sent_);
  sent_ = text_.size();
  return piece;
}

// A stop string never starts before sent_: Add hands text out only once it is
// hold_ bytes back from the end, so a stop string starting there would have
// been complete, and found, before. Searching from sent_ keeps each token's
// cost independent of the text's length.
size_t TextStream::FirstStop() const {
  size_t first = std::string::npos;
  for (const std::string& s : stops_) first = std::min(first, text_.find(s, sent_));
  return first;
}

}  // namespace switchyard::server
