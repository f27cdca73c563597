// The BF16 matrix-product kernels behind MatMulColumns (matmul.h), one per
// instruction set, chosen at run time by what the processor reports
// (ActiveBf16Kernel): a binary built for x86-64-v3 runs everywhere AVX2 does
// and uses AVX-512 where it is present.
//
// Every kernel computes C[r, n] = Σ_i A[r, i] · W[n, i] for r < m and n in
// [n_begin, n_end), W BF16 [*, k] row-major, in f32 arithmetic. BF16 weights
// are widened in registers: a 32-bit lane holding a pair of weights, shifted
// left by 16, is the even-indexed weight as a float, and masked to its high
// half the odd-indexed one. A is therefore prepared to match (SplitEvenOdd):
// each chunk of `chunk` floats of a row becomes its even then its odd
// elements; the tail past the last whole chunk keeps its order. Rows are
// taken in register blocks, so each widened weight vector serves every row of
// the block, and each weight is read from memory once per block of rows.
#pragma once

#include <cstdint>

namespace switchyard::engine::cpu {

using Bf16KernelFn = void (*)(const float* a_split, int64_t lda, int64_t m, const uint16_t* w, int64_t k,
                              int64_t n_begin, int64_t n_end, float* c, int64_t ldc);

struct Bf16Kernel {
  const char* isa;  // "avx2" | "avx512"
  int64_t chunk;    // the even/odd split width A must be prepared with
  Bf16KernelFn run;
};

Bf16Kernel Bf16KernelAvx2();
// AVX-512F + BW; only to be run where the processor has them.
Bf16Kernel Bf16KernelAvx512();

// The best kernel this processor runs, decided once. SWITCHYARD_CPU_ISA=avx2
// pins the AVX2 kernel (to compare the two, or to test it on an AVX-512
// machine); an ISA the processor lacks is never chosen.
const Bf16Kernel& ActiveBf16Kernel();

// A's rows split for `chunk` (see above) into out [m, k].
void SplitEvenOdd(const float* a, int64_t lda, int64_t m, int64_t k, int64_t chunk, float* out);

}  // namespace switchyard::engine::cpu
