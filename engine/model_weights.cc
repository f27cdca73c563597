#include "engine/model_weights.h"

#include <cstring>
#include <functional>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/checkpoint.h"
#include "common/status_macros.h"

namespace switchyard::engine {
namespace {

// Where tensors come from: a checkpoint or a random generator. Read() writes
// tensor `name` of `shape` into `dst` at element offset `offset`, converting
// to dst's dtype.
class WeightSource {
 public:
  virtual ~WeightSource() = default;
  virtual absl::Status Read(const std::string& name, const std::vector<int64_t>& shape, HostTensor& dst,
                            int64_t offset) = 0;
  virtual absl::Status Finish() = 0;
};

void ConvertInto(DType src_type, const void* src, HostTensor& dst, int64_t offset, int64_t n) {
  if (dst.dtype() == DType::kF32) {
    ConvertToFloat(src_type, src, dst.f32() + offset, n);
    return;
  }
  auto* out = static_cast<uint16_t*>(dst.data()) + offset;
  if (src_type == DType::kBF16) {
    std::memcpy(out, src, n * 2);
    return;
  }
  std::vector<float> tmp(n);
  ConvertToFloat(src_type, src, tmp.data(), n);
  for (int64_t i = 0; i < n; ++i) out[i] = FloatToBF16(tmp[i]);
}

class CheckpointSource : public WeightSource {
 public:
  explicit CheckpointSource(const Checkpoint& ckpt) : ckpt_(ckpt) {}

  absl::Status Read(const std::string& name, const std::vector<int64_t>& shape, HostTensor& dst,
                    int64_t offset) override {
    ASSIGN_OR_RETURN(TensorView t, ckpt_.Require(name, shape));
    used_.insert(name);
    ConvertInto(t.dtype, t.data, dst, offset, t.numel());
    DropResidentPages(t);  // so that the model is resident once, in dst
    return absl::OkStatus();
  }

  // Every tensor in the checkpoint must have been consumed: an extra tensor
  // means the config and the weights disagree (wrong layer count, a missing
  // shared expert, ...), which would otherwise go unnoticed.
  absl::Status Finish() override {
    for (const std::string& name : ckpt_.Names()) {
      if (used_.count(name) || absl::EndsWith(name, "rotary_emb.inv_freq")) continue;
      const TensorView* t = ckpt_.Find(name);
      return absl::InvalidArgumentError(absl::StrCat("unexpected tensor '", name, "' in ", t->file,
                                                     ": the config does not use it"));
    }
    return absl::OkStatus();
  }

  void Skip(const std::string& name) { used_.insert(name); }

 private:
  const Checkpoint& ckpt_;
  std::set<std::string> used_;
};

// Uniform weights with std 0.02 (HF's initializer_range); norm weights 1.
// Each tensor's stream depends only on its name, so the result does not
// depend on load order or thread count.
class RandomSource : public WeightSource {
 public:
  explicit RandomSource(uint64_t seed) : seed_(seed) {}

  absl::Status Read(const std::string& name, const std::vector<int64_t>& shape, HostTensor& dst,
                    int64_t offset) override {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    const bool is_norm = absl::EndsWith(name, "norm.weight");
    const uint64_t tensor_seed = seed_ ^ std::hash<std::string>{}(name);
    constexpr int64_t kChunk = 1 << 16;
    const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < chunks; ++c) {
      uint64_t state = tensor_seed + 0x9E3779B97F4A7C15ull * (c + 1);
      const int64_t begin = c * kChunk, end = std::min(n, begin + kChunk);
      std::vector<float> vals(end - begin);
      for (float& v : vals) {
        // SplitMix64 -> uniform in [-sqrt(3)*0.02, sqrt(3)*0.02).
        state += 0x9E3779B97F4A7C15ull;
        uint64_t z = state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        const float u = static_cast<float>(z >> 40) * (1.0f / 16777216.0f);
        v = is_norm ? 1.0f : (u * 2.0f - 1.0f) * 0.0346410f;
      }
      ConvertInto(DType::kF32, vals.data(), dst, offset + begin, end - begin);
    }
    return absl::OkStatus();
  }
  absl::Status Finish() override { return absl::OkStatus(); }

 private:
  uint64_t seed_;
};

class Builder {
 public:
  Builder(const ModelConfig& c, DType matrix_dtype, WeightSource& src) : c_(c), mdt_(matrix_dtype), src_(src) {}

