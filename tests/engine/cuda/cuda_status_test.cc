// CUDA errors as statuses: no device is needed, only the runtime's error names.
#include "engine/cuda/cuda_status.h"

#include <gtest/gtest.h>

#include "engine/backend.h"

namespace switchyard::engine::cuda {
namespace {

TEST(CudaStatusTest, SuccessIsOk) { EXPECT_TRUE(CudaStatus(cudaSuccess, "copy").ok()); }

TEST(CudaStatusTest, OutOfMemoryIsResourceExhaustedAndRecoverable) {
  const absl::Status st = CudaStatus(cudaErrorMemoryAllocation, "cudaMalloc of the KV cache");
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(st.message().find("cudaMalloc of the KV cache: cudaErrorMemoryAllocation"), absl::string_view::npos) << st;
  EXPECT_FALSE(IsUnrecoverable(st));
}

TEST(CudaStatusTest, StickyErrorsAreMarkedUnrecoverable) {
  for (const cudaError_t error : {cudaErrorIllegalAddress, cudaErrorLaunchFailure, cudaErrorECCUncorrectable,
                                  cudaErrorNoDevice, cudaErrorAssert}) {
    const absl::Status st = CudaStatus(error, "grouped_gemm");
    EXPECT_EQ(st.code(), absl::StatusCode::kInternal) << st;
    EXPECT_TRUE(IsUnrecoverable(st)) << st;
  }
}

TEST(CudaStatusTest, ABadLaunchConfigurationIsRecoverable) {
  const absl::Status st = CudaStatus(cudaErrorInvalidConfiguration, "rms_norm");
  EXPECT_EQ(st.code(), absl::StatusCode::kInternal);
  EXPECT_FALSE(IsUnrecoverable(st));
}

}  // namespace
}  // namespace switchyard::engine::cuda
