// The prompts a benchmark sends: random token ids, or the lines of a JSONL
// file in the format of `switchyard generate --prompts-file`, so that the
// offline engine and the server can be given the same work.
#pragma once

#include <cstdint>
#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace switchyard::loadgen {

struct Prompt {
  std::vector<int32_t> ids;
  std::string text;  // when given as text instead of ids (encoded by the server)
};

class Workload {
 public:
  // Request i gets `length` ids drawn uniformly from [0, vocab_size) by a
  // generator seeded with (seed, i): every request has its own prompt, any
  // number of them, and the same seed gives the same prompts.
  static Workload Random(int32_t length, int32_t vocab_size, uint64_t seed);

  // One prompt per non-blank line, {"prompt_ids": [...]} or {"prompt": "..."};
  // other fields (those `switchyard generate` reads) are ignored here, since
  // the load generator's flags set every request's sampling. Request i gets
  // line i, cycling when there are more requests than lines.
  static absl::StatusOr<Workload> FromJsonl(std::istream& in);

  Prompt At(int64_t index) const;

 private:
  std::vector<Prompt> lines_;
  int32_t length_ = 0;
  int32_t vocab_size_ = 0;
  uint64_t seed_ = 0;
};

// What a request asks for besides its prompt.
struct Sampling {
  int32_t max_tokens = 0;
  float temperature = 0;
  bool ignore_eos = true;
};

// Writes prompts 0..count-1 with `sampling` as `switchyard generate
// --prompts-file` input, one JSON object per line.
void WritePromptsJsonl(const Workload& workload, int64_t count, const Sampling& sampling, std::ostream& out);

}  // namespace switchyard::loadgen
