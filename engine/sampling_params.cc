#include "engine/sampling_params.h"

#include <charconv>
#include <cmath>
#include <string>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"

namespace switchyard::engine {
namespace {

// Floats print in their shortest exact form, so that a value just past a
// bound shows why it is refused (top_p 1.0000001, not "1").
template <typename T>
std::string Printed(T value) {
  if constexpr (std::is_floating_point_v<T>) {
    char buffer[32];
    const std::to_chars_result end = std::to_chars(buffer, buffer + sizeof buffer, value);
    return std::string(buffer, end.ptr);
  } else {
    return absl::StrCat(value);
  }
}

template <typename T>
absl::Status Check(bool ok, absl::string_view field, T value, absl::string_view range) {
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(field, " must be in ", range, ", got ", Printed(value)));
}

// The comparisons below are written so that NaN fails them; std::isfinite is
// added where the range is open towards infinity.
bool Within(float v, float lo, float hi) { return v >= lo && v <= hi; }

}  // namespace

absl::Status SamplingParams::Validate(int32_t vocab_size) const {
  RETURN_IF_ERROR(Check(std::isfinite(temperature) && temperature >= 0, "temperature",
                        temperature, "[0, inf) (0 = greedy)"));
  RETURN_IF_ERROR(Check(top_k >= 0, "top_k", top_k, "[0, inf) (0 = off)"));
  RETURN_IF_ERROR(Check(top_p > 0 && top_p <= 1, "top_p", top_p, "(0, 1]"));
  RETURN_IF_ERROR(Check(Within(min_p, 0, 1), "min_p", min_p, "[0, 1]"));
  RETURN_IF_ERROR(Check(std::isfinite(repetition_penalty) && repetition_penalty > 0,
                        "repetition_penalty", repetition_penalty, "(0, inf)"));
  RETURN_IF_ERROR(Check(Within(presence_penalty, -2, 2), "presence_penalty",
                        presence_penalty, "[-2, 2]"));
  RETURN_IF_ERROR(Check(Within(frequency_penalty, -2, 2), "frequency_penalty",
                        frequency_penalty, "[-2, 2]"));
  RETURN_IF_ERROR(Check(max_tokens >= 1, "max_tokens", max_tokens, "[1, inf)"));
  RETURN_IF_ERROR(Check(logprobs >= 0 && logprobs <= kMaxLogprobs, "logprobs", logprobs, "[0, 20]"));
  const std::string range = absl::StrCat("[0, ", vocab_size, ")");
  for (size_t i = 0; i < stop_token_ids.size(); ++i) {
    const int32_t id = stop_token_ids[i];
    RETURN_IF_ERROR(Check(id >= 0 && id < vocab_size, absl::StrCat("stop_token_ids[", i, "]"),
                          id, range));
  }
  return absl::OkStatus();
}

absl::Status CheckFitsContext(int64_t prompt_tokens, int32_t max_tokens, int64_t context_length) {
  const int64_t total = prompt_tokens + max_tokens;
  if (total <= context_length) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("prompt (", prompt_tokens, " tokens) plus max_tokens (", max_tokens,
                                                 ") is ", total, " tokens, over the context length ",
                                                 context_length));
}

}  // namespace switchyard::engine
