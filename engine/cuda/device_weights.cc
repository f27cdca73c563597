#include "engine/cuda/device_weights.h"

#include <cuda_runtime_api.h>

#include "engine/cuda/cuda_status.h"
#include "common/status_macros.h"

namespace switchyard::engine::cuda {
namespace {

template <typename T>
const T* At(const DeviceBuffer& memory, int64_t offset) {
  return offset == kAbsent ? nullptr : memory.at<const T>(offset);
}

}  // namespace

absl::StatusOr<DeviceWeights> UploadWeights(const ModelWeights& weights, const WeightLayout& layout) {
  DeviceWeights d;
  ASSIGN_OR_RETURN(d.memory, DeviceBuffer::Allocate(layout.total_bytes));
  // One tensor at a time, so the host holds at most one converted copy.
  for (const TensorPlacement& t : layout.tensors) {
    const std::vector<uint8_t> bytes = ConvertForDevice(*t.source, t.dtype);
    RETURN_IF_ERROR(CudaStatus(cudaMemcpy(d.memory.at<char>(t.offset), bytes.data(), bytes.size(), cudaMemcpyHostToDevice),
                               "weight upload"));
  }
  const DeviceBuffer& m = d.memory;
  d.embed = At<__nv_bfloat16>(m, layout.embed);
  d.lm_head = At<__nv_bfloat16>(m, layout.lm_head);
  d.final_norm = At<float>(m, layout.final_norm);
  for (const LayerOffsets& o : layout.layers) {
    d.layers.push_back(DeviceLayer{
        At<float>(m, o.input_norm), At<float>(m, o.post_attention_norm),
        At<__nv_bfloat16>(m, o.q_proj), At<__nv_bfloat16>(m, o.k_proj), At<__nv_bfloat16>(m, o.v_proj),
        At<__nv_bfloat16>(m, o.o_proj),
        At<float>(m, o.q_bias), At<float>(m, o.k_bias), At<float>(m, o.v_bias), At<float>(m, o.o_bias),
        At<float>(m, o.q_norm), At<float>(m, o.k_norm),
        At<__nv_bfloat16>(m, o.mlp_gate_up), At<__nv_bfloat16>(m, o.mlp_down),
        At<float>(m, o.router),
        At<__nv_bfloat16>(m, o.experts_gate_up), At<__nv_bfloat16>(m, o.experts_down),
        At<__nv_bfloat16>(m, o.shared_gate_up), At<__nv_bfloat16>(m, o.shared_down),
        At<float>(m, o.shared_gate)});
  }
  return d;
}

}  // namespace switchyard::engine::cuda
