// Line-oriented tokenize / detokenize for the command line
// (`switchyard tokenize|detokenize --model DIR`).
#pragma once

#include <istream>
#include <ostream>

#include "absl/status/status.h"
#include "engine/tokenizer/tokenizer.h"

namespace switchyard::engine {

// Each input line (without its '\n') becomes one JSON array of ids.
absl::Status TokenizeLines(const Tokenizer& tokenizer, std::istream& in, std::ostream& out,
                           bool add_special_tokens = true);

// Each input line, a JSON array of ids, becomes one line holding the decoded
// text as a JSON string. A line that is not such an array is an error naming
// its line number.
absl::Status DetokenizeLines(const Tokenizer& tokenizer, std::istream& in, std::ostream& out,
                             bool skip_special_tokens = true);

}  // namespace switchyard::engine
