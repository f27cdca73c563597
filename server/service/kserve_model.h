// How the served model looks over KServe v2 / Triton: one version, "1", no
// batch dimension (one prompt per request), decoupled (any number of
// responses per request), and the tensors of Triton's LLM backends: the
// vLLM backend's (text_input, stream, sampling_parameters,
// exclude_input_in_output, return_*) and the TensorRT-LLM backend's sampling
// tensors (max_tokens, temperature, ...), returning text_output.
#pragma once

#include <cstdint>
#include <string>

#include "inference/grpc_service.pb.h"

namespace switchyard::server {

inline constexpr const char* kKServeModelVersion = "1";
inline constexpr const char* kKServePlatform = "switchyard";

struct KServeTensor {
  const char* name;
  const char* datatype;  // the protocol's name: "BYTES", "BOOL", "INT32", ...
  int64_t dim;           // the one dimension: 1, or -1 for a list
  bool optional;
};

// Every input a request may carry; text_input is the only one required.
inline constexpr KServeTensor kKServeInputs[] = {
    {"text_input", "BYTES", 1, false},
    {"stream", "BOOL", 1, true},
    {"sampling_parameters", "BYTES", 1, true},
    {"exclude_input_in_output", "BOOL", 1, true},
    {"return_finish_reason", "BOOL", 1, true},
    {"return_num_input_tokens", "BOOL", 1, true},
    {"return_num_output_tokens", "BOOL", 1, true},
    {"max_tokens", "INT32", 1, true},
    {"temperature", "FP32", 1, true},
    {"top_p", "FP32", 1, true},
    {"top_k", "INT32", 1, true},
    {"min_p", "FP32", 1, true},
    {"repetition_penalty", "FP32", 1, true},
    {"presence_penalty", "FP32", 1, true},
    {"frequency_penalty", "FP32", 1, true},
    {"seed", "UINT64", 1, true},
    {"random_seed", "UINT64", 1, true},
    {"stop", "BYTES", -1, true},
    {"stop_words", "BYTES", -1, true},
    {"stop_token_ids", "INT32", -1, true},
    {"ignore_eos", "BOOL", 1, true},
    {"n", "INT32", 1, true},
    {"beam_width", "INT32", 1, true},
    {"cache_salt", "BYTES", 1, true},
};

// Every output; text_output is returned unless the request lists others.
inline constexpr KServeTensor kKServeOutputs[] = {
    {"text_output", "BYTES", -1, false},
    {"finish_reason", "BYTES", -1, true},
    {"num_input_tokens", "UINT32", 1, true},
    {"num_output_tokens", "UINT32", -1, true},
};

void FillModelMetadata(const std::string& model_name, inference::ModelMetadataResponse& response);
void FillModelConfig(const std::string& model_name, inference::ModelConfig& config);

}  // namespace switchyard::server
