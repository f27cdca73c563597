#include "server/service/kserve_response.h"

#include <vector>

#include "server/service/kserve_model.h"
#include "server/service/kserve_tensor.h"

namespace switchyard::server {
namespace {

// vLLM's finish reasons; it reports the end-of-sequence token as "stop", and
// str(None) before the end.
std::string FinishReasonName(const std::optional<v1::FinishReason>& reason) {
  if (!reason) return "None";
  switch (*reason) {
    case v1::FINISH_REASON_LENGTH:
      return "length";
    case v1::FINISH_REASON_STOP:
    case v1::FINISH_REASON_EOS:
      return "stop";
    case v1::FINISH_REASON_CANCELLED:
    case v1::FINISH_REASON_DEADLINE_EXCEEDED:
      return "abort";
    default:
      return "None";
  }
}

}  // namespace

void FillInferResponse(const KServeRequest& request, const std::string& model_name, const KServeOutput& output,
                       inference::ModelInferResponse& response) {
  response.set_model_name(model_name);
  response.set_model_version(kKServeModelVersion);
  response.set_id(request.id);
  const std::vector<int64_t>& shape = request.output_shape;
  if (request.text_output) {
    AddBytesOutput("text_output", shape,
                   {output.with_prompt && request.prepend_input ? request.generate.text() + output.text : output.text},
                   response);
  }
  if (request.finish_reason) AddBytesOutput("finish_reason", shape, {FinishReasonName(output.finish)}, response);
  if (request.num_input_tokens) {
    AddUint32Output("num_input_tokens", shape, {static_cast<uint32_t>(output.prompt_tokens)}, response);
  }
  if (request.num_output_tokens) {
    AddUint32Output("num_output_tokens", shape, {static_cast<uint32_t>(output.completion_tokens)}, response);
  }
}

void MarkFinal(bool final, inference::ModelInferResponse& response) {
  (*response.mutable_parameters())["triton_final_response"].set_bool_param(final);
}

inference::ModelStreamInferResponse StreamError(const std::string& id, const std::string& model_name,
                                               const absl::Status& status) {
  inference::ModelStreamInferResponse r;
  r.set_error_message(std::string(status.message()));
  r.mutable_infer_response()->set_model_name(model_name);
  r.mutable_infer_response()->set_model_version(kKServeModelVersion);
  r.mutable_infer_response()->set_id(id);
  MarkFinal(true, *r.mutable_infer_response());
  return r;
}

}  // namespace switchyard::server
