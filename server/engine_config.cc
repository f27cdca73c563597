#include "server/engine_config.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace switchyard::server {

absl::Status EngineConfig::Validate() const {
  if (model.path.empty()) return absl::InvalidArgumentError("no model path given (--model)");
  if (backend.empty()) return absl::InvalidArgumentError("no backend named (--backend)");
  RETURN_IF_ERROR(kv_cache.Validate());
  return scheduler.Validate();
}

absl::StatusOr<std::optional<engine::DType>> ParseKvCacheDType(std::string_view name) {
  if (name == "auto") return std::nullopt;
  if (name == "f32") return engine::DType::kF32;
  if (name == "bf16") return engine::DType::kBF16;
  return absl::InvalidArgumentError(
      absl::StrCat("--kv-cache-dtype must be auto, f32 or bf16, got '", std::string(name), "'"));
}

absl::StatusOr<std::unique_ptr<engine::Backend>> LoadBackend(const EngineConfig& config, const BackendFactory& create) {
  RETURN_IF_ERROR(config.Validate());
  ASSIGN_OR_RETURN(std::unique_ptr<engine::ModelWeights> weights, engine::LoadModel(config.model));
  ASSIGN_OR_RETURN(std::unique_ptr<engine::Backend> backend, create(config.backend, config.step_capacity()));
  RETURN_IF_ERROR(backend->Load(std::move(weights), config.kv_cache));
  return backend;
}

}  // namespace switchyard::server
