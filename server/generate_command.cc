#include "server/generate_command.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/generate.h"
#include "engine/status_macros.h"
#include "nlohmann/json.hpp"

namespace switchyard::server {

absl::Status GenerateCommandConfig::Validate() const {
  if (model.path.empty()) return absl::InvalidArgumentError("--model is required");
  if (prompt_ids.empty()) return absl::InvalidArgumentError("a prompt is required: --prompt-ids 1,2,3");
  return kv_cache.Validate();
}

absl::StatusOr<std::vector<int32_t>> ParseIdList(const std::string& text, const char* flag) {
  std::vector<int32_t> ids;
  if (text.empty()) return ids;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    int32_t id;
    if (!absl::SimpleAtoi(part, &id)) {
      return absl::InvalidArgumentError(absl::StrCat("--", flag, ": '", part, "' is not an integer"));
    }
    ids.push_back(id);
  }
  return ids;
}

absl::Status RunGenerate(const GenerateCommandConfig& config, std::ostream& out) {
  RETURN_IF_ERROR(config.Validate());
  ASSIGN_OR_RETURN(std::unique_ptr<engine::ModelWeights> weights, engine::LoadModel(config.model));
  ASSIGN_OR_RETURN(std::unique_ptr<engine::Backend> backend, engine::CreateBackend(config.backend));
  RETURN_IF_ERROR(backend->Load(std::move(weights), config.kv_cache));
  ASSIGN_OR_RETURN(engine::GenerationResult result,
                   engine::GenerateAlone(*backend, config.prompt_ids, config.sampling));

  std::vector<int32_t> ids;
  for (const engine::SampleResult& s : result.tokens) ids.push_back(s.token);
  if (!config.json) {
    for (size_t i = 0; i < ids.size(); ++i) out << (i ? " " : "") << ids[i];
    out << "\n";
    return absl::OkStatus();
  }
  nlohmann::json j;
  j["prompt_ids"] = config.prompt_ids;
  j["token_ids"] = ids;
  j["finish_reason"] = std::string(engine::FinishReasonName(result.finish_reason));
  nlohmann::json logprobs = nlohmann::json::array();
  for (const engine::SampleResult& s : result.tokens) {
    nlohmann::json entry = {{"token", s.token}, {"logprob", s.logprob}};
    if (!s.top.empty()) {
      nlohmann::json top = nlohmann::json::array();
      for (const engine::TokenLogprob& t : s.top) top.push_back({{"token", t.token}, {"logprob", t.logprob}});
      entry["top"] = std::move(top);
    }
    logprobs.push_back(std::move(entry));
  }
  j["logprobs"] = std::move(logprobs);
  out << j.dump() << "\n";
  return absl::OkStatus();
}

}  // namespace switchyard::server
