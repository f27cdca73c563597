#include "engine/model_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "nlohmann/json.hpp"

namespace switchyard::engine {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

json Qwen3Moe() {
  return json::parse(R"({
    "architectures": ["Qwen3MoeForCausalLM"], "model_type": "qwen3_moe",
    "vocab_size": 512, "hidden_size": 64, "intermediate_size": 96, "moe_intermediate_size": 32,
    "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 24,
    "max_position_embeddings": 512, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
    "num_experts": 6, "num_experts_per_tok": 3, "norm_topk_prob": true,
    "decoder_sparse_step": 2, "mlp_only_layers": [3], "hidden_act": "silu",
    "torch_dtype": "bfloat16", "eos_token_id": [1, 2], "bos_token_id": 0
  })");
}

TEST(ModelConfigTest, ParsesQwen3MoeWithLayerPattern) {
  auto c = ParseModelConfig(Qwen3Moe());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->arch, Architecture::kQwen3Moe);
  EXPECT_EQ(c->head_dim, 24);
  EXPECT_EQ(c->q_size(), 96);
  EXPECT_EQ(c->qk_norm, QkNorm::kPerHead);
  EXPECT_TRUE(c->norm_topk_prob);
  EXPECT_EQ(c->expert_intermediate_size, 32);
  EXPECT_EQ(c->dense_intermediate_size, 96);
  // (l + 1) % 2 == 0 and not in mlp_only_layers: only layer 1.
  EXPECT_THAT(c->layer_is_moe, ::testing::ElementsAre(false, true, false, false));
  EXPECT_EQ(c->dtype, DType::kBF16);
  EXPECT_THAT(c->eos_token_ids, ::testing::ElementsAre(1, 2));
  EXPECT_DOUBLE_EQ(c->rope_theta, 1e6);
}

TEST(ModelConfigTest, AcceptsTransformers5Spelling) {
  json j = Qwen3Moe();
  j.erase("rope_theta");
  j.erase("torch_dtype");
  j["rope_parameters"] = {{"rope_theta", 5000.0}, {"rope_type", "default"}};
  j["dtype"] = "float32";
  j["layer_types"] = {"full_attention", "full_attention", "full_attention", "full_attention"};
  auto c = ParseModelConfig(j);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_DOUBLE_EQ(c->rope_theta, 5000.0);
  EXPECT_EQ(c->dtype, DType::kF32);
}

TEST(ModelConfigTest, MixtralAlwaysRenormalisesAndDefaultsHeadDim) {
  json j = json::parse(R"({
    "architectures": ["MixtralForCausalLM"], "vocab_size": 100, "hidden_size": 64, "intermediate_size": 48,
    "num_hidden_layers": 2, "num_attention_heads": 8, "num_key_value_heads": 2, "head_dim": null,
    "max_position_embeddings": 256, "num_local_experts": 5, "num_experts_per_tok": 2, "sliding_window": null})");
  auto c = ParseModelConfig(j);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->head_dim, 8);
  EXPECT_EQ(c->num_experts, 5);
  EXPECT_TRUE(c->norm_topk_prob);
  EXPECT_EQ(c->expert_intermediate_size, 48);
  EXPECT_EQ(c->qk_norm, QkNorm::kNone);
}

TEST(ModelConfigTest, OlmoeDefaultsAndClip) {
  json j = json::parse(R"({
    "architectures": ["OlmoeForCausalLM"], "vocab_size": 100, "hidden_size": 64, "intermediate_size": 32,
    "num_hidden_layers": 2, "num_attention_heads": 4, "max_position_embeddings": 256,
    "num_experts": 12, "num_experts_per_tok": 1, "clip_qkv": 2.5})");
  auto c = ParseModelConfig(j);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->norm_topk_prob);
  EXPECT_EQ(c->qk_norm, QkNorm::kWholeProjection);
  ASSERT_TRUE(c->clip_qkv.has_value());
  EXPECT_FLOAT_EQ(*c->clip_qkv, 2.5f);
  EXPECT_EQ(c->num_kv_heads, 4);
}

struct BadCase {
  const char* name;
  const char* patch;  // JSON merge-patch applied to the Qwen3 config
  const char* message;
};

class RejectsTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(RejectsTest, WithMessageNamingTheField) {
  json j = Qwen3Moe();
  j.merge_patch(json::parse(GetParam().patch));
  auto c = ParseModelConfig(j);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()), HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    ModelConfig, RejectsTest,
    ::testing::Values(
        BadCase{"arch", R"({"architectures": ["LlamaForCausalLM"]})",
                "unsupported architecture 'LlamaForCausalLM'; supported: MixtralForCausalLM, Qwen2MoeForCausalLM"},
        BadCase{"no_arch", R"({"architectures": null})", "architectures"},
        BadCase{"rope", R"({"rope_scaling": {"rope_type": "yarn", "factor": 4}})", "rope type \"yarn\""},
        BadCase{"act", R"({"hidden_act": "gelu"})", "hidden_act"},
        BadCase{"sliding", R"({"use_sliding_window": true})", "use_sliding_window"},
        BadCase{"missing", R"({"hidden_size": null})", "'hidden_size' is required"},
        BadCase{"type", R"({"vocab_size": "big"})", "'vocab_size' must be an integer"},
        BadCase{"topk", R"({"num_experts_per_tok": 7})", "num_experts_per_tok"},
        BadCase{"gqa", R"({"num_key_value_heads": 3})", "must divide num_attention_heads"},
        BadCase{"dtype", R"({"torch_dtype": "float8"})", "torch_dtype"},
        BadCase{"eos", R"({"eos_token_id": 9999})", "eos_token_id"},
        // Read as int32 it would wrap to id 2 (found with tests/fuzz).
        BadCase{"eos_wraps", R"({"eos_token_id": 4294967298})", "'eos_token_id' holds 4294967298, not a token id"},
        BadCase{"heads_overflow", R"({"head_dim": 1073741824})", "overflows"},
        BadCase{"mlp_only", R"({"mlp_only_layers": [9]})", "mlp_only_layers"},
        BadCase{"layer_types", R"({"layer_types": ["sliding_attention"]})", "layer_types"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ModelConfigTest, LoadReportsFile) {
  auto c = LoadModelConfig("/nonexistent/dir");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("/nonexistent/dir"));
}

TEST(ModelConfigTest, LoadsEveryFixture) {
  for (const char* name : {"mixtral", "qwen3_moe", "olmoe", "qwen2_moe"}) {
    auto c = LoadModelConfig(std::string(SWITCHYARD_SOURCE_DIR) + "/tests/fixtures/" + name);
    EXPECT_TRUE(c.ok()) << name << ": " << c.status();
  }
}

// The end-to-end GPU benchmark's model (bench/gpu_e2e.sh), as published.
TEST(ModelConfigTest, LoadsQwen3_30B_A3B) {
  auto c = LoadModelConfig(std::string(SWITCHYARD_SOURCE_DIR) + "/bench/configs/qwen3_30b_a3b");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->num_layers, 48);
  EXPECT_EQ(c->num_experts, 128);
  EXPECT_EQ(c->top_k, 8);
  EXPECT_EQ(c->hidden_size, 2048);
  EXPECT_EQ(c->expert_intermediate_size, 768);
  EXPECT_EQ(c->num_kv_heads, 4);
  EXPECT_EQ(c->head_dim, 128);
  EXPECT_EQ(c->vocab_size, 151936);
  EXPECT_EQ(c->dtype, DType::kBF16);
}

}  // namespace
}  // namespace switchyard::engine
