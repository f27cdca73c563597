// CudaBackend: the engine on an NVIDIA GPU (Hopper). Every weight, every
// expert included, stays in device memory as bf16; activations and the
// residual stream are float32, the paged KV cache bf16. Inside a MoE layer
// the tokens are grouped by expert on the device (routing, dispatch plan,
// grouped GEMM, un-permute) with no host synchronisation, so decode steps
// replay CUDA graphs captured per bucket of batch sizes. Same semantics as
// CpuBackend, which it is tested against.
#pragma once

#include <algorithm>
#include <cuda_runtime_api.h>

#include <map>
#include <memory>

#include "engine/backend.h"
#include "engine/cuda/cuda_backend_config.h"
#include "engine/cuda/device_buffer.h"
#include "engine/cuda/device_weights.h"
#include "engine/cuda/sampling_inputs.h"
#include "engine/cuda/step_inputs.h"
#include "engine/cuda/workspace_layout.h"

namespace switchyard::engine::cuda {

class CudaBackend : public Backend {
 public:
  // FAILED_PRECONDITION when there is no CUDA device, or device 0 is not
  // Hopper (compute capability 9.x) or later.
  static absl::StatusOr<std::unique_ptr<CudaBackend>> Create(const CudaBackendConfig& config);
  ~CudaBackend() override;

  std::string_view name() const override { return "cuda"; }
  absl::Status Load(std::unique_ptr<ModelWeights> weights, const KvCacheConfig& kv) override;
  absl::StatusOr<ForwardResult> Forward(const Batch& batch) override;

  const ModelConfig& config() const override { return model_; }
  int32_t num_kv_blocks() const override { return num_blocks_; }
  int32_t kv_block_size() const override { return block_size_; }
  int64_t kv_block_bytes() const override { return block_bytes_; }
  // Every sequence of a step may sample a row of logits.
  StepCapacity step_capacity() const override {
    return {options_.max_num_tokens, std::min(options_.max_num_seqs, options_.max_logit_rows)};
  }
  MemoryReport memory() const override { return memory_; }

 private:
  explicit CudaBackend(const CudaBackendConfig& config, cudaStream_t stream);

  absl::Status CheckModel(const ModelConfig& c) const;
  absl::Status UploadInputs(const StepInputs& in);
  // The step's sampled rows, their penalised tokens and room for their
  // samples, into sampling_ (grown when a step needs more).
  absl::Status UploadSampling(const SamplingInputs& in);
  // Samples the rows among logits rows [first, first + rows) (the logits
  // buffer's), and queues the copy of the returned ones into host_logits_;
  // returns how many it queued.
  absl::StatusOr<int64_t> EnqueueSamplingPass(const SamplingInputs& in, int32_t first, int32_t rows);
  // Everything from the embedding to the final norm over `num_tokens` rows,
  // plus the experts of the `logit_rows` logits rows.
  absl::Status EnqueueModel(int32_t num_tokens, int32_t logit_rows);
  absl::Status EnqueueAttention(int layer, int32_t num_tokens);
  absl::Status EnqueueFeedForward(int layer, int32_t num_tokens, int32_t logit_rows);
  // Logits of logits rows [first, first + rows) into the logits buffer.
  absl::Status EnqueueLmHead(int32_t first, int32_t rows);
  // The decode graph of `bucket` tokens, captured on first use.
  absl::StatusOr<cudaGraphExec_t> DecodeGraph(int32_t bucket);
  void DropGraphs();

  template <typename T>
  T* Ws(int64_t offset) const {
    return workspace_.at<T>(offset);
  }

  CudaBackendConfig options_;
  cudaStream_t stream_ = nullptr;

  ModelConfig model_;
  int32_t block_size_ = 0;
  int32_t num_blocks_ = 0;
  int64_t block_bytes_ = 0;
  MemoryReport memory_;
  DeviceWeights weights_;
  DeviceBuffer kv_cache_;  // per layer: K then V, each [blocks * block_size, kv_size] bf16
  int64_t kv_layer_elems_ = 0;
  WorkspaceLayout layout_;
  DeviceBuffer workspace_;
  // Page-locked mirrors for the asynchronous copies of each step: the inputs
  // (at the workspace's own offsets), the logits, the expert counts and the
  // routed experts.
  PinnedBuffer host_inputs_, host_logits_, host_counts_, host_routed_;
  // Device sampling's inputs and outputs (SamplingLayout in cuda_backend.cc),
  // and their page-locked mirror.
  DeviceBuffer sampling_;
  PinnedBuffer host_sampling_;
  std::map<int32_t, cudaGraphExec_t> graphs_;  // decode bucket -> graph
};

}  // namespace switchyard::engine::cuda
