// Why a request ended: one enum for the single-request driver, the
// scheduler's engine loop and the server.
#pragma once

#include <string_view>

namespace switchyard::engine {

enum class FinishReason {
  kLength,            // max_tokens generated
  kStopToken,         // a stop token id
  kEos,               // the model's end-of-sequence token
  kStopString,        // a stop string in the detokenized text
  kCancelled,         // the client cancelled
  kDeadlineExceeded,  // its deadline passed before it finished
};

// "length", "stop", "eos", "stop", "cancelled", "deadline_exceeded": the names
// OpenAI-style APIs use, so a stop id and a stop string both read "stop".
std::string_view FinishReasonName(FinishReason r);

}  // namespace switchyard::engine
