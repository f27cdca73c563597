// The responses of KServe v2 inference, in the conventions of Triton's vLLM
// backend: text_output, and when asked finish_reason ("length", "stop";
// "None" on a streamed response that is not the last), num_input_tokens and
// num_output_tokens (a streamed response counts its own tokens), each with
// text_input's shape. A streamed response carries the parameter
// triton_final_response, true on a request's last response only (as Triton
// marks a decoupled model's responses).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "inference/grpc_service.pb.h"
#include "server/service/kserve_request.h"
#include "switchyard/v1/switchyard.pb.h"

namespace switchyard::server {

// What one response reports.
struct KServeOutput {
  std::string text;                         // without the prompt; FillInferResponse prepends it if asked
  bool with_prompt = false;                 // prepend the prompt (the first response of a request)
  std::optional<v1::FinishReason> finish;   // the last response's
  int32_t prompt_tokens = 0;
  int32_t completion_tokens = 0;            // those this response covers
};

void FillInferResponse(const KServeRequest& request, const std::string& model_name, const KServeOutput& output,
                       inference::ModelInferResponse& response);

// Sets the parameter triton_final_response.
void MarkFinal(bool final, inference::ModelInferResponse& response);

// A streamed request's failure: the message, and the request's id and model
// in infer_response (marked final), so that a client with several requests
// on one stream knows which one failed.
inference::ModelStreamInferResponse StreamError(const std::string& id, const std::string& model_name,
                                               const absl::Status& status);

}  // namespace switchyard::server
