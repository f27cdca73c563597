#include "engine/cuda/cublas_grouped_gemm.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/cuda/cuda_status.h"
#include "common/status_macros.h"

namespace switchyard::engine::cuda {

absl::Status CublasStatus(cublasStatus_t status, const char* what) {
  if (status == CUBLAS_STATUS_SUCCESS) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, ": ", cublasGetStatusName(status), " (", cublasGetStatusString(status), ")"));
}

absl::Status CublasGroupedGemm(cublasHandle_t handle, const CublasGroupedGemmParams& p, cudaStream_t stream) {
  // cuBLAS is column-major: the row-major out_g [m_g, n] is column-major
  // [n, m_g], which is w_g [n, k] (row-major, i.e. column-major kᵀ: op T)
  // times a_g (row-major [m_g, k], column-major [k, m_g]: op N). One group of
  // one problem per expert that received rows; empty experts are skipped.
  const int groups = static_cast<int>(p.offsets.size()) - 1;
  std::vector<int> m, n, k, lda, ldb, ldc, group_size;
  std::vector<float> alpha, beta;
  std::vector<const void*> a_ptrs, b_ptrs;
  std::vector<void*> c_ptrs;
  for (int g = 0; g < groups; ++g) {
    const int rows = p.offsets[g + 1] - p.offsets[g];
    if (rows == 0) continue;
    m.push_back(p.n);
    n.push_back(rows);
    k.push_back(p.k);
    lda.push_back(p.k);
    ldb.push_back(p.k);
    ldc.push_back(p.n);
    group_size.push_back(1);
    alpha.push_back(1.f);
    beta.push_back(0.f);
    a_ptrs.push_back(p.w + static_cast<int64_t>(g) * p.n * p.k);
    b_ptrs.push_back(p.a + static_cast<int64_t>(p.offsets[g]) * p.k);
    c_ptrs.push_back(p.out + static_cast<int64_t>(p.offsets[g]) * p.n);
  }
  const int count = static_cast<int>(m.size());
  if (count == 0) return absl::OkStatus();
  // The pointer arrays live on the device; from pageable memory the copy has
  // read its source before returning, so the vectors may go.
  std::vector<const void*> pointers;
  pointers.insert(pointers.end(), a_ptrs.begin(), a_ptrs.end());
  pointers.insert(pointers.end(), b_ptrs.begin(), b_ptrs.end());
  pointers.insert(pointers.end(), c_ptrs.begin(), c_ptrs.end());
  RETURN_IF_ERROR(CudaStatus(cudaMemcpyAsync(p.device_pointers, pointers.data(), pointers.size() * sizeof(void*),
                                             cudaMemcpyHostToDevice, stream),
                             "grouped GEMM pointer upload"));
  const std::vector<cublasOperation_t> trans_a(count, CUBLAS_OP_T), trans_b(count, CUBLAS_OP_N);
  const auto* const* d_a = reinterpret_cast<const void* const*>(p.device_pointers);
  auto* const* d_c = reinterpret_cast<void* const*>(p.device_pointers + 2 * count);
  RETURN_IF_ERROR(CublasStatus(cublasSetStream(handle, stream), "cublasSetStream"));
  return CublasStatus(cublasGemmGroupedBatchedEx(handle, trans_a.data(), trans_b.data(), m.data(), n.data(), k.data(),
                                                 alpha.data(), d_a, CUDA_R_16BF, lda.data(), d_a + count, CUDA_R_16BF,
                                                 ldb.data(), beta.data(), d_c, CUDA_R_16BF, ldc.data(), count,
                                                 group_size.data(), CUBLAS_COMPUTE_32F),
                      "cublasGemmGroupedBatchedEx");
}

}  // namespace switchyard::engine::cuda
