// A KServe v2 ModelInferRequest translated into a switchyard.v1
// GenerateRequest (which ParseGenerateRequest then validates, as for every
// generate call) plus what shapes the responses. The conventions are those of
// Triton's LLM backends:
//  - the prompt is the one BYTES element of input text_input;
//  - options come from the request's `parameters`, from the JSON object in
//    input sampling_parameters (vLLM backend; numbers may be strings), and
//    from input tensors of their own (TensorRT-LLM backend: max_tokens,
//    temperature, ...); a tensor overrides sampling_parameters, which
//    overrides `parameters`;
//  - text_output holds the prompt followed by the completion unless
//    exclude_input_in_output is true; streaming (input stream true) sends
//    only the completion, in deltas.
// Names not taken here are INVALID_ARGUMENT listing those that are, except
// the request parameters Triton reserves for itself (sequence_*, priority,
// headers, binary_data_output, triton_*), which are ignored, and `timeout`
// (microseconds), which bounds the call's deadline.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "inference/grpc_service.pb.h"
#include "switchyard/v1/switchyard.pb.h"

namespace switchyard::server {

struct KServeRequest {
  std::string id;                      // echoed in every response
  v1::GenerateRequest generate;        // the prompt and the options
  std::vector<int64_t> output_shape;   // text_input's shape: every output has it
  bool stream = false;                 // one response per text delta (ModelStreamInfer only)
  bool prepend_input = true;           // text_output starts with the prompt
  // The outputs to return.
  bool text_output = true;
  bool finish_reason = false;
  bool num_input_tokens = false;
  bool num_output_tokens = false;
  std::optional<absl::Duration> timeout;  // parameter "timeout"
};

// INVALID_ARGUMENT naming the tensor, parameter or JSON key and its value.
// The model name and version are the caller's to check.
absl::StatusOr<KServeRequest> TranslateInferRequest(const inference::ModelInferRequest& request);

}  // namespace switchyard::server
