// The checks every backend shares. Creating a backend by name is the
// registry's (engine/backend_registry.h), so that this interface library
// depends on no backend.
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "engine/backend.h"

#include "common/status_macros.h"

namespace switchyard::engine {

absl::Status KvCacheConfig::Validate() const {
  if (block_size < 1 || block_size > 1024) {
    return absl::InvalidArgumentError(absl::StrCat("kv block_size must be in [1, 1024], got ", block_size));
  }
  if (num_blocks < 0) return absl::InvalidArgumentError(absl::StrCat("kv num_blocks must be >= 0, got ", num_blocks));
  if (!(device_memory_fraction >= 0 && device_memory_fraction <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("kv device_memory_fraction must be in [0, 1], got ", device_memory_fraction));
  }
  if (element && *element != DType::kF32 && *element != DType::kBF16) {
    return absl::InvalidArgumentError(absl::StrCat("kv cache element type must be F32 or BF16, got ", std::string(DTypeName(*element))));
  }
  if (num_blocks == 0 && memory_bytes <= 0 && device_memory_fraction == 0) {
    return absl::InvalidArgumentError("kv cache needs num_blocks, a positive memory_bytes or a device_memory_fraction");
  }
  return absl::OkStatus();
}

int64_t KvCacheConfig::BlockBytes(const ModelConfig& config, int32_t block_size, DType element) {
  return int64_t{2} * config.num_layers * block_size * config.kv_size() * static_cast<int64_t>(DTypeSize(element));
}

namespace {

// What a backend's sampler relies on: parameters present, outputs it can
// hold, penalties on tokens that exist. (The parameters' values were
// validated when the request was submitted.)
absl::Status ValidateRowSampling(const RowSampling& row, const ModelConfig& config, size_t s) {
  if (row.params == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("sequence ", s, ": sampled without sampling parameters"));
  }
  if (row.params->logprobs < 0 || row.params->logprobs > kMaxLogprobs) {
    return absl::InvalidArgumentError(
        absl::StrCat("sequence ", s, ": logprobs ", row.params->logprobs, " outside [0, ", kMaxLogprobs, "]"));
  }
  for (const TokenCount& t : row.seen) {
    if (t.token < 0 || t.token >= config.vocab_size || t.generated < 0) {
      return absl::InvalidArgumentError(absl::StrCat("sequence ", s, ": penalised token ", t.token, " (generated ",
                                                     t.generated, " times) outside the vocabulary [0, ",
                                                     config.vocab_size, ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateBatch(const Batch& batch, const ModelConfig& config, int32_t num_blocks, int32_t block_size) {
  size_t expected_tokens = 0;
  for (size_t s = 0; s < batch.sequences.size(); ++s) {
    const SequenceSlice& seq = batch.sequences[s];
    if (seq.num_tokens < 1 || seq.num_cached < 0) {
      return absl::InvalidArgumentError(absl::StrCat("sequence ", s, ": num_tokens ", seq.num_tokens,
                                                     " must be >= 1 and num_cached ", seq.num_cached, " >= 0"));
    }
    const int64_t end = int64_t{seq.num_cached} + seq.num_tokens;
    if (end > config.max_position_embeddings) {
      return absl::InvalidArgumentError(absl::StrCat("sequence ", s, ": length ", end,
                                                     " exceeds max_position_embeddings ",
                                                     config.max_position_embeddings));
    }
    if (int64_t{static_cast<int64_t>(seq.block_table.size())} * block_size < end) {
      return absl::InvalidArgumentError(absl::StrCat("sequence ", s, ": ", seq.block_table.size(),
                                                     " KV blocks cannot hold ", end, " positions"));
    }
    for (int32_t b : seq.block_table) {
      if (b < 0 || b >= num_blocks) {
        return absl::InvalidArgumentError(absl::StrCat("sequence ", s, ": KV block ", b, " outside [0, ",
                                                       num_blocks, ")"));
      }
    }
    if (seq.logits == LogitsMode::kSample) RETURN_IF_ERROR(ValidateRowSampling(seq.sampling, config, s));
    expected_tokens += seq.num_tokens;
  }
  if (expected_tokens != batch.token_ids.size()) {
    return absl::InvalidArgumentError(absl::StrCat("batch has ", batch.token_ids.size(),
                                                   " tokens but its sequences claim ", expected_tokens));
  }
  for (int32_t t : batch.token_ids) {
    if (t < 0 || t >= config.vocab_size) {
      return absl::InvalidArgumentError(absl::StrCat("token id ", t, " outside the vocabulary [0, ",
                                                     config.vocab_size, ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace switchyard::engine
