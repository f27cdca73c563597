#include "engine/cuda/weight_layout.h"

#include <cstring>

namespace switchyard::engine::cuda {
namespace {

class LayoutBuilder {
 public:
  explicit LayoutBuilder(WeightLayout& layout) : layout_(layout) {}

  int64_t Matrix(const HostTensor& t) { return Place(t, DType::kBF16); }
  int64_t Vector(const HostTensor& t) { return Place(t, DType::kF32); }

 private:
  int64_t Place(const HostTensor& t, DType dtype) {
    if (t.empty()) return kAbsent;
    const int64_t offset = (layout_.total_bytes + kDeviceAlignment - 1) / kDeviceAlignment * kDeviceAlignment;
    const int64_t bytes = t.numel() * static_cast<int64_t>(DTypeSize(dtype));
    layout_.tensors.push_back({&t, dtype, offset, bytes});
    layout_.total_bytes = offset + bytes;
    return offset;
  }
  WeightLayout& layout_;
};

}  // namespace

WeightLayout PlanWeightLayout(const ModelWeights& weights) {
  WeightLayout layout;
  LayoutBuilder b(layout);
  layout.embed = b.Matrix(weights.embed);
  layout.final_norm = b.Vector(weights.final_norm);
  layout.lm_head = weights.lm_head_own.empty() ? layout.embed : b.Matrix(weights.lm_head_own);
  for (const LayerWeights& w : weights.layers) {
    LayerOffsets o;
    o.input_norm = b.Vector(w.input_norm);
    o.post_attention_norm = b.Vector(w.post_attention_norm);
    o.q_proj = b.Matrix(w.q_proj);
    o.k_proj = b.Matrix(w.k_proj);
    o.v_proj = b.Matrix(w.v_proj);
    o.o_proj = b.Matrix(w.o_proj);
    o.q_bias = b.Vector(w.q_bias);
    o.k_bias = b.Vector(w.k_bias);
    o.v_bias = b.Vector(w.v_bias);
    o.o_bias = b.Vector(w.o_bias);
    o.q_norm = b.Vector(w.q_norm);
    o.k_norm = b.Vector(w.k_norm);
    if (w.is_moe) {
      o.router = b.Vector(w.moe.router);
      o.experts_gate_up = b.Matrix(w.moe.experts_gate_up);
      o.experts_down = b.Matrix(w.moe.experts_down);
      o.shared_gate_up = b.Matrix(w.moe.shared_expert.gate_up);
      o.shared_down = b.Matrix(w.moe.shared_expert.down);
      o.shared_gate = b.Vector(w.moe.shared_expert_gate);
    } else {
      o.mlp_gate_up = b.Matrix(w.mlp.gate_up);
      o.mlp_down = b.Matrix(w.mlp.down);
    }
    layout.layers.push_back(o);
  }
  return layout;
}

std::vector<uint8_t> ConvertForDevice(const HostTensor& t, DType dtype) {
  const int64_t n = t.numel();
  std::vector<uint8_t> out(n * DTypeSize(dtype));
  if (t.dtype() == dtype) {
    std::memcpy(out.data(), t.data(), out.size());
  } else if (dtype == DType::kBF16) {
    std::vector<float> wide(n);
    ConvertToFloat(t.dtype(), t.data(), wide.data(), n);
    auto* dst = reinterpret_cast<uint16_t*>(out.data());
    for (int64_t i = 0; i < n; ++i) dst[i] = FloatToBF16(wide[i]);
  } else {
    ConvertToFloat(t.dtype(), t.data(), reinterpret_cast<float*>(out.data()), n);
  }
  return out;
}

}  // namespace switchyard::engine::cuda
