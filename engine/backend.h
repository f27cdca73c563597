// Backend: the one narrow interface between the serving engine and the
// hardware. The CPU backend is the readable reference; the CUDA backend is a
// shared library loaded at run time (docs/architecture.md) and tested against it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/cord.h"
#include "engine/batch.h"
#include "engine/dtype.h"
#include "engine/model_config.h"
#include "engine/model_weights.h"

namespace switchyard::engine {

struct KvCacheConfig {
  int32_t block_size = 16;  // tokens per KV block
  int32_t num_blocks = 0;   // 0: as many as `memory_bytes` holds
  int64_t memory_bytes = int64_t{512} << 20;
  // CUDA: when > 0 (and num_blocks is 0), the KV cache takes this share of
  // the device memory left after the weights and the workspace, instead of
  // memory_bytes. The CPU backend ignores it.
  double device_memory_fraction = 0;
  // The element type of K and V: F32 or BF16, or unset for the backend's own
  // (CPU: F32, exact as the reference; CUDA: BF16, the only one it keeps).
  // BF16 halves the cache's memory and the bytes attention reads per token.
  std::optional<DType> element = std::nullopt;

  absl::Status Validate() const;
  // Bytes one block takes for `config`: K and V, every layer, `element`s
  // (KvCacheConfig::element, or the backend's own). The one place this is
  // computed.
  static int64_t BlockBytes(const ModelConfig& config, int32_t block_size, DType element);
};

// KV blocks that `num_tokens` positions take (the last one partly filled):
// the one round-up, shared by the block manager and the backends.
constexpr int64_t KvBlocksFor(int64_t num_tokens, int32_t block_size) {
  return (num_tokens + block_size - 1) / block_size;
}

// What one step may hold, fixed when a backend is created: CreateBackend
// passes the scheduler's budget, which the CUDA backend sizes its workspace
// and its decode graphs by (the CPU backend has no limit). EngineLoop::Create
// refuses a scheduler budget larger than what the backend reports, naming
// both numbers, instead of failing steps later.
struct StepCapacity {
  int32_t max_tokens = 0;     // tokens in one Batch
  int32_t max_sequences = 0;  // sequences in one Batch
};

struct MemoryReport {
  int64_t weight_bytes = 0;
  int64_t kv_cache_bytes = 0;
  int64_t workspace_bytes = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual std::string_view name() const = 0;
  // Takes the model's weights (kept, or uploaded and released) and allocates
  // the paged KV cache.
  virtual absl::Status Load(std::unique_ptr<ModelWeights> weights, const KvCacheConfig& kv) = 0;
  // Runs one step over the flat batch and samples the next token of every
  // kSample sequence from its RowSampling (on the device, for a GPU: only
  // token ids, the logprobs asked for and the expert counts come back). A
  // malformed batch (token outside the vocabulary, block table too short,
  // block id out of range, position past the context length, a kSample row
  // without parameters) is INVALID_ARGUMENT and changes nothing.
  //
  // An error fails that step only: the engine ends the requests in it with
  // INTERNAL, frees their KV blocks and runs the next step, so after an
  // error the backend must be ready for another Forward (what the failed
  // step wrote into its sequences' KV blocks is discarded with them). An
  // error after which no step can succeed (device lost, a sticky CUDA error,
  // memory corrupted) must be marked with MarkUnrecoverable: the engine then
  // ends every request and the server reports NOT_SERVING for good.
  virtual absl::StatusOr<ForwardResult> Forward(const Batch& batch) = 0;

  virtual const ModelConfig& config() const = 0;
  // The paged KV cache, once loaded: how many blocks, of how many tokens,
  // taking how many bytes each.
  virtual int32_t num_kv_blocks() const = 0;
  virtual int32_t kv_block_size() const = 0;
  virtual int64_t kv_block_bytes() const = 0;
  virtual StepCapacity step_capacity() const = 0;
  virtual MemoryReport memory() const = 0;
};

// The payload that marks a backend error as unrecoverable (see Forward). A
// payload rather than a status code, so that the code still says what went
// wrong.
inline constexpr char kUnrecoverablePayload[] = "type.switchyard.dev/switchyard.engine.Unrecoverable";

// `status` (not OK), marked as leaving the backend unusable.
inline absl::Status MarkUnrecoverable(absl::Status status) {
  status.SetPayload(kUnrecoverablePayload, absl::Cord("backend unusable"));
  return status;
}
inline bool IsUnrecoverable(const absl::Status& status) {
  return status.GetPayload(kUnrecoverablePayload).has_value();
}

// Checks a batch against a model and a KV cache; shared by every backend.
absl::Status ValidateBatch(const Batch& batch, const ModelConfig& config, int32_t num_blocks, int32_t block_size);

}  // namespace switchyard::engine
