// CpuBackend: the reference implementation of Backend, float32 activations,
// F32 or BF16 weights, a paged float32 KV cache, both cores via OpenMP.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "engine/backend.h"
#include "engine/cpu/moe.h"
#include "engine/cpu/paged_attention.h"
#include "engine/host_tensor.h"

namespace switchyard::engine {

class CpuBackend : public Backend {
 public:
  std::string_view name() const override { return "cpu"; }
  absl::Status Load(std::unique_ptr<ModelWeights> weights, const KvCacheConfig& kv) override;
  absl::StatusOr<ForwardResult> Forward(const Batch& batch) override;

  const ModelConfig& config() const override { return weights_->config; }
  int32_t num_kv_blocks() const override { return num_blocks_; }
  int32_t kv_block_size() const override { return block_size_; }
  int64_t kv_block_bytes() const override { return block_bytes_; }
  // No workspace is sized in advance: any step the KV cache can hold.
  StepCapacity step_capacity() const override { return {INT32_MAX, INT32_MAX}; }
  MemoryReport memory() const override;

 private:
  // `places` and `positions` (the same positions, as RoPE takes them) are
  // computed once per step for every layer.
  void Attention(int layer, const Batch& batch, absl::Span<const cpu::TokenPlace> places,
                 const std::vector<int32_t>& positions);
  void FeedForward(int layer, int32_t num_tokens, int32_t* expert_counts);

  std::unique_ptr<ModelWeights> weights_;
  int32_t block_size_ = 0;
  int32_t num_blocks_ = 0;
  int64_t block_bytes_ = 0;
  std::vector<HostTensor> k_cache_, v_cache_;  // per layer [blocks, block_size, kv_heads, head_dim]

  // Step buffers, reused: residual stream, normed input, q/k/v, attention output.
  std::vector<float> x_, h_, q_, k_, v_, attn_, mlp_out_, scratch_;
  std::vector<float> logits_;  // every logits row of the step, before sampling
  cpu::MoeWorkspace moe_ws_;
};

}  // namespace switchyard::engine
