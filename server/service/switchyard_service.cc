#include "server/service/switchyard_service.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/dtype.h"
#include "server/service/generate_reactor.h"
#include "server/service/generate_stream_reactor.h"
#include "server/service/grpc_status.h"

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
                                     std::string model_name, Metrics* metrics)
    : engine_(engine), tokenizer_(tokenizer), model_name_(std::move(model_name)), metrics_(metrics) {}

absl::Status SwitchyardService::Admit(const std::string& model) const {
  if (draining_) return absl::UnavailableError("the server is shutting down");
  if (!model.empty() && model != model_name_) {
    return absl::NotFoundError(absl::StrCat("model \"", model, "\" is not served here; this server serves \"",
                                            model_name_, "\""));
  }
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* SwitchyardService::Generate(grpc::CallbackServerContext* context,
                                                      const v1::GenerateRequest* request,
                                                      v1::GenerateResponse* response) {
  in_flight_.Enter();
  return new GenerateReactor({engine_, tokenizer_, in_flight_, metrics_}, *request, response, Deadline(*context),
                             Admit(request->model()));
}

grpc::ServerWriteReactor<v1::GenerateStreamResponse>* SwitchyardService::GenerateStream(
    grpc::CallbackServerContext* context, const v1::GenerateRequest* request) {
  in_flight_.Enter();
  return new GenerateStreamReactor({engine_, tokenizer_, in_flight_, metrics_}, *request, Deadline(*context),
                                   Admit(request->model()));
}

grpc::ServerUnaryReactor* SwitchyardService::Tokenize(grpc::CallbackServerContext* context,
                                                      const v1::TokenizeRequest* request,
                                                      v1::TokenizeResponse* response) {
  if (absl::Status st = Admit(request->model()); !st.ok()) return Done(context, st);
  const bool special = !request->has_add_special_tokens() || request->add_special_tokens();
  for (int32_t id : tokenizer_.Encode(request->text(), special)) response->add_token_ids(id);
  return Done(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* SwitchyardService::Detokenize(grpc::CallbackServerContext* context,
                                                        const v1::DetokenizeRequest* request,
                                                        v1::DetokenizeResponse* response) {
  if (absl::Status st = Admit(request->model()); !st.ok()) return Done(context, st);
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
  if (absl::Status st = Admit(request->model()); !st.ok()) return Done(context, st);
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
  return Done(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* SwitchyardService::GetExpertLoad(grpc::CallbackServerContext* context,
                                                           const v1::GetExpertLoadRequest* request,
                                                           v1::ExpertLoad* response) {
  if (absl::Status st = Admit(request->model()); !st.ok()) return Done(context, st);
  const engine::ModelConfig& c = engine_.model_config();
  const EngineSnapshot s = engine_.snapshot();
  response->set_num_layers(c.num_layers);
  response->set_num_experts(c.num_experts);
  response->set_top_k(c.top_k);
  response->set_num_steps(s.num_steps);
  for (int layer = 0; layer < c.num_layers && c.num_experts > 0; ++layer) {
    v1::LayerExpertLoad* l = response->add_layers();
    l->set_layer(layer);
    int64_t sum = 0, max = 0;
    for (int e = 0; e < c.num_experts; ++e) {
      const size_t i = static_cast<size_t>(layer) * c.num_experts + e;
      l->add_tokens(s.expert_tokens[i]);
      l->add_last_step_tokens(s.last_step_expert_tokens[i]);
      sum += s.expert_tokens[i];
      max = std::max(max, s.expert_tokens[i]);
    }
    if (sum > 0) l->set_imbalance(static_cast<double>(max) * c.num_experts / static_cast<double>(sum));
  }
  return Done(context, absl::OkStatus());
}

}  // namespace switchyard::server
