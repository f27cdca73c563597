#include "engine/model_loader.h"

#include "absl/strings/str_cat.h"
#include "engine/checkpoint.h"
#include "engine/model_config.h"
#include "common/status_macros.h"

namespace switchyard::engine {

absl::StatusOr<LoadFormat> ParseLoadFormat(std::string_view name) {
  if (name == "safetensors" || name == "auto") return LoadFormat::kSafetensors;
  if (name == "dummy") return LoadFormat::kDummy;
  return absl::InvalidArgumentError(absl::StrCat("unknown load format '", std::string(name), "'; supported: safetensors, dummy"));
}

absl::StatusOr<std::unique_ptr<ModelWeights>> LoadModel(const ModelSource& source) {
  ASSIGN_OR_RETURN(ModelConfig config, LoadModelConfig(source.path));
  if (source.format == LoadFormat::kDummy) return RandomWeights(config, source.dummy_seed);
  ASSIGN_OR_RETURN(std::unique_ptr<Checkpoint> checkpoint, Checkpoint::Open(source.path));
  return LoadWeights(config, *checkpoint);
}

}  // namespace switchyard::engine
