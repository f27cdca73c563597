#include "server/service/switchyard_service.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/dtype.h"
#include "server/service/generate_reactor.h"
#include "server/service/generate_stream_reactor.h"
#include "server/service/expert_load.h"
#include "server/service/grpc_status.h"
#include "server/service/quoted_value.h"
#include "server/service/watch_expert_load_reactor.h"

namespace switchyard::server {
namespace {

absl::Time Deadline(const grpc::CallbackServerContext& context) {
  const auto deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return absl::InfiniteFuture();
  return absl::FromChrono(deadline);
}

grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* context, const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

}  // namespace

SwitchyardService::SwitchyardService(EngineService& engine, const engine::Tokenizer& tokenizer,
                                     std::string model_name, Metrics* metrics, std::optional<ApiKeys> api_keys)
    : engine_(engine),
      tokenizer_(tokenizer),
      model_name_(std::move(model_name)),
      metrics_(metrics),
      api_keys_(std::move(api_keys)) {}

absl::Status SwitchyardService::Admit(const grpc::CallbackServerContext& context, const std::string& model) const {
  if (api_keys_) {
    if (absl::Status st = api_keys_->Check(context.client_metadata()); !st.ok()) return st;
  }
  if (draining_) return absl::UnavailableError("the server is shutting down");
  if (!engine_.loaded()) return absl::UnavailableError("the model is still loading");
  if (!model.empty() && model != model_name_) {
    return absl::NotFoundError(absl::StrCat("model ", QuotedValue(model), " is not served here; this server serves \"",
                                            model_name_, "\""));
  }
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* SwitchyardService::Generate(grpc::CallbackServerContext* context,
                                                      const v1::GenerateRequest* request,
                                                      v1::GenerateResponse* response) {
  in_flight_.Enter();
  return new GenerateReactor({engine_, tokenizer_, in_flight_, metrics_}, *request, response, Deadline(*context),
                             Admit(*context, request->model()));
}

grpc::ServerWriteReactor<v1::GenerateStreamResponse>* SwitchyardService::GenerateStream(
    grpc::CallbackServerContext* context, const v1::GenerateRequest* request) {
  in_flight_.Enter();
  return new GenerateStreamReactor({engine_, tokenizer_, in_flight_, metrics_}, *request, Deadline(*context),
                                   Admit(*context, request->model()));
}

grpc::ServerUnaryReactor* SwitchyardService::Tokenize(grpc::CallbackServerContext* context,
                                                      const v1::TokenizeRequest* request,
                                                      v1::TokenizeResponse* response) {
  if (absl::Status st = Admit(*context, request->model()); !st.ok()) return Done(context, st);
  const bool special = !request->has_add_special_tokens() || request->add_special_tokens();
  for (int32_t id : tokenizer_.Encode(request->text(), special)) response->add_token_ids(id);
  return Done(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* SwitchyardService::Detokenize(grpc::CallbackServerContext* context,
                                                        const v1::DetokenizeRequest* request,
                                                        v1::DetokenizeResponse* response) {
  if (absl::Status st = Admit(*context, request->model()); !st.ok()) return Done(context, st);
  const int32_t vocab = engine_.model_config().vocab_size;
  const auto& ids = request->token_ids();
  for (int i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= vocab) {
      return Done(context, absl::InvalidArgumentError(absl::StrCat("token_ids[", i, "] is ", ids[i],
                                                                   "; must be in [0, ", vocab, ")")));
    }
  }
  const bool skip = !request->has_skip_special_tokens() || request->skip_special_tokens();
  response->set_text(tokenizer_.Decode(std::vector<int32_t>(ids.begin(), ids.end()), skip));
  return Done(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* SwitchyardService::GetModelInfo(grpc::CallbackServerContext* context,
                                                          const v1::GetModelInfoRequest* request,
                                                          v1::ModelInfo* response) {
  if (absl::Status st = Admit(*context, request->model()); !st.ok()) return Done(context, st);
  const engine::ModelConfig& c = engine_.model_config();
  const scheduler::SchedulerStats stats = engine_.snapshot().scheduler;
  const engine::MemoryReport memory = engine_.memory();
  response->set_name(model_name_);
  response->set_architecture(c.architecture_name);
  response->set_num_layers(c.num_layers);
  response->set_num_experts(c.num_experts);
  response->set_top_k(c.top_k);
  response->set_context_length(c.max_position_embeddings);
  response->set_vocab_size(c.vocab_size);
  response->set_dtype(std::string(engine::DTypeName(c.dtype)));
  response->set_backend(std::string(engine_.backend_name()));
  response->set_weight_bytes(memory.weight_bytes);
  response->set_kv_cache_bytes(memory.kv_cache_bytes);
  response->set_kv_block_size(engine_.kv_block_size());
  response->set_kv_blocks_total(stats.num_blocks);
  response->set_kv_blocks_free(stats.num_free_blocks);
  response->set_num_running(stats.num_running);
  response->set_num_waiting(stats.num_waiting);
  response->set_kv_blocks_cached(stats.num_cached_blocks);
  response->set_kv_blocks_evictable(stats.num_evictable_blocks);
  return Done(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* SwitchyardService::GetExpertLoad(grpc::CallbackServerContext* context,
                                                           const v1::GetExpertLoadRequest* request,
                                                           v1::ExpertLoad* response) {
  if (absl::Status st = Admit(*context, request->model()); !st.ok()) return Done(context, st);
  FillExpertLoad(engine_.snapshot(), engine_.model_config().top_k, *response);
  return Done(context, absl::OkStatus());
}

grpc::ServerWriteReactor<v1::ExpertLoad>* SwitchyardService::WatchExpertLoad(
    grpc::CallbackServerContext* context, const v1::WatchExpertLoadRequest* request) {
  absl::Status admission = Admit(*context, request->model());
  const int32_t ms = request->interval_ms() == 0 ? 1000 : request->interval_ms();
  if (admission.ok() && (ms < 100 || ms > 3600000)) {
    admission = absl::InvalidArgumentError(
        absl::StrCat("interval_ms is ", request->interval_ms(), "; must be in [100, 3600000], or 0 for 1000"));
  }
  return new WatchExpertLoadReactor(engine_, absl::Milliseconds(ms), admission);
}

}  // namespace switchyard::server
