// EngineConfig: one validation of the engine's settings, and LoadBackend
// asking the backend for exactly the scheduler's budget.
#include "server/engine_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/backend_registry.h"

namespace switchyard::server {
namespace {

using ::testing::HasSubstr;

const std::string kMixtral = std::string(SWITCHYARD_SOURCE_DIR) + "/tests/fixtures/mixtral";

EngineConfig Mixtral() {
  EngineConfig c;
  c.model.path = kMixtral;
  c.backend = "cpu";
  c.kv_cache.num_blocks = 32;
  c.scheduler.max_num_batched_tokens = 96;
  c.scheduler.max_num_seqs = 6;
  return c;
}

TEST(EngineConfigTest, EachSettingIsValidatedOnceHere) {
  EXPECT_TRUE(Mixtral().Validate().ok()) << Mixtral().Validate();
  EngineConfig c = Mixtral();
  c.model.path.clear();
  EXPECT_THAT(c.Validate().message(), HasSubstr("--model"));
  c = Mixtral();
  c.kv_cache.block_size = 0;
  EXPECT_THAT(c.Validate().message(), HasSubstr("block_size must be in [1, 1024], got 0"));
  c = Mixtral();
  c.scheduler.max_num_seqs = 97;
  EXPECT_THAT(c.Validate().message(), HasSubstr("max_num_seqs (97) exceeds max_num_batched_tokens (96)"));
}

TEST(EngineConfigTest, KvCacheDTypeNames) {
  EXPECT_EQ(*ParseKvCacheDType("auto"), std::nullopt);
  EXPECT_EQ(*ParseKvCacheDType("f32"), engine::DType::kF32);
  EXPECT_EQ(*ParseKvCacheDType("bf16"), engine::DType::kBF16);
  EXPECT_THAT(ParseKvCacheDType("fp8").status().message(), HasSubstr("auto, f32 or bf16, got 'fp8'"));
  EngineConfig c = Mixtral();
  c.kv_cache.element = engine::DType::kF16;
  EXPECT_THAT(c.Validate().message(), HasSubstr("F32 or BF16, got F16"));
}

// A BF16 cache takes half the bytes per block and serves a generation.
TEST(EngineConfigTest, ABf16KvCacheHalvesTheBlockBytes) {
  EngineConfig c = Mixtral();
  auto f32 = LoadBackend(c);
  ASSERT_TRUE(f32.ok()) << f32.status();
  c.kv_cache.element = engine::DType::kBF16;
  auto bf16 = LoadBackend(c);
  ASSERT_TRUE(bf16.ok()) << bf16.status();
  EXPECT_EQ((*bf16)->kv_block_bytes() * 2, (*f32)->kv_block_bytes());
  EXPECT_EQ((*bf16)->memory().kv_cache_bytes * 2, (*f32)->memory().kv_cache_bytes);
}

TEST(EngineConfigTest, TheBackendIsAskedForTheSchedulersBudget) {
  engine::StepCapacity asked;
  std::string name;
  auto create = [&](std::string_view n, const engine::StepCapacity& capacity) {
    name = std::string(n);
    asked = capacity;
    return engine::CreateBackend(n, capacity);
  };
  absl::StatusOr<std::unique_ptr<engine::Backend>> backend = LoadBackend(Mixtral(), create);
  ASSERT_TRUE(backend.ok()) << backend.status();
  EXPECT_EQ(name, "cpu");
  EXPECT_EQ(asked.max_tokens, 96);
  EXPECT_EQ(asked.max_sequences, 6);
  // Loaded, with the cache asked for, each block's bytes from the one formula.
  EXPECT_EQ((*backend)->num_kv_blocks(), 32);
  EXPECT_EQ((*backend)->kv_block_bytes(),
            engine::KvCacheConfig::BlockBytes((*backend)->config(), 16, engine::DType::kF32));
}

TEST(EngineConfigTest, LoadingStopsAtTheFirstError) {
  EngineConfig bad = Mixtral();
  bad.scheduler.max_waiting = 0;
  bool created = false;
  auto create = [&](std::string_view n, const engine::StepCapacity& capacity) {
    created = true;
    return engine::CreateBackend(n, capacity);
  };
  EXPECT_EQ(LoadBackend(bad, create).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(created);  // refused before the model is read or a backend made

  EngineConfig missing = Mixtral();
  missing.model.path = kMixtral + "/no_such_dir";
  EXPECT_FALSE(LoadBackend(missing, create).ok());
  EXPECT_FALSE(created);

  EngineConfig unknown = Mixtral();
  unknown.backend = "tpu";
  EXPECT_THAT(LoadBackend(unknown).status().message(), HasSubstr("unknown backend 'tpu'"));
}

}  // namespace
}  // namespace switchyard::server
