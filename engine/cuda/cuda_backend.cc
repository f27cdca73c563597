#include "engine/cuda/cuda_backend.h"

#include <cmath>
#include <algorithm>
#include <cstring>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "engine/cuda/cuda_status.h"
#include "engine/cuda/decode_buckets.h"
#include "engine/cuda/dispatch_plan.h"
#include "engine/cuda/elementwise.h"
#include "engine/cuda/embedding.h"
#include "engine/cuda/grouped_gemm.h"
#include "engine/cuda/kv_cache.h"
#include "engine/cuda/memory_plan.h"
#include "engine/cuda/moe_combine.h"
#include "engine/cuda/paged_attention.h"
#include "engine/cuda/rms_norm.h"
#include "engine/cuda/rope.h"
#include "engine/cuda/router.h"
#include "engine/cuda/topk_routing.h"
#include "engine/cuda/weight_layout.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"

namespace switchyard::engine::cuda {
namespace {

// A dense projection: out [rows, n] = a [rows, k] · wᵀ, the one-group case of
// the grouped GEMM.
absl::Status Dense(const float* a, const __nv_bfloat16* w, int32_t rows, int32_t n, int32_t k, bool silu_mul,
                   float* out, cudaStream_t stream) {
  GroupedGemmParams p;
  p.a = a;
  p.w = w;
  p.m = rows;
  p.n = n;
  p.k = k;
  p.silu_mul = silu_mul;
  p.out = out;
  return GroupedGemm(p, stream);
}

}  // namespace

absl::StatusOr<std::unique_ptr<CudaBackend>> CudaBackend::Create(const CudaBackendConfig& config) {
  RETURN_IF_ERROR(config.Validate());
  int count = 0;
  if (cudaError_t e = cudaGetDeviceCount(&count); e != cudaSuccess) {
    cudaGetLastError();  // not sticky: clear it for later calls
    return absl::FailedPreconditionError(absl::StrCat("no CUDA device: ", cudaGetErrorString(e)));
  }
  if (count == 0) return absl::FailedPreconditionError("no CUDA device found");
  cudaDeviceProp prop;
  RETURN_IF_ERROR(CudaStatus(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties"));
  if (prop.major < 9) {
    return absl::FailedPreconditionError(absl::StrCat("device 0 (", prop.name, ") has compute capability ", prop.major,
                                                      ".", prop.minor, "; the CUDA backend is built for 9.0 (Hopper)"));
  }
  RETURN_IF_ERROR(CudaStatus(cudaSetDevice(0), "cudaSetDevice"));
  cudaStream_t stream = nullptr;
  RETURN_IF_ERROR(CudaStatus(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate"));
  spdlog::info("cuda backend: device 0 {} (compute capability {}.{}, {} MiB)", prop.name, prop.major, prop.minor,
               prop.totalGlobalMem >> 20);
  return std::unique_ptr<CudaBackend>(new CudaBackend(config, stream));
}

CudaBackend::CudaBackend(const CudaBackendConfig& config, cudaStream_t stream) : options_(config), stream_(stream) {}

CudaBackend::~CudaBackend() {
  DropGraphs();
  cudaStreamDestroy(stream_);
}

void CudaBackend::DropGraphs() {
  for (auto& [bucket, exec] : graphs_) cudaGraphExecDestroy(exec);
  graphs_.clear();
}

absl::Status CudaBackend::CheckModel(const ModelConfig& c) const {
  if (c.top_k < 1 || c.top_k > kMaxTopK || c.top_k > c.num_experts) {
    return absl::InvalidArgumentError(absl::StrCat("the CUDA backend routes 1 to ", kMaxTopK, " experts per token, not ",
                                                   c.top_k, " of ", c.num_experts));
  }
  if (c.num_experts > kMaxDispatchExperts) {
    return absl::InvalidArgumentError(
        absl::StrCat("the CUDA backend takes at most ", kMaxDispatchExperts, " experts, not ", c.num_experts));
  }
  if (c.head_dim % 2 != 0) return absl::InvalidArgumentError(absl::StrCat("odd head_dim ", c.head_dim));
  // Found at load rather than by every step failing.
  return CheckPagedAttentionShape(c.num_heads, c.num_kv_heads, c.head_dim);
}

absl::Status CudaBackend::Load(std::unique_ptr<ModelWeights> weights, const KvCacheConfig& kv) {
  RETURN_IF_ERROR(kv.Validate());
  const ModelConfig& c = weights->config;
  RETURN_IF_ERROR(CheckModel(c));
  if (kv.element && *kv.element != DType::kBF16) {
    return absl::InvalidArgumentError(absl::StrCat("the cuda backend keeps its KV cache in BF16, not ",
                                                   std::string(DTypeName(*kv.element))));
  }
  DropGraphs();

  const WeightLayout weight_layout = PlanWeightLayout(*weights);
  const WorkspaceLayout layout = PlanWorkspace(c, options_, kv.block_size);
  const int64_t kv_block_bytes = KvCacheConfig::BlockBytes(c, kv.block_size, DType::kBF16);
  size_t free_bytes = 0, total_bytes = 0;
  RETURN_IF_ERROR(CudaStatus(cudaMemGetInfo(&free_bytes, &total_bytes), "cudaMemGetInfo"));
  // What a previous Load holds comes back before this one is planned.
  free_bytes += weights_.memory.bytes() + kv_cache_.bytes() + workspace_.bytes();
  ASSIGN_OR_RETURN(const DeviceMemoryPlan plan,
                   PlanDeviceMemory({weight_layout.total_bytes, layout.total_bytes, kv_block_bytes, options_.reserve_bytes},
                                    kv, static_cast<int64_t>(free_bytes)));
  // The previous model goes first, so that its memory can be reused; until
  // the new one is complete Forward refuses to run (no workspace).
  weights_ = DeviceWeights();
  kv_cache_ = DeviceBuffer();
  workspace_ = DeviceBuffer();

  ASSIGN_OR_RETURN(DeviceWeights device_weights, UploadWeights(*weights, weight_layout));
  ASSIGN_OR_RETURN(DeviceBuffer kv_cache, DeviceBuffer::Allocate(plan.kv_cache_bytes));
  // Zeroed once so that no step can read uninitialised cache memory.
  RETURN_IF_ERROR(CudaStatus(cudaMemset(kv_cache.data(), 0, plan.kv_cache_bytes), "KV cache clear"));
  ASSIGN_OR_RETURN(DeviceBuffer workspace, DeviceBuffer::Allocate(layout.total_bytes));
  RETURN_IF_ERROR(CudaStatus(cudaMemset(workspace.data(), 0, layout.total_bytes), "workspace clear"));
  ASSIGN_OR_RETURN(host_inputs_, PinnedBuffer::Allocate(layout.x));  // the inputs end where activations begin
  ASSIGN_OR_RETURN(host_logits_, PinnedBuffer::Allocate(int64_t{layout.max_logit_rows} * c.vocab_size * 4));
  ASSIGN_OR_RETURN(host_counts_, PinnedBuffer::Allocate(int64_t{c.num_layers} * c.num_experts * 4));
  ASSIGN_OR_RETURN(host_routed_,
                   PinnedBuffer::Allocate(int64_t{layout.max_tokens} * c.num_layers * c.top_k * 4));
  // The uploads and clears ran on the legacy stream, which the backend's
  // non-blocking stream does not wait for: finish them before any step.
  RETURN_IF_ERROR(CudaStatus(cudaDeviceSynchronize(), "model upload"));

  weights_ = std::move(device_weights);
  kv_cache_ = std::move(kv_cache);
  workspace_ = std::move(workspace);
  model_ = c;
  block_size_ = kv.block_size;
  block_bytes_ = kv_block_bytes;
  num_blocks_ = plan.num_kv_blocks;
  kv_layer_elems_ = int64_t{plan.num_kv_blocks} * kv.block_size * c.kv_size();
  layout_ = layout;
  memory_ = MemoryReport{weight_layout.total_bytes, plan.kv_cache_bytes, layout.total_bytes};
  spdlog::info("cuda backend: weights {} MiB, KV cache {} blocks of {} tokens ({} MiB), workspace {} MiB",
               memory_.weight_bytes >> 20, num_blocks_, block_size_, memory_.kv_cache_bytes >> 20,
               memory_.workspace_bytes >> 20);
  return absl::OkStatus();
}

absl::Status CudaBackend::UploadInputs(const StepInputs& in) {
  struct Array {
    const std::vector<int32_t>* values;
    int64_t offset;
  };
  const Array arrays[] = {{&in.token_ids, layout_.token_ids},       {&in.positions, layout_.positions},
                          {&in.context_lens, layout_.context_lens}, {&in.kv_slots, layout_.kv_slots},
                          {&in.token_seqs, layout_.token_seqs},     {&in.block_tables, layout_.block_tables},
                          {&in.logit_rows, layout_.logit_rows}};
  for (const Array& a : arrays) {
    const size_t bytes = a.values->size() * sizeof(int32_t);
    if (bytes == 0) continue;
    std::memcpy(host_inputs_.at<int32_t>(a.offset), a.values->data(), bytes);
    RETURN_IF_ERROR(CudaStatus(cudaMemcpyAsync(Ws<int32_t>(a.offset), host_inputs_.at<int32_t>(a.offset), bytes,
                                               cudaMemcpyHostToDevice, stream_),
                               "step input upload"));
  }
  *host_inputs_.at<int32_t>(layout_.num_real_tokens) = in.num_real_tokens;
  return CudaStatus(cudaMemcpyAsync(Ws<int32_t>(layout_.num_real_tokens), host_inputs_.at<int32_t>(layout_.num_real_tokens),
                                    sizeof(int32_t), cudaMemcpyHostToDevice, stream_),
                    "step input upload");
}

namespace {

// Where the arrays of one step's sampling lie in sampling_ (and its mirror).
struct SamplingLayout {
  int64_t rows = 0, seen = 0, seen_raw = 0, samples = 0, total_bytes = 0;

  explicit SamplingLayout(const SamplingInputs& in) {
    auto take = [this](int64_t bytes) {
      const int64_t at = total_bytes;
      total_bytes += (bytes + 255) / 256 * 256;
      return at;
    };
    rows = take(static_cast<int64_t>(in.rows.size() * sizeof(DeviceRowSampling)));
    seen = take(static_cast<int64_t>(in.seen.size() * sizeof(TokenCount)));
    seen_raw = take(static_cast<int64_t>(in.seen.size() * sizeof(float)));
    samples = take(static_cast<int64_t>(in.rows.size() * sizeof(DeviceSample)));
  }
};

SampledRow ToSampledRow(const DeviceSample& d) {
  SampledRow row;
  if (d.non_finite_token >= 0) {
    row.non_finite = NonFiniteLogit{d.non_finite_token, d.non_finite_value};
    return row;
  }
  row.sample.token = d.token;
  row.sample.logprob = d.logprob;
  for (int32_t i = 0; i < d.num_top; ++i) row.sample.top.push_back({d.top_tokens[i], d.top_logprobs[i]});
  return row;
}

}  // namespace

absl::Status CudaBackend::UploadSampling(const SamplingInputs& in) {
  const SamplingLayout at(in);
  if (at.total_bytes > sampling_.bytes()) {
    // Doubling, so that growing penalty histories reallocate rarely.
    const int64_t bytes = std::max(at.total_bytes, 2 * sampling_.bytes());
    ASSIGN_OR_RETURN(sampling_, DeviceBuffer::Allocate(bytes));
    ASSIGN_OR_RETURN(host_sampling_, PinnedBuffer::Allocate(bytes));
  }
  const int64_t seen_end = at.seen + static_cast<int64_t>(in.seen.size() * sizeof(TokenCount));
  std::memcpy(host_sampling_.at<DeviceRowSampling>(at.rows), in.rows.data(), in.rows.size() * sizeof(DeviceRowSampling));
  std::memcpy(host_sampling_.at<TokenCount>(at.seen), in.seen.data(), in.seen.size() * sizeof(TokenCount));
  if (seen_end == 0) return absl::OkStatus();
  return CudaStatus(cudaMemcpyAsync(sampling_.data(), host_sampling_.data(), seen_end, cudaMemcpyHostToDevice, stream_),
                    "sampling input upload");
}

absl::StatusOr<int64_t> CudaBackend::EnqueueSamplingPass(const SamplingInputs& in, int32_t first, int32_t rows) {
  const SamplingLayout at(in);
  auto in_pass = [&](int32_t row) { return row >= first && row < first + rows; };
  int32_t begin = 0;
  while (begin < static_cast<int32_t>(in.rows.size()) && in.rows[begin].logits_row < first) ++begin;
  int32_t end = begin;
  while (end < static_cast<int32_t>(in.rows.size()) && in_pass(in.rows[end].logits_row)) ++end;
  SampleRowsParams p;
  p.logits = Ws<float>(layout_.logits);
  p.vocab = model_.vocab_size;
  p.first_logits_row = first;
  p.rows = sampling_.at<DeviceRowSampling>(at.rows) + begin;
  p.num_rows = end - begin;
  p.seen = sampling_.at<TokenCount>(at.seen);
  p.seen_raw = sampling_.at<float>(at.seen_raw);
  p.out = sampling_.at<DeviceSample>(at.samples) + begin;
  RETURN_IF_ERROR(SampleRows(p, stream_));
  // The returned rows of this pass, packed at the front of host_logits_.
  const int64_t V = model_.vocab_size;
  int64_t packed = 0;
  for (const int32_t row : in.returned_rows) {
    if (!in_pass(row)) continue;
    RETURN_IF_ERROR(CudaStatus(cudaMemcpyAsync(host_logits_.at<float>(packed * V * 4),
                                               Ws<float>(layout_.logits) + (row - first) * V, V * 4,
                                               cudaMemcpyDeviceToHost, stream_),
                               "logits download"));
    ++packed;
  }
  return packed;
}

absl::Status CudaBackend::EnqueueAttention(int layer, int32_t T) {
  const ModelConfig& c = model_;
  const DeviceLayer& w = weights_.layers[layer];
  const int32_t H = c.hidden_size, Q = c.q_size(), KV = c.kv_size();
  float* h = Ws<float>(layout_.h);
  float* q = Ws<float>(layout_.q);
  float* k = Ws<float>(layout_.k);
  float* v = Ws<float>(layout_.v);

  // The residual add of the previous layer's feed-forward output is fused
  // into this layer's input norm.
  RmsNormParams norm{Ws<float>(layout_.x), Ws<float>(layout_.delta), w.input_norm, T, H, c.rms_norm_eps, h};
  RETURN_IF_ERROR(layer == 0 ? RmsNorm(norm, stream_) : AddRmsNorm(norm, stream_));
  RETURN_IF_ERROR(Dense(h, w.q_proj, T, Q, H, false, q, stream_));
  RETURN_IF_ERROR(Dense(h, w.k_proj, T, KV, H, false, k, stream_));
  RETURN_IF_ERROR(Dense(h, w.v_proj, T, KV, H, false, v, stream_));
  if (w.q_bias != nullptr) {
    RETURN_IF_ERROR(AddBias(q, w.q_bias, T, Q, stream_));
    RETURN_IF_ERROR(AddBias(k, w.k_bias, T, KV, stream_));
    RETURN_IF_ERROR(AddBias(v, w.v_bias, T, KV, stream_));
  }
  switch (c.qk_norm) {
    case QkNorm::kNone: break;
    case QkNorm::kPerHead:  // Qwen3: each head on its own
      RETURN_IF_ERROR(RmsNorm({q, nullptr, w.q_norm, T * c.num_heads, c.head_dim, c.rms_norm_eps, q}, stream_));
      RETURN_IF_ERROR(RmsNorm({k, nullptr, w.k_norm, T * c.num_kv_heads, c.head_dim, c.rms_norm_eps, k}, stream_));
      break;
    case QkNorm::kWholeProjection:  // OLMoE: all heads of a token together
      RETURN_IF_ERROR(RmsNorm({q, nullptr, w.q_norm, T, Q, c.rms_norm_eps, q}, stream_));
      RETURN_IF_ERROR(RmsNorm({k, nullptr, w.k_norm, T, KV, c.rms_norm_eps, k}, stream_));
      break;
  }
  if (c.clip_qkv) {
    RETURN_IF_ERROR(Clamp(q, int64_t{T} * Q, *c.clip_qkv, stream_));
    RETURN_IF_ERROR(Clamp(k, int64_t{T} * KV, *c.clip_qkv, stream_));
    RETURN_IF_ERROR(Clamp(v, int64_t{T} * KV, *c.clip_qkv, stream_));
  }
  const int32_t* positions = Ws<int32_t>(layout_.positions);
  RETURN_IF_ERROR(ApplyRope({q, positions, T, c.num_heads, c.head_dim, c.rope_theta}, stream_));
  RETURN_IF_ERROR(ApplyRope({k, positions, T, c.num_kv_heads, c.head_dim, c.rope_theta}, stream_));

  auto* k_cache = kv_cache_.at<__nv_bfloat16>(0) + 2 * layer * kv_layer_elems_;
  __nv_bfloat16* v_cache = k_cache + kv_layer_elems_;
  RETURN_IF_ERROR(WriteKv({k, v, Ws<int32_t>(layout_.kv_slots), T, KV, k_cache, v_cache}, stream_));
  PagedAttentionParams attn;
  attn.q = q;
  attn.k_cache = k_cache;
  attn.v_cache = v_cache;
  attn.block_tables = Ws<int32_t>(layout_.block_tables);
  attn.token_seqs = Ws<int32_t>(layout_.token_seqs);
  attn.context_lens = Ws<int32_t>(layout_.context_lens);
  attn.num_tokens = T;
  attn.num_heads = c.num_heads;
  attn.num_kv_heads = c.num_kv_heads;
  attn.head_dim = c.head_dim;
  attn.block_size = block_size_;
  attn.blocks_per_seq = layout_.blocks_per_seq;
  attn.scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  attn.out = Ws<float>(layout_.attn);
  RETURN_IF_ERROR(PagedAttention(attn, stream_));

  float* delta = Ws<float>(layout_.delta);
  RETURN_IF_ERROR(Dense(attn.out, w.o_proj, T, H, Q, false, delta, stream_));
  if (w.o_bias != nullptr) RETURN_IF_ERROR(AddBias(delta, w.o_bias, T, H, stream_));
  return AddRmsNorm({Ws<float>(layout_.x), delta, w.post_attention_norm, T, H, c.rms_norm_eps, h}, stream_);
}

absl::Status CudaBackend::EnqueueFeedForward(int layer, int32_t T, int32_t logit_rows) {
  const ModelConfig& c = model_;
  const DeviceLayer& w = weights_.layers[layer];
  const int32_t H = c.hidden_size, E = c.num_experts, k = c.top_k;
  const float* h = Ws<float>(layout_.h);
  float* act = Ws<float>(layout_.act);
  float* delta = Ws<float>(layout_.delta);

  if (w.router == nullptr) {  // a dense layer
    const int32_t I = c.dense_intermediate_size;
    RETURN_IF_ERROR(Dense(h, w.mlp_gate_up, T, I, H, true, act, stream_));
    return Dense(act, w.mlp_down, T, H, I, false, delta, stream_);
  }

  float* router_logits = Ws<float>(layout_.router_logits);
  int32_t* ids = Ws<int32_t>(layout_.topk_ids);
  float* weights = Ws<float>(layout_.topk_weights);
  RETURN_IF_ERROR(RouterLogits({h, w.router, T, E, H, router_logits}, stream_));
  RETURN_IF_ERROR(TopKRouting({router_logits, T, E, k, c.norm_topk_prob, ids, weights}, stream_));
  RETURN_IF_ERROR(GatherRoutedExperts(
      {ids, Ws<int32_t>(layout_.logit_rows), logit_rows, layer, c.num_layers, k, Ws<int32_t>(layout_.routed_experts)},
      stream_));

  DispatchPlanParams plan;
  plan.expert_ids = ids;
  plan.num_real_tokens = Ws<int32_t>(layout_.num_real_tokens);
  plan.num_tokens = T;
  plan.top_k = k;
  plan.num_experts = E;
  plan.expert_counts = Ws<int32_t>(layout_.expert_counts) + int64_t{layer} * E;
  plan.expert_offsets = Ws<int32_t>(layout_.expert_offsets);
  plan.row_token = Ws<int32_t>(layout_.row_token);
  plan.assignment_row = Ws<int32_t>(layout_.assignment_row);
  RETURN_IF_ERROR(BuildDispatchPlanOnDevice(plan, stream_));

  // Gate/up with SiLU·up fused, gathering each permuted row's token from h;
  // then down, over the same groups.
  const int32_t I = c.expert_intermediate_size;
  float* y_perm = Ws<float>(layout_.y_perm);
  GroupedGemmParams gemm;
  gemm.a = h;
  gemm.a_rows = plan.row_token;
  gemm.w = w.experts_gate_up;
  gemm.offsets = plan.expert_offsets;
  gemm.num_groups = E;
  gemm.m = T * k;
  gemm.n = I;
  gemm.k = H;
  gemm.silu_mul = true;
  gemm.out = act;
  RETURN_IF_ERROR(GroupedGemm(gemm, stream_));
  gemm.a = act;
  gemm.a_rows = nullptr;
  gemm.w = w.experts_down;
  gemm.n = H;
  gemm.k = I;
  gemm.silu_mul = false;
  gemm.out = y_perm;
  RETURN_IF_ERROR(GroupedGemm(gemm, stream_));
  RETURN_IF_ERROR(Unpermute({y_perm, plan.assignment_row, weights, T, k, H, delta}, stream_));

  if (w.shared_gate != nullptr) {  // Qwen2-MoE: a dense expert on every token, gated
    const int32_t S = c.shared_expert_intermediate_size;
    float* shared_out = Ws<float>(layout_.shared_out);
    RETURN_IF_ERROR(Dense(h, w.shared_gate_up, T, S, H, true, act, stream_));
    RETURN_IF_ERROR(Dense(act, w.shared_down, T, H, S, false, shared_out, stream_));
    RETURN_IF_ERROR(AddGatedSharedExpert({h, w.shared_gate, shared_out, T, H, delta}, stream_));
  }
  return absl::OkStatus();
}

absl::Status CudaBackend::EnqueueModel(int32_t T, int32_t logit_rows) {
  const ModelConfig& c = model_;
  // Dense layers leave their expert counts at zero and their routed experts at -1.
  RETURN_IF_ERROR(CudaStatus(
      cudaMemsetAsync(Ws<int32_t>(layout_.expert_counts), 0, int64_t{c.num_layers} * c.num_experts * 4, stream_),
      "expert count clear"));
  RETURN_IF_ERROR(CudaStatus(cudaMemsetAsync(Ws<int32_t>(layout_.routed_experts), 0xff,
                                             int64_t{logit_rows} * c.num_layers * c.top_k * 4, stream_),
                             "routed expert clear"));
  RETURN_IF_ERROR(Embedding({Ws<int32_t>(layout_.token_ids), weights_.embed, T, c.hidden_size, Ws<float>(layout_.x)}, stream_));
  for (int l = 0; l < c.num_layers; ++l) {
    RETURN_IF_ERROR(EnqueueAttention(l, T));
    RETURN_IF_ERROR(EnqueueFeedForward(l, T, logit_rows));
  }
  // The last residual add, fused into the final norm; the LM head reads h.
  return AddRmsNorm({Ws<float>(layout_.x), Ws<float>(layout_.delta), weights_.final_norm, T, c.hidden_size,
                     c.rms_norm_eps, Ws<float>(layout_.h)},
                    stream_);
}

absl::Status CudaBackend::EnqueueLmHead(int32_t first, int32_t rows) {
  GroupedGemmParams p;
  p.a = Ws<float>(layout_.h);
  p.a_rows = Ws<int32_t>(layout_.logit_rows) + first;
  p.w = weights_.lm_head;
  p.m = rows;
  p.n = model_.vocab_size;
  p.k = model_.hidden_size;
  p.out = Ws<float>(layout_.logits);
  return GroupedGemm(p, stream_);
}

absl::StatusOr<cudaGraphExec_t> CudaBackend::DecodeGraph(int32_t bucket) {
  if (auto it = graphs_.find(bucket); it != graphs_.end()) return it->second;
  RETURN_IF_ERROR(CudaStatus(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal), "graph capture"));
  absl::Status enqueued = EnqueueModel(bucket, bucket);
  if (enqueued.ok()) enqueued = EnqueueLmHead(0, bucket);
  cudaGraph_t graph = nullptr;
  const absl::Status ended = CudaStatus(cudaStreamEndCapture(stream_, &graph), "graph capture");
  if (!enqueued.ok() || !ended.ok()) {
    if (graph != nullptr) cudaGraphDestroy(graph);
    return enqueued.ok() ? ended : enqueued;
  }
  cudaGraphExec_t exec = nullptr;
  const absl::Status instantiated = CudaStatus(cudaGraphInstantiate(&exec, graph, 0), "graph instantiation");
  cudaGraphDestroy(graph);
  RETURN_IF_ERROR(instantiated);
  graphs_[bucket] = exec;
  return exec;
}

absl::StatusOr<ForwardResult> CudaBackend::Forward(const Batch& batch) {
  if (workspace_.data() == nullptr) return absl::FailedPreconditionError("CudaBackend::Forward before Load");
  const ModelConfig& c = model_;
  RETURN_IF_ERROR(ValidateBatch(batch, c, num_blocks_, block_size_));
  const int32_t num_tokens = static_cast<int32_t>(batch.token_ids.size());
  const int32_t num_seqs = static_cast<int32_t>(batch.sequences.size());
  if (num_tokens > layout_.max_tokens || num_seqs > layout_.max_seqs) {
    return absl::InvalidArgumentError(absl::StrCat("batch of ", num_tokens, " tokens in ", num_seqs,
                                                   " sequences exceeds the CUDA backend's capacity of ",
                                                   layout_.max_tokens, " tokens and ", layout_.max_seqs, " sequences"));
  }

  std::optional<int32_t> bucket;
  if (options_.use_cuda_graphs && IsDecodeOnly(batch)) bucket = DecodeBucket(options_.decode_graph_sizes, num_seqs);
  const StepInputs in = PackStep(batch, block_size_, layout_.blocks_per_seq, bucket.value_or(0));
  const SamplingInputs sampling = PackSampling(batch);
  const int32_t R = in.num_logit_rows;
  const int64_t V = c.vocab_size;
  // Whatever way this returns, no copy from or to the pinned buffers is
  // still in flight when the next step refills them (the success path
  // synchronises itself).
  absl::Cleanup drain = [this] { cudaStreamSynchronize(stream_); };
  RETURN_IF_ERROR(UploadInputs(in));
  RETURN_IF_ERROR(UploadSampling(sampling));

  ForwardResult result;
  result.vocab_size = c.vocab_size;
  result.logits.resize(sampling.returned_rows.size() * V);
  if (bucket) {
    ASSIGN_OR_RETURN(cudaGraphExec_t graph, DecodeGraph(*bucket));
    RETURN_IF_ERROR(CudaStatus(cudaGraphLaunch(graph, stream_), "decode graph launch"));
  } else {
    RETURN_IF_ERROR(EnqueueModel(in.num_tokens, R));
  }
  // The per-expert counts (and the routed experts, when asked for) ride
  // back on the same stream behind the step: nothing inside the step waits
  // for them.
  const int64_t counts = int64_t{c.num_layers} * c.num_experts;
  const int64_t routed = batch.return_routing ? int64_t{R} * c.num_layers * c.top_k : 0;
  RETURN_IF_ERROR(CudaStatus(cudaMemcpyAsync(host_counts_.at<int32_t>(0), Ws<int32_t>(layout_.expert_counts),
                                             counts * 4, cudaMemcpyDeviceToHost, stream_),
                             "expert count download"));
  if (routed > 0) {
    RETURN_IF_ERROR(CudaStatus(cudaMemcpyAsync(host_routed_.at<int32_t>(0), Ws<int32_t>(layout_.routed_experts),
                                               routed * 4, cudaMemcpyDeviceToHost, stream_),
                               "routed expert download"));
  }
  // Logits rows are computed in passes of at most max_logit_rows (a decode
  // graph has computed all its rows already); each pass samples its kSample
  // rows on the device and sends back only the rows returned as logits.
  const int32_t pass_rows = bucket ? *bucket : layout_.max_logit_rows;
  int64_t returned = 0;
  for (int32_t first = 0; first < R; first += pass_rows) {
    const int32_t rows = std::min(pass_rows, R - first);
    if (!bucket) RETURN_IF_ERROR(EnqueueLmHead(first, rows));
    ASSIGN_OR_RETURN(const int64_t packed, EnqueueSamplingPass(sampling, first, rows));
    RETURN_IF_ERROR(CudaStatus(cudaStreamSynchronize(stream_), "forward step"));
    std::memcpy(result.logits.data() + returned * V, host_logits_.at<float>(0), packed * V * 4);
    returned += packed;
  }
  const SamplingLayout at(sampling);
  const int64_t sample_bytes = static_cast<int64_t>(sampling.rows.size() * sizeof(DeviceSample));
  if (sample_bytes > 0) {
    RETURN_IF_ERROR(CudaStatus(cudaMemcpyAsync(host_sampling_.at<DeviceSample>(at.samples),
                                               sampling_.at<DeviceSample>(at.samples), sample_bytes,
                                               cudaMemcpyDeviceToHost, stream_),
                               "sample download"));
  }
  RETURN_IF_ERROR(CudaStatus(cudaStreamSynchronize(stream_), "forward step"));
  std::move(drain).Cancel();  // drained just now
  result.expert_tokens.assign(host_counts_.at<int32_t>(0), host_counts_.at<int32_t>(0) + counts);
  result.routed_experts.assign(host_routed_.at<int32_t>(0), host_routed_.at<int32_t>(0) + routed);
  const DeviceSample* samples = host_sampling_.at<DeviceSample>(at.samples);
  for (size_t i = 0; i < sampling.rows.size(); ++i) result.samples.push_back(ToSampledRow(samples[i]));
  return result;
}

}  // namespace switchyard::engine::cuda