  absl::StatusOr<std::unique_ptr<ModelWeights>> Build() {
    auto w = std::make_unique<ModelWeights>();
    w->config = c_;
    w->matrix_dtype = mdt_;
    const int64_t V = c_.vocab_size, H = c_.hidden_size;
    ASSIGN_OR_RETURN(w->embed, Matrix("model.embed_tokens.weight", V, H));
    w->layers.resize(c_.num_layers);
    for (int l = 0; l < c_.num_layers; ++l) RETURN_IF_ERROR(Layer(l, w->layers[l]));
    ASSIGN_OR_RETURN(w->final_norm, Vector("model.norm.weight", H));
    if (!c_.tie_word_embeddings) {
      ASSIGN_OR_RETURN(w->lm_head_own, Matrix("lm_head.weight", V, H));
    }
    return w;
  }

 private:
  absl::StatusOr<HostTensor> Matrix(const std::string& name, int64_t rows, int64_t cols) {
    HostTensor t(mdt_, {rows, cols});
    RETURN_IF_ERROR(src_.Read(name, {rows, cols}, t, 0));
    return t;
  }
  absl::StatusOr<HostTensor> Vector(const std::string& name, int64_t n) {
    HostTensor t(DType::kF32, {n});
    RETURN_IF_ERROR(src_.Read(name, {n}, t, 0));
    return t;
  }

  // Reads gate, up and down projections into `gate_up` / `down` at expert slot `e`.
  absl::Status MlpInto(const std::string& gate, const std::string& up, const std::string& down, int64_t I,
                       HostTensor& gate_up, HostTensor& down_t, int64_t e) {
    const int64_t H = c_.hidden_size;
    RETURN_IF_ERROR(src_.Read(gate, {I, H}, gate_up, e * 2 * I * H));
    RETURN_IF_ERROR(src_.Read(up, {I, H}, gate_up, e * 2 * I * H + I * H));
    return src_.Read(down, {H, I}, down_t, e * H * I);
  }

  absl::StatusOr<MlpWeights> Mlp(const std::string& prefix, int64_t I) {
    MlpWeights m{HostTensor(mdt_, {2 * I, c_.hidden_size}), HostTensor(mdt_, {c_.hidden_size, I})};
    RETURN_IF_ERROR(MlpInto(prefix + ".gate_proj.weight", prefix + ".up_proj.weight", prefix + ".down_proj.weight",
                            I, m.gate_up, m.down, 0));
    return m;
  }

