#include "engine/tokenizer/onig_regex.h"

#include <oniguruma.h>

#include <mutex>

#include "absl/strings/str_cat.h"
#include "engine/tokenizer/utf8.h"
#include "engine/tokenizer/absl_view.h"

namespace switchyard::engine::tok {
namespace {

void InitializeOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    OnigEncoding encodings[] = {ONIG_ENCODING_UTF8};
    onig_initialize(encodings, 1);
  });
}

const OnigUChar* U(std::string_view s, size_t i) {
  return reinterpret_cast<const OnigUChar*>(s.data()) + i;
}

// A match region per thread keeps concurrent searches on one regex apart
// without allocating one per search.
struct Region {
  Region() : r(onig_region_new()) {}
  ~Region() { onig_region_free(r, 1); }
  OnigRegion* r;
};

OnigRegion* ThreadRegion() {
  thread_local Region region;
  return region.r;
}

}  // namespace

absl::StatusOr<std::unique_ptr<OnigRegex>> OnigRegex::Compile(std::string_view pattern) {
  InitializeOnce();
  regex_t* regex = nullptr;
  OnigErrorInfo info;
  const int rc = onig_new(&regex, U(pattern, 0), U(pattern, pattern.size()),
                          ONIG_OPTION_NONE, ONIG_ENCODING_UTF8, ONIG_SYNTAX_DEFAULT, &info);
  if (rc != ONIG_NORMAL) {
    OnigUChar message[ONIG_MAX_ERROR_MESSAGE_LEN];
    onig_error_code_to_str(message, rc, &info);
    return absl::InvalidArgumentError(absl::StrCat(
        "bad regex '", AbslView(pattern), "' in tokenizer.json: ", reinterpret_cast<char*>(message)));
  }
  return std::unique_ptr<OnigRegex>(new OnigRegex(regex));
}

OnigRegex::~OnigRegex() { onig_free(static_cast<regex_t*>(regex_)); }

std::vector<std::pair<size_t, size_t>> OnigRegex::FindAll(std::string_view text) const {
  std::vector<std::pair<size_t, size_t>> matches;
  OnigRegion* region = ThreadRegion();
  auto* regex = static_cast<regex_t*>(regex_);
  size_t from = 0;
  bool have_last = false;
  size_t last_end = 0;
  while (from <= text.size()) {
    const int pos = onig_search(regex, U(text, 0), U(text, text.size()), U(text, from),
                                U(text, text.size()), region, ONIG_OPTION_NONE);
    if (pos < 0) break;  // no match, or a matcher error, which HF treats alike
    const size_t start = region->beg[0], end = region->end[0];
    if (start == end && have_last && last_end == end) {
      from += from < text.size() ? Utf8Length(static_cast<unsigned char>(text[from])) : 1;
      continue;
    }
    matches.emplace_back(start, end);
    from = end;
    have_last = true;
    last_end = end;
  }
  return matches;
}

long OnigRegex::MatchAt(std::string_view text, size_t start) const {
  const int length = onig_match(static_cast<regex_t*>(regex_), U(text, 0), U(text, text.size()),
                                U(text, start), ThreadRegion(), ONIG_OPTION_NONE);
  return length >= 0 ? length : -1;
}

}  // namespace switchyard::engine::tok
