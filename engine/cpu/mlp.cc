#include "engine/cpu/mlp.h"

#include "engine/cpu/matmul.h"
#include "engine/cpu/ops.h"

namespace switchyard::engine::cpu {

void MlpForward(const MlpWeights& w, const float* x, int64_t rows, float* out, std::vector<float>& scratch) {
  const int64_t inter = w.down.dim(1);
  scratch.resize(rows * 3 * inter);
  float* gate_up = scratch.data();
  float* act = gate_up + rows * 2 * inter;
  MatMul(x, rows, WeightView::Of(w.gate_up), gate_up);
  SiluMul(gate_up, rows, inter, act);
  MatMul(act, rows, WeightView::Of(w.down), out);
}

}  // namespace switchyard::engine::cpu
