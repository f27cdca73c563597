// A Backend that forwards every call to another one, for the tests that wrap
// the CPU backend to hold, fail or corrupt chosen calls: a test's backend
// derives from it and overrides only what it changes.
#pragma once

#include <memory>
#include <string_view>
#include <utility>

#include "engine/backend.h"

namespace switchyard::engine::test {

class ForwardingBackend : public Backend {
 public:
  explicit ForwardingBackend(Backend& inner) : inner_(inner) {}
  explicit ForwardingBackend(std::unique_ptr<Backend> inner) : owned_(std::move(inner)), inner_(*owned_) {}

  std::string_view name() const override { return inner_.name(); }
  absl::Status Load(std::unique_ptr<ModelWeights> weights, const KvCacheConfig& kv) override {
    return inner_.Load(std::move(weights), kv);
  }
  absl::StatusOr<ForwardResult> Forward(const Batch& batch) override { return inner_.Forward(batch); }
  const ModelConfig& config() const override { return inner_.config(); }
  int32_t num_kv_blocks() const override { return inner_.num_kv_blocks(); }
  int32_t kv_block_size() const override { return inner_.kv_block_size(); }
  int64_t kv_block_bytes() const override { return inner_.kv_block_bytes(); }
  StepCapacity step_capacity() const override { return inner_.step_capacity(); }
  MemoryReport memory() const override { return inner_.memory(); }

 private:
  std::unique_ptr<Backend> owned_;  // when constructed from a unique_ptr
  Backend& inner_;
};

}  // namespace switchyard::engine::test
