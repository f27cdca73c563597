// The device weight layout and the bytes the device stores, on every
// fixture architecture (random weights of the fixtures' shapes).
#include "engine/cuda/weight_layout.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "engine/cuda/workspace_layout.h"
#include "engine/model_config.h"

namespace switchyard::engine::cuda {
namespace {

std::unique_ptr<ModelWeights> Fixture(const std::string& name) {
  auto config = LoadModelConfig(std::string(SWITCHYARD_SOURCE_DIR) + "/tests/fixtures/" + name);
  EXPECT_TRUE(config.ok()) << config.status();
  auto weights = RandomWeights(*config, 7);
  EXPECT_TRUE(weights.ok()) << weights.status();
  return std::move(*weights);
}

class WeightLayoutTest : public ::testing::TestWithParam<std::string> {};

TEST_P(WeightLayoutTest, EveryTensorOnceAlignedAndDisjoint) {
  const auto w = Fixture(GetParam());
  const WeightLayout layout = PlanWeightLayout(*w);
  int64_t end = 0, expected_bytes = 0;
  for (const TensorPlacement& t : layout.tensors) {
    EXPECT_EQ(t.offset % kDeviceAlignment, 0);
    EXPECT_GE(t.offset, end) << "overlap";
    EXPECT_EQ(t.bytes, t.source->numel() * static_cast<int64_t>(DTypeSize(t.dtype)));
    end = t.offset + t.bytes;
    expected_bytes += t.bytes;
  }
  EXPECT_EQ(layout.total_bytes, end);
  EXPECT_LT(layout.total_bytes - expected_bytes, kDeviceAlignment * static_cast<int64_t>(layout.tensors.size()));
  // Matrices are stored as bf16: about half the host bytes of an F32 model.
  if (w->matrix_dtype == DType::kF32) {
    EXPECT_LT(layout.total_bytes, static_cast<int64_t>(w->total_bytes()) * 6 / 10);
  }
}

TEST_P(WeightLayoutTest, RolesMatchTheArchitecture) {
  const auto w = Fixture(GetParam());
  const ModelConfig& c = w->config;
  const WeightLayout layout = PlanWeightLayout(*w);
  ASSERT_EQ(layout.layers.size(), static_cast<size_t>(c.num_layers));
  EXPECT_EQ(layout.lm_head == layout.embed, c.tie_word_embeddings);
  for (int l = 0; l < c.num_layers; ++l) {
    const LayerOffsets& o = layout.layers[l];
    const bool moe = w->layers[l].is_moe;
    EXPECT_EQ(o.router != kAbsent, moe) << "layer " << l;
    EXPECT_EQ(o.experts_gate_up != kAbsent, moe);
    EXPECT_EQ(o.mlp_gate_up != kAbsent, !moe);
    EXPECT_EQ(o.shared_gate != kAbsent, moe && c.shared_expert_intermediate_size > 0);
    EXPECT_EQ(o.q_bias != kAbsent, c.qkv_bias);
    EXPECT_EQ(o.q_norm != kAbsent, c.qk_norm != QkNorm::kNone);
  }
  // Router and norms stay float32 so routing sees the CPU's weights.
  for (const TensorPlacement& t : layout.tensors) {
    if (t.source->shape().size() == 1 || t.source == &w->layers[0].moe.router) {
      EXPECT_EQ(t.dtype, DType::kF32);
    }
  }
}

TEST_P(WeightLayoutTest, WorkspaceBuffersAreAlignedAndDisjoint) {
  const auto w = Fixture(GetParam());
  CudaBackendConfig config;
  config.max_num_tokens = 100;
  config.max_num_seqs = 10;
  config.max_logit_rows = 10;
  config.decode_graph_sizes = {1, 2, 4, 8};
  const WorkspaceLayout ws = PlanWorkspace(w->config, config, 16);
  const std::vector<int64_t> offsets = {
      ws.token_ids, ws.positions,     ws.context_lens,   ws.kv_slots,       ws.token_seqs, ws.block_tables,
      ws.logit_rows, ws.num_real_tokens, ws.x,           ws.delta,          ws.h,          ws.q,
      ws.k,         ws.v,             ws.attn,           ws.router_logits,  ws.topk_ids,   ws.topk_weights,
      ws.expert_counts, ws.expert_offsets, ws.row_token, ws.assignment_row, ws.act,        ws.y_perm,
      ws.shared_out, ws.logits,       ws.routed_experts};
  for (size_t i = 0; i < offsets.size(); ++i) {
    EXPECT_EQ(offsets[i] % kDeviceAlignment, 0) << i;
    if (i > 0) {
      EXPECT_GT(offsets[i], offsets[i - 1]) << i;
    }
  }
  const ModelConfig& c = w->config;
  EXPECT_EQ(ws.blocks_per_seq, (c.max_position_embeddings + 15) / 16);
  // y_perm holds T·k rows of H floats.
  EXPECT_GE(ws.shared_out - ws.y_perm, int64_t{100} * c.top_k * c.hidden_size * 4);
  EXPECT_GE(ws.total_bytes - ws.routed_experts, int64_t{100} * c.num_layers * c.top_k * 4);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, WeightLayoutTest, ::testing::Values("mixtral", "qwen3_moe", "olmoe", "qwen2_moe"));

TEST(ConvertForDeviceTest, F32MatricesRoundToBf16AndVectorsPassThrough) {
  HostTensor t(DType::kF32, {3});
  const float values[3] = {1.0f, 1.00390625f /* halfway: ties to even */, -3.14159f};
  std::memcpy(t.data(), values, sizeof(values));
  const std::vector<uint8_t> bf16 = ConvertForDevice(t, DType::kBF16);
  ASSERT_EQ(bf16.size(), 6u);
  const auto* h = reinterpret_cast<const uint16_t*>(bf16.data());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(h[i], FloatToBF16(values[i])) << i;
  EXPECT_EQ(h[1], FloatToBF16(1.0f));
  const std::vector<uint8_t> f32 = ConvertForDevice(t, DType::kF32);
  EXPECT_EQ(std::memcmp(f32.data(), values, sizeof(values)), 0);
}

TEST(ConvertForDeviceTest, Bf16IsCopiedOrWidened) {
  HostTensor t(DType::kBF16, {2});
  const uint16_t values[2] = {FloatToBF16(2.5f), FloatToBF16(-0.125f)};
  std::memcpy(t.data(), values, sizeof(values));
  const std::vector<uint8_t> same = ConvertForDevice(t, DType::kBF16);
  EXPECT_EQ(std::memcmp(same.data(), values, sizeof(values)), 0);
  const std::vector<uint8_t> wide = ConvertForDevice(t, DType::kF32);
  const auto* f = reinterpret_cast<const float*>(wide.data());
  EXPECT_EQ(f[0], 2.5f);
  EXPECT_EQ(f[1], -0.125f);
}

}  // namespace
}  // namespace switchyard::engine::cuda
