#include "engine/cpu/cpu_backend.h"

#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "engine/cpu/matmul.h"
#include "engine/cpu/mlp.h"
#include "engine/cpu/ops.h"
#include "engine/cpu/paged_attention.h"
#include "engine/cpu/sampler.h"
#include "common/status_macros.h"

namespace switchyard::engine {

using cpu::WeightView;

absl::Status CpuBackend::Load(std::unique_ptr<ModelWeights> weights, const KvCacheConfig& kv) {
  RETURN_IF_ERROR(kv.Validate());
  const ModelConfig& c = weights->config;
  const DType element = kv.element.value_or(DType::kF32);
  const int64_t block_bytes = KvCacheConfig::BlockBytes(c, kv.block_size, element);
  int64_t blocks = kv.num_blocks > 0 ? kv.num_blocks : kv.memory_bytes / block_bytes;
  if (blocks < 1) {
    return absl::ResourceExhaustedError(absl::StrCat("KV cache budget of ", kv.memory_bytes,
                                                     " bytes holds no block of ", block_bytes, " bytes"));
  }
  blocks = std::min<int64_t>(blocks, INT32_MAX);
  block_size_ = kv.block_size;
  block_bytes_ = block_bytes;
  num_blocks_ = static_cast<int32_t>(blocks);
  k_cache_.clear();
  v_cache_.clear();
  for (int l = 0; l < c.num_layers; ++l) {
    k_cache_.emplace_back(element, std::vector<int64_t>{blocks, block_size_, c.num_kv_heads, c.head_dim});
    v_cache_.emplace_back(element, std::vector<int64_t>{blocks, block_size_, c.num_kv_heads, c.head_dim});
  }
  weights_ = std::move(weights);
  return absl::OkStatus();
}

MemoryReport CpuBackend::memory() const {
  MemoryReport r;
  if (!weights_) return r;
  r.weight_bytes = static_cast<int64_t>(weights_->total_bytes());
  for (const HostTensor& t : k_cache_) r.kv_cache_bytes += 2 * static_cast<int64_t>(t.nbytes());
  for (const std::vector<float>* b : {&x_, &h_, &q_, &k_, &v_, &attn_, &mlp_out_, &scratch_, &logits_}) {
    r.workspace_bytes += static_cast<int64_t>(b->capacity() * sizeof(float));
  }
  return r;
}

void CpuBackend::Attention(int layer, const Batch& batch, absl::Span<const cpu::TokenPlace> places,
                           const std::vector<int32_t>& positions) {
  const ModelConfig& c = weights_->config;
  const LayerWeights& w = weights_->layers[layer];
  const int64_t T = static_cast<int64_t>(batch.token_ids.size());
  const int64_t H = c.hidden_size, Q = c.q_size(), KV = c.kv_size();

  cpu::RmsNorm(x_.data(), w.input_norm.f32(), T, H, c.rms_norm_eps, h_.data());
  cpu::MatMul(h_.data(), T, WeightView::Of(w.q_proj), q_.data());
  cpu::MatMul(h_.data(), T, WeightView::Of(w.k_proj), k_.data());
  cpu::MatMul(h_.data(), T, WeightView::Of(w.v_proj), v_.data());
  if (!w.q_bias.empty()) {
    cpu::AddBias(q_.data(), w.q_bias.f32(), T, Q);
    cpu::AddBias(k_.data(), w.k_bias.f32(), T, KV);
    cpu::AddBias(v_.data(), w.v_bias.f32(), T, KV);
  }
  switch (c.qk_norm) {
    case QkNorm::kNone: break;
    case QkNorm::kPerHead:  // Qwen3: each head normalised on its own
      cpu::RmsNorm(q_.data(), w.q_norm.f32(), T * c.num_heads, c.head_dim, c.rms_norm_eps, q_.data());
      cpu::RmsNorm(k_.data(), w.k_norm.f32(), T * c.num_kv_heads, c.head_dim, c.rms_norm_eps, k_.data());
      break;
    case QkNorm::kWholeProjection:  // OLMoE: all heads of a token together
      cpu::RmsNorm(q_.data(), w.q_norm.f32(), T, Q, c.rms_norm_eps, q_.data());
      cpu::RmsNorm(k_.data(), w.k_norm.f32(), T, KV, c.rms_norm_eps, k_.data());
      break;
  }
  if (c.clip_qkv) {
    cpu::Clamp(q_.data(), T * Q, *c.clip_qkv);
    cpu::Clamp(k_.data(), T * KV, *c.clip_qkv);
    cpu::Clamp(v_.data(), T * KV, *c.clip_qkv);
  }
  cpu::ApplyRope(q_.data(), positions.data(), T, c.num_heads, c.head_dim, c.rope_theta);
  cpu::ApplyRope(k_.data(), positions.data(), T, c.num_kv_heads, c.head_dim, c.rope_theta);

  const cpu::KvLayerView cache{k_cache_[layer].data(), v_cache_[layer].data(), k_cache_[layer].dtype(), block_size_,
                               c.num_kv_heads, c.head_dim};
  cpu::WriteKv(cache, batch, places, k_.data(), v_.data());
  cpu::PagedAttention(cache, batch, places, q_.data(), c.num_heads, 1.0f / std::sqrt(static_cast<float>(c.head_dim)),
                      attn_.data());
  cpu::MatMul(attn_.data(), T, WeightView::Of(w.o_proj), h_.data());
  if (!w.o_bias.empty()) cpu::AddBias(h_.data(), w.o_bias.f32(), T, H);
  for (int64_t i = 0; i < T * H; ++i) x_[i] += h_[i];
}

void CpuBackend::FeedForward(int layer, int32_t num_tokens, int32_t* expert_counts) {
  const ModelConfig& c = weights_->config;
  const LayerWeights& w = weights_->layers[layer];
  const int64_t H = c.hidden_size;
  cpu::RmsNorm(x_.data(), w.post_attention_norm.f32(), num_tokens, H, c.rms_norm_eps, h_.data());
  if (w.is_moe) {
    cpu::MoeForward(w.moe, cpu::MoeParams{c.top_k, c.norm_topk_prob}, h_.data(), num_tokens, mlp_out_.data(),
                    expert_counts, moe_ws_);
  } else {
    cpu::MlpForward(w.mlp, h_.data(), num_tokens, mlp_out_.data(), scratch_);
  }
  for (int64_t i = 0; i < num_tokens * H; ++i) x_[i] += mlp_out_[i];
}

absl::StatusOr<ForwardResult> CpuBackend::Forward(const Batch& batch) {
  if (!weights_) return absl::FailedPreconditionError("CpuBackend::Forward before Load");
  const ModelConfig& c = weights_->config;
  RETURN_IF_ERROR(ValidateBatch(batch, c, num_blocks_, block_size_));
  const int32_t T = static_cast<int32_t>(batch.token_ids.size());
  const int64_t H = c.hidden_size;

  const std::vector<cpu::TokenPlace> places = cpu::PlaceTokens(batch);
  std::vector<int32_t> positions(T);
  for (int32_t t = 0; t < T; ++t) positions[t] = places[t].pos;
  x_.resize(T * H);
  h_.resize(T * H);
  q_.resize(static_cast<size_t>(T) * c.q_size());
  attn_.resize(static_cast<size_t>(T) * c.q_size());
  k_.resize(static_cast<size_t>(T) * c.kv_size());
  v_.resize(static_cast<size_t>(T) * c.kv_size());
  mlp_out_.resize(T * H);

  const HostTensor& embed = weights_->embed;
  for (int32_t t = 0; t < T; ++t) {
    const auto* row = static_cast<const char*>(embed.data()) + batch.token_ids[t] * H * DTypeSize(embed.dtype());
    ConvertToFloat(embed.dtype(), row, &x_[t * H], H);
  }

  // Only the rows whose logits are wanted go through the final norm and LM head.
  const std::vector<int32_t> rows = batch.logit_token_rows();
  const int64_t R = static_cast<int64_t>(rows.size());
  const int32_t k = c.top_k;

  ForwardResult result;
  result.vocab_size = c.vocab_size;
  result.expert_tokens.assign(static_cast<size_t>(c.num_layers) * c.num_experts, 0);
  if (batch.return_routing) result.routed_experts.assign(static_cast<size_t>(R) * c.num_layers * k, -1);
  for (int l = 0; l < c.num_layers; ++l) {
    Attention(l, batch, places, positions);
    FeedForward(l, T, &result.expert_tokens[static_cast<size_t>(l) * c.num_experts]);
    if (!weights_->layers[l].is_moe || !batch.return_routing) continue;
    for (int64_t r = 0; r < R; ++r) {
      std::memcpy(&result.routed_experts[(r * c.num_layers + l) * k], &moe_ws_.routing.expert_ids[rows[r] * k],
                  k * sizeof(int32_t));
    }
  }

  std::vector<float> selected(R * H);
  for (int64_t r = 0; r < R; ++r) std::memcpy(&selected[r * H], &x_[rows[r] * H], H * sizeof(float));
  cpu::RmsNorm(selected.data(), weights_->final_norm.f32(), R, H, c.rms_norm_eps, selected.data());
  logits_.resize(R * c.vocab_size);
  cpu::MatMul(selected.data(), R, WeightView::Of(weights_->lm_head()), logits_.data());
  // Each row to its consumer: kSample rows are sampled here, the others
  // returned as logits.
  const int64_t V = c.vocab_size;
  int64_t row = 0;
  for (const SequenceSlice& seq : batch.sequences) {
    if (seq.logits == LogitsMode::kSample) {
      const absl::Span<const float> logits(logits_.data() + row++ * V, V);
      SampledRow& out = result.samples.emplace_back();
      out.non_finite = cpu::FindNonFiniteLogit(logits);
      if (!out.non_finite) out.sample = cpu::SampleRow(logits, seq.sampling);
      continue;
    }
    const int64_t rows = seq.logits == LogitsMode::kLast ? 1 : seq.logits == LogitsMode::kAll ? seq.num_tokens : 0;
    // Iterators, not &logits_[i]: a step that ends on a kNone chunk has row * V == size().
    result.logits.insert(result.logits.end(), logits_.begin() + row * V, logits_.begin() + (row + rows) * V);
    row += rows;
  }
  return result;
}

}  // namespace switchyard::engine
