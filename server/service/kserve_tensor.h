// Tensors of the KServe v2 protocol, read and written: an input's elements
// come either in its typed `contents` or in the request's
// `raw_input_contents` (which Triton's clients use), and outputs are written
// raw, as Triton writes them and its clients read them. Every malformed
// tensor is INVALID_ARGUMENT naming it and saying what was expected.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "inference/grpc_service.pb.h"

namespace switchyard::server {

// One input tensor's elements, by datatype: BOOL as bools, INT8..INT64 as
// int64_t, UINT8..UINT64 as uint64_t, FP32 and FP64 as double, BYTES as
// strings. (FP16 and BF16 are not read: no input here takes them.)
using TensorValues = std::variant<std::vector<bool>, std::vector<int64_t>, std::vector<uint64_t>,
                                  std::vector<double>, std::vector<std::string>>;

// INVALID_ARGUMENT unless raw_input_contents is either empty or holds one
// entry per input, and no input then also has typed contents.
absl::Status CheckRawInputContents(const inference::ModelInferRequest& request);

// The elements of request.inputs(index), checked against its datatype and
// shape (non-negative dimensions whose product is the element count). Call
// CheckRawInputContents first.
absl::StatusOr<TensorValues> ReadInputTensor(const inference::ModelInferRequest& request, int index);

// Appends an output tensor to `response` with its raw contents.
void AddBytesOutput(const std::string& name, const std::vector<int64_t>& shape,
                    const std::vector<std::string>& elements, inference::ModelInferResponse& response);
void AddUint32Output(const std::string& name, const std::vector<int64_t>& shape,
                     const std::vector<uint32_t>& elements, inference::ModelInferResponse& response);

}  // namespace switchyard::server
