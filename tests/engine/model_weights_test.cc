#include "engine/model_weights.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/checkpoint.h"
#include "engine/model_config.h"
#include "nlohmann/json.hpp"
#include "tests/engine/safetensors_writer.h"

namespace switchyard::engine {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using test::TestTensor;

constexpr int kV = 10, kH = 8, kI = 6, kE = 3, kHeads = 2, kKvHeads = 1, kD = 4;

ModelConfig TinyMixtral(bool tie = false) {
  nlohmann::json j = {{"architectures", {"MixtralForCausalLM"}},
                      {"vocab_size", kV},
                      {"hidden_size", kH},
                      {"intermediate_size", kI},
                      {"num_hidden_layers", 1},
                      {"num_attention_heads", kHeads},
                      {"num_key_value_heads", kKvHeads},
                      {"max_position_embeddings", 64},
                      {"num_local_experts", kE},
                      {"num_experts_per_tok", 2},
                      {"tie_word_embeddings", tie}};
  auto c = ParseModelConfig(j);
  EXPECT_TRUE(c.ok()) << c.status();
  return *c;
}

TestTensor Filled(const std::string& name, std::vector<int64_t> shape, float value, const std::string& dtype = "F32") {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  if (dtype == "BF16") return {name, dtype, shape, test::BytesOf(std::vector<uint16_t>(n, FloatToBF16(value)))};
  return {name, dtype, shape, test::BytesOf(std::vector<float>(n, value))};
}

// Every tensor of the tiny Mixtral, as save_pretrained names them.
std::vector<TestTensor> TinyMixtralTensors(const std::string& dtype = "F32") {
  const std::string p = "model.layers.0.";
  std::vector<TestTensor> t = {
      Filled("model.embed_tokens.weight", {kV, kH}, 0.5f, dtype),
      Filled("model.norm.weight", {kH}, 1.f, dtype),
      Filled("lm_head.weight", {kV, kH}, 0.25f, dtype),
      Filled(p + "input_layernorm.weight", {kH}, 1.f, dtype),
      Filled(p + "post_attention_layernorm.weight", {kH}, 1.f, dtype),
      Filled(p + "self_attn.q_proj.weight", {kHeads * kD, kH}, 0.1f, dtype),
      Filled(p + "self_attn.k_proj.weight", {kKvHeads * kD, kH}, 0.1f, dtype),
      Filled(p + "self_attn.v_proj.weight", {kKvHeads * kD, kH}, 0.1f, dtype),
      Filled(p + "self_attn.o_proj.weight", {kH, kHeads * kD}, 0.1f, dtype),
      Filled(p + "block_sparse_moe.gate.weight", {kE, kH}, 0.1f, dtype),
  };
  for (int e = 0; e < kE; ++e) {
    const std::string ep = p + "block_sparse_moe.experts." + std::to_string(e) + ".";
    t.push_back(Filled(ep + "w1.weight", {kI, kH}, 1.f + e, dtype));  // gate
    t.push_back(Filled(ep + "w3.weight", {kI, kH}, 2.f + e, dtype));  // up
    t.push_back(Filled(ep + "w2.weight", {kH, kI}, 3.f + e, dtype));  // down
  }
  return t;
}

absl::StatusOr<std::unique_ptr<ModelWeights>> LoadFrom(const test::ScratchDir& dir, const ModelConfig& config,
                                                        const std::vector<TestTensor>& tensors) {
  test::WriteFile(dir.File("model.safetensors"), test::SafetensorsBytes(tensors));
  auto ckpt = Checkpoint::Open(dir.path());
  if (!ckpt.ok()) return ckpt.status();
  return LoadWeights(config, **ckpt);
}

TEST(ModelWeightsTest, StacksExpertsGateThenUp) {
  test::ScratchDir dir;
  auto w = LoadFrom(dir, TinyMixtral(), TinyMixtralTensors());
  ASSERT_TRUE(w.ok()) << w.status();
  const HostTensor& gu = (*w)->layers[0].moe.experts_gate_up;
  ASSERT_EQ(gu.shape(), (std::vector<int64_t>{kE, 2 * kI, kH}));
  EXPECT_EQ(gu.f32()[(1 * 2 * kI + 0) * kH], 2.f);   // expert 1 gate (w1)
  EXPECT_EQ(gu.f32()[(1 * 2 * kI + kI) * kH], 3.f);  // expert 1 up (w3)
  EXPECT_EQ((*w)->layers[0].moe.experts_down.f32()[2 * kH * kI], 5.f);
  EXPECT_EQ((*w)->matrix_dtype, DType::kF32);
}

TEST(ModelWeightsTest, KeepsBf16MatricesAndWidensNorms) {
  test::ScratchDir dir;
  auto w = LoadFrom(dir, TinyMixtral(), TinyMixtralTensors("BF16"));
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ((*w)->matrix_dtype, DType::kBF16);
  EXPECT_EQ((*w)->layers[0].q_proj.dtype(), DType::kBF16);
  EXPECT_EQ((*w)->layers[0].input_norm.dtype(), DType::kF32);
  EXPECT_EQ((*w)->layers[0].moe.router.dtype(), DType::kF32);
}

TEST(ModelWeightsTest, MissingTensorIsNamed) {
  test::ScratchDir dir;
  auto tensors = TinyMixtralTensors();
  tensors.erase(tensors.begin() + 13);  // expert 1's w1
  auto w = LoadFrom(dir, TinyMixtral(), tensors);
  ASSERT_FALSE(w.ok());
  EXPECT_THAT(std::string(w.status().message()), HasSubstr("model.layers.0.block_sparse_moe.experts.1.w1.weight"));
}

TEST(ModelWeightsTest, MisShapedTensorIsNamedWithFileAndShapes) {
  test::ScratchDir dir;
  auto tensors = TinyMixtralTensors();
  tensors[5] = Filled("model.layers.0.self_attn.q_proj.weight", {kHeads * kD + 1, kH}, 0.f);
  auto w = LoadFrom(dir, TinyMixtral(), tensors);
  ASSERT_FALSE(w.ok());
  EXPECT_THAT(std::string(w.status().message()),
              AllOf(HasSubstr("model.layers.0.self_attn.q_proj.weight"), HasSubstr("model.safetensors"),
                    HasSubstr("9"), HasSubstr("8")));
}

TEST(ModelWeightsTest, ExtraTensorIsNamed) {
  test::ScratchDir dir;
  auto tensors = TinyMixtralTensors();
  tensors.push_back(Filled("model.layers.1.input_layernorm.weight", {kH}, 1.f));
  auto w = LoadFrom(dir, TinyMixtral(), tensors);
  ASSERT_FALSE(w.ok());
  EXPECT_THAT(std::string(w.status().message()),
              AllOf(HasSubstr("unexpected tensor 'model.layers.1.input_layernorm.weight'"),
                    HasSubstr("model.safetensors")));
}

TEST(ModelWeightsTest, TiedEmbeddingsNeedNoLmHead) {
  test::ScratchDir dir;
  auto tensors = TinyMixtralTensors();
  tensors.erase(tensors.begin() + 2);  // lm_head.weight
  auto w = LoadFrom(dir, TinyMixtral(/*tie=*/true), tensors);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(&(*w)->lm_head(), &(*w)->embed);
  auto untied = LoadFrom(dir, TinyMixtral(/*tie=*/false), tensors);
  ASSERT_FALSE(untied.ok());
  EXPECT_THAT(std::string(untied.status().message()), HasSubstr("lm_head.weight"));
}

TEST(ModelWeightsTest, RandomWeightsAreDeterministic) {
  auto a = RandomWeights(TinyMixtral(), 42);
  auto b = RandomWeights(TinyMixtral(), 42);
  auto c = RandomWeights(TinyMixtral(), 43);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  const HostTensor& ta = (*a)->layers[0].moe.experts_down;
  const HostTensor& tb = (*b)->layers[0].moe.experts_down;
  const HostTensor& tc = (*c)->layers[0].moe.experts_down;
  EXPECT_EQ(0, std::memcmp(ta.data(), tb.data(), ta.nbytes()));
  EXPECT_NE(0, std::memcmp(ta.data(), tc.data(), ta.nbytes()));
  EXPECT_EQ((*a)->layers[0].input_norm.f32()[0], 1.f);
}

}  // namespace
}  // namespace switchyard::engine