  absl::Status Moe(const std::string& p, MoeWeights& m) {
    const int64_t E = c_.num_experts, H = c_.hidden_size, I = c_.expert_intermediate_size;
    ASSIGN_OR_RETURN(m.router, Matrix32(p + ".gate.weight", E, H));
    m.experts_gate_up = HostTensor(mdt_, {E, 2 * I, H});
    m.experts_down = HostTensor(mdt_, {E, H, I});
    for (int64_t e = 0; e < E; ++e) {
      const std::string ep = absl::StrCat(p, ".experts.", e);
      if (c_.arch == Architecture::kMixtral) {
        RETURN_IF_ERROR(MlpInto(ep + ".w1.weight", ep + ".w3.weight", ep + ".w2.weight", I, m.experts_gate_up,
                                m.experts_down, e));
      } else {
        RETURN_IF_ERROR(MlpInto(ep + ".gate_proj.weight", ep + ".up_proj.weight", ep + ".down_proj.weight", I,
                                m.experts_gate_up, m.experts_down, e));
      }
    }
    if (c_.shared_expert_intermediate_size > 0) {
      ASSIGN_OR_RETURN(m.shared_expert, Mlp(p + ".shared_expert", c_.shared_expert_intermediate_size));
      ASSIGN_OR_RETURN(m.shared_expert_gate, Matrix32(p + ".shared_expert_gate.weight", 1, H));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<HostTensor> Matrix32(const std::string& name, int64_t rows, int64_t cols) {
    HostTensor t(DType::kF32, {rows, cols});
    RETURN_IF_ERROR(src_.Read(name, {rows, cols}, t, 0));
    return t;
  }

  absl::Status Layer(int l, LayerWeights& w) {
    const std::string p = absl::StrCat("model.layers.", l);
    const std::string a = p + ".self_attn";
    const int64_t H = c_.hidden_size, Q = c_.q_size(), KV = c_.kv_size();
    ASSIGN_OR_RETURN(w.input_norm, Vector(p + ".input_layernorm.weight", H));
    ASSIGN_OR_RETURN(w.post_attention_norm, Vector(p + ".post_attention_layernorm.weight", H));
    ASSIGN_OR_RETURN(w.q_proj, Matrix(a + ".q_proj.weight", Q, H));
    ASSIGN_OR_RETURN(w.k_proj, Matrix(a + ".k_proj.weight", KV, H));
    ASSIGN_OR_RETURN(w.v_proj, Matrix(a + ".v_proj.weight", KV, H));
    ASSIGN_OR_RETURN(w.o_proj, Matrix(a + ".o_proj.weight", H, Q));
    if (c_.qkv_bias) {
      ASSIGN_OR_RETURN(w.q_bias, Vector(a + ".q_proj.bias", Q));
      ASSIGN_OR_RETURN(w.k_bias, Vector(a + ".k_proj.bias", KV));
      ASSIGN_OR_RETURN(w.v_bias, Vector(a + ".v_proj.bias", KV));
    }
    if (c_.o_bias) {
      ASSIGN_OR_RETURN(w.o_bias, Vector(a + ".o_proj.bias", H));
    }
    if (c_.qk_norm == QkNorm::kPerHead) {
      ASSIGN_OR_RETURN(w.q_norm, Vector(a + ".q_norm.weight", c_.head_dim));
      ASSIGN_OR_RETURN(w.k_norm, Vector(a + ".k_norm.weight", c_.head_dim));
    } else if (c_.qk_norm == QkNorm::kWholeProjection) {
      ASSIGN_OR_RETURN(w.q_norm, Vector(a + ".q_norm.weight", Q));
      ASSIGN_OR_RETURN(w.k_norm, Vector(a + ".k_norm.weight", KV));
    }
    w.is_moe = c_.layer_is_moe[l];
    if (w.is_moe) {
      return Moe(p + (c_.arch == Architecture::kMixtral ? ".block_sparse_moe" : ".mlp"), w.moe);
    }
    ASSIGN_OR_RETURN(w.mlp, Mlp(p + ".mlp", c_.dense_intermediate_size));
    return absl::OkStatus();
  }

  const ModelConfig& c_;
  DType mdt_;
  WeightSource& src_;
};

DType MatrixDTypeFor(DType stored) { return stored == DType::kBF16 ? DType::kBF16 : DType::kF32; }

}  // namespace

size_t ModelWeights::total_bytes() const {
  size_t n = embed.nbytes() + final_norm.nbytes() + lm_head_own.nbytes();
  for (const LayerWeights& l : layers) {
    for (const HostTensor* t : {&l.input_norm, &l.post_attention_norm, &l.q_proj, &l.k_proj, &l.v_proj, &l.o_proj,
                                &l.q_bias, &l.k_bias, &l.v_bias, &l.o_bias, &l.q_norm, &l.k_norm, &l.mlp.gate_up,
                                &l.mlp.down, &l.moe.router, &l.moe.experts_gate_up, &l.moe.experts_down,
                                &l.moe.shared_expert.gate_up, &l.moe.shared_expert.down, &l.moe.shared_expert_gate}) {
      n += t->nbytes();
    }
  }
  return n;
}

absl::StatusOr<std::unique_ptr<ModelWeights>> LoadWeights(const ModelConfig& config, const Checkpoint& checkpoint) {
  const TensorView* embed = checkpoint.Find("model.embed_tokens.weight");
  if (embed == nullptr) {
    return absl::NotFoundError(absl::StrCat("checkpoint in ", checkpoint.dir(),
                                            " has no tensor 'model.embed_tokens.weight'"));
  }
  CheckpointSource src(checkpoint);
  // A tied checkpoint may still carry a copy of the embedding as lm_head.
  if (config.tie_word_embeddings) src.Skip("lm_head.weight");
  Builder builder(config, MatrixDTypeFor(embed->dtype), src);
  ASSIGN_OR_RETURN(auto weights, builder.Build());
  RETURN_IF_ERROR(src.Finish());
  return weights;
}

absl::StatusOr<std::unique_ptr<ModelWeights>> RandomWeights(const ModelConfig& config, uint64_t seed) {
  RandomSource src(seed);
  Builder builder(config, MatrixDTypeFor(config.dtype), src);
  return builder.Build();
}

}  // namespace switchyard::engine
