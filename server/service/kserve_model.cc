#include "server/service/kserve_model.h"

#include <string_view>

namespace switchyard::server {
namespace {

inference::DataType ConfigType(std::string_view datatype) {
  if (datatype == "BOOL") return inference::TYPE_BOOL;
  if (datatype == "INT32") return inference::TYPE_INT32;
  if (datatype == "UINT32") return inference::TYPE_UINT32;
  if (datatype == "UINT64") return inference::TYPE_UINT64;
  if (datatype == "FP32") return inference::TYPE_FP32;
  if (datatype == "BYTES") return inference::TYPE_STRING;  // the model configuration's name for BYTES
  return inference::TYPE_INVALID;
}

}  // namespace

void FillModelMetadata(const std::string& model_name, inference::ModelMetadataResponse& response) {
  response.set_name(model_name);
  response.mutable_versions()->Add(std::string(kKServeModelVersion));
  response.set_platform(kKServePlatform);
  for (const KServeTensor& t : kKServeInputs) {
    auto* m = response.add_inputs();
    m->set_name(t.name);
    m->set_datatype(t.datatype);
    m->add_shape(t.dim);
  }
  for (const KServeTensor& t : kKServeOutputs) {
    auto* m = response.add_outputs();
    m->set_name(t.name);
    m->set_datatype(t.datatype);
    m->add_shape(t.dim);
  }
}

void FillModelConfig(const std::string& model_name, inference::ModelConfig& config) {
  config.set_name(model_name);
  config.set_platform(kKServePlatform);
  config.set_backend(kKServePlatform);
  config.set_max_batch_size(0);
  for (const KServeTensor& t : kKServeInputs) {
    inference::ModelInput* in = config.add_input();
    in->set_name(t.name);
    in->set_data_type(ConfigType(t.datatype));
    in->add_dims(t.dim);
    in->set_optional(t.optional);
  }
  for (const KServeTensor& t : kKServeOutputs) {
    inference::ModelOutput* out = config.add_output();
    out->set_name(t.name);
    out->set_data_type(ConfigType(t.datatype));
    out->add_dims(t.dim);
  }
  config.mutable_model_transaction_policy()->set_decoupled(true);
}

}  // namespace switchyard::server
