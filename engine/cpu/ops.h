// Elementwise and row-wise operations of the forward pass, float32.
#pragma once

#include <cstdint>

namespace switchyard::engine::cpu {

// out[r] = x[r] / sqrt(mean(x[r]²) + eps) · weight, for `rows` rows of `n`
// (row stride `n`); out may alias x.
void RmsNorm(const float* x, const float* weight, int64_t rows, int64_t n, float eps, float* out);

// x[r, :] += bias for `rows` rows of `n`.
void AddBias(float* x, const float* bias, int64_t rows, int64_t n);

// Clamps every element to [-limit, limit] (OLMoE's clip_qkv).
void Clamp(float* x, int64_t n, float limit);

// Rotary embedding, Hugging Face "rotate_half" layout: within each head of
// `head_dim`, element i pairs with i + head_dim/2 and rotates by
// position · theta^(-2i/head_dim). `x` is [tokens, num_heads·head_dim].
void ApplyRope(float* x, const int32_t* positions, int64_t tokens, int32_t num_heads, int32_t head_dim, double theta);

// gate_up is [rows, 2·inter] (gate then up); out[r, i] = silu(gate) · up.
void SiluMul(const float* gate_up, int64_t rows, int64_t inter, float* out);

}  // namespace switchyard::engine::cpu
