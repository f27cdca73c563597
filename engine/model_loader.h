// Loading a model: config.json plus either its safetensors weights or, with
// LoadFormat::kDummy, random weights of the same shapes.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "engine/model_weights.h"

namespace switchyard::engine {

enum class LoadFormat {
  kSafetensors,  // the checkpoint in the model directory
  kDummy,        // random weights from config.json alone (benchmarks)
};

absl::StatusOr<LoadFormat> ParseLoadFormat(std::string_view name);  // "safetensors" | "dummy"

struct ModelSource {
  std::string path;  // model directory (or, for kDummy, a config.json)
  LoadFormat format = LoadFormat::kSafetensors;
  uint64_t dummy_seed = 0;
};

absl::StatusOr<std::unique_ptr<ModelWeights>> LoadModel(const ModelSource& source);

}  // namespace switchyard::engine
