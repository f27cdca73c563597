// Dense SwiGLU MLP on the CPU: out = down(silu(gate(x)) · up(x)).
#pragma once

#include <cstdint>
#include <vector>

#include "engine/model_weights.h"

namespace switchyard::engine::cpu {

// x [rows, H] -> out [rows, H]; `scratch` is resized as needed.
void MlpForward(const MlpWeights& w, const float* x, int64_t rows, float* out, std::vector<float>& scratch);

}  // namespace switchyard::engine::cpu
