#include "server/generate_command.h"

#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "scheduler/generate_alone.h"
#include "common/status_macros.h"
#include "engine/tokenizer/incremental_decoder.h"
#include "nlohmann/json.hpp"
#include "server/logprobs_json.h"

namespace switchyard::server {

absl::Status GenerateCommandConfig::Validate() const {
  if (prompt_ids.empty() == prompt_text.empty()) {
    return absl::InvalidArgumentError("give exactly one of --prompt TEXT and --prompt-ids 1,2,3");
  }
  return engine.Validate();
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

absl::StatusOr<std::unique_ptr<engine::Tokenizer>> LoadTokenizer(const std::string& model_path) {
  std::filesystem::path dir(model_path);
  if (!std::filesystem::is_directory(dir)) dir = dir.parent_path();
  if (!std::filesystem::exists(dir / "tokenizer.json")) {
    return absl::NotFoundError(absl::StrCat("no tokenizer.json in ", dir.string()));
  }
  return engine::Tokenizer::FromModelDir(dir.string());
}

absl::Status RunGenerate(const GenerateCommandConfig& config, std::ostream& out) {
  RETURN_IF_ERROR(config.Validate());
  // Without a tokenizer the command still runs on token ids and prints ids.
  absl::StatusOr<std::unique_ptr<engine::Tokenizer>> tokenizer = LoadTokenizer(config.engine.model.path);
  if (!tokenizer.ok() && !absl::IsNotFound(tokenizer.status())) return tokenizer.status();
  std::vector<int32_t> prompt = config.prompt_ids;
  if (!config.prompt_text.empty()) {
    if (!tokenizer.ok()) return absl::FailedPreconditionError(absl::StrCat("--prompt needs a tokenizer: ",
                                                                           tokenizer.status().message()));
    prompt = (*tokenizer)->Encode(config.prompt_text);
  }
  ASSIGN_OR_RETURN(std::unique_ptr<engine::Backend> backend, LoadBackend(config.engine));
  ASSIGN_OR_RETURN(scheduler::GenerationResult result, scheduler::GenerateAlone(*backend, prompt, config.sampling));

  std::vector<int32_t> ids;
  for (const engine::SampleResult& s : result.tokens) ids.push_back(s.token);
  // The completion text: what the ids add to the prompt's text (with a
  // SentencePiece vocabulary the first token's leading space included).
  const std::string text = tokenizer.ok() ? engine::DecodeAfter(**tokenizer, prompt, ids) : "";
  if (!config.json) {
    if (tokenizer.ok()) {
      out << text << "\n";
      return absl::OkStatus();
    }
    for (size_t i = 0; i < ids.size(); ++i) out << (i ? " " : "") << ids[i];
    out << "\n";
    return absl::OkStatus();
  }
  nlohmann::json j;
  j["prompt_ids"] = prompt;
  j["token_ids"] = ids;
  if (tokenizer.ok()) j["text"] = text;
  j["finish_reason"] = std::string(engine::FinishReasonName(result.finish_reason));
  j["logprobs"] = LogprobsJson(result.tokens);
  out << j.dump() << "\n";
  return absl::OkStatus();
}

}  // namespace switchyard::server
