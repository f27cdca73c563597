// config.json bytes -> JSON -> engine::ParseModelConfig. A config it accepts
// is what the loader sizes every tensor and the server every bound from, so
// each promise of ModelConfig::Validate is checked here again, field by field,
// together with the values read back against the JSON they came from.
#include <cstdint>
#include <string_view>

#include "common/check.h"
#include "engine/model_config.h"
#include "engine/safetensors.h"
#include "nlohmann/json.hpp"

namespace switchyard::engine {
namespace {

using json = nlohmann::json;

// The integer the JSON holds at `key`, when it is one that fits in 64 bits.
bool JsonInt(const json& j, const char* key, int64_t* value) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return false;
  *value = it->get<int64_t>();
  return true;
}

void CheckAccepted(const ModelConfig& c, const json& j) {
  SWITCHYARD_CHECK(c.Validate().ok());
  SWITCHYARD_CHECK(c.vocab_size > 0 && c.hidden_size > 0 && c.num_layers > 0);
  SWITCHYARD_CHECK(c.num_heads > 0 && c.num_kv_heads > 0 && c.num_heads % c.num_kv_heads == 0);
  SWITCHYARD_CHECK(c.head_dim > 0 && c.head_dim % 2 == 0);
  SWITCHYARD_CHECK(int64_t{c.num_heads} * c.head_dim <= INT32_MAX);  // q_size() is an int
  SWITCHYARD_CHECK(c.max_position_embeddings > 0);
  SWITCHYARD_CHECK(c.rms_norm_eps > 0 && c.rope_theta > 0);
  SWITCHYARD_CHECK(static_cast<int>(c.layer_is_moe.size()) == c.num_layers);
  if (c.num_moe_layers() > 0) {
    SWITCHYARD_CHECK(c.num_experts > 0 && c.expert_intermediate_size > 0);
    SWITCHYARD_CHECK(c.top_k >= 1 && c.top_k <= c.num_experts);
  }
  if (c.num_moe_layers() < c.num_layers) SWITCHYARD_CHECK(c.dense_intermediate_size > 0);
  for (int32_t id : c.eos_token_ids) SWITCHYARD_CHECK(id >= 0 && id < c.vocab_size);
  if (c.bos_token_id) SWITCHYARD_CHECK(*c.bos_token_id >= 0 && *c.bos_token_id < c.vocab_size);
  if (c.clip_qkv) SWITCHYARD_CHECK(*c.clip_qkv > 0);

  // Values read back as written: a number silently wrapped or cut to fit
  // would pass the checks above as some other, valid, value.
  SWITCHYARD_CHECK(j["architectures"][0] == c.architecture_name);
  int64_t v = 0;
  SWITCHYARD_CHECK(JsonInt(j, "vocab_size", &v) && v == c.vocab_size);
  SWITCHYARD_CHECK(JsonInt(j, "num_hidden_layers", &v) && v == c.num_layers);
  SWITCHYARD_CHECK(JsonInt(j, "max_position_embeddings", &v) && v == c.max_position_embeddings);
  if (JsonInt(j, "bos_token_id", &v)) SWITCHYARD_CHECK(c.bos_token_id && v == *c.bos_token_id);
  if (auto it = j.find("eos_token_id"); it != j.end() && !it->is_null()) {
    const json eos = it->is_array() ? *it : json::array({*it});
    SWITCHYARD_CHECK(eos.size() == c.eos_token_ids.size());
    for (size_t i = 0; i < eos.size(); ++i) SWITCHYARD_CHECK(eos[i] == c.eos_token_ids[i]);
  }
}

}  // namespace
}  // namespace switchyard::engine

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace switchyard::engine;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // LoadModelConfig parses with plain nlohmann; ParseJsonStrict (the
  // checkpoint's reader) only adds refusals, so what it accepts must be the
  // same value.
  const json lenient = json::parse(text, nullptr, /*allow_exceptions=*/false);
  const absl::StatusOr<json> strict = ParseJsonStrict(text, "config.json");
  if (strict.ok()) {
    SWITCHYARD_CHECK(!lenient.is_discarded() && *strict == lenient);
  } else {
    SWITCHYARD_CHECK(strict.status().code() == absl::StatusCode::kDataLoss);
  }
  if (lenient.is_discarded()) return 0;

  const absl::StatusOr<ModelConfig> config = ParseModelConfig(lenient);
  if (!config.ok()) {
    SWITCHYARD_CHECK(config.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  CheckAccepted(*config, lenient);
  return 0;
}
