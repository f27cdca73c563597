// Creating the CUDA backend: a clear error without a device (what runs here
// and in CI), and auto falling back to the CPU.
#include <dlfcn.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/backend.h"
#include "engine/backend_plugin.h"
#include "engine/backend_registry.h"
#include "engine/cuda/cuda_backend.h"
#include "tests/engine/cuda/gpu_test_util.h"

namespace switchyard::engine::cuda {
namespace {

using ::testing::HasSubstr;

TEST(CudaBackendFactoryTest, CreateFailsCleanlyWithoutADevice) {
  auto backend = CudaBackend::Create({});
  if (HasCudaDevice()) {
    ASSERT_TRUE(backend.ok()) << backend.status();
    EXPECT_EQ((*backend)->name(), "cuda");
    return;
  }
  ASSERT_FALSE(backend.ok());
  EXPECT_EQ(backend.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(backend.status().message(), HasSubstr("CUDA device"));
}

TEST(CudaBackendFactoryTest, InvalidConfigIsRejectedBeforeTouchingTheDevice) {
  CudaBackendConfig config;
  config.max_num_tokens = 0;
  EXPECT_EQ(CudaBackend::Create(config).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(CudaBackendFactoryTest, CudaByNameFailsWithAMessageAndAutoFallsBack) {
  if (HasCudaDevice()) GTEST_SKIP() << "a device is present: the plugin may load";
  auto cuda = CreateBackend("cuda", {512, 64});
  ASSERT_FALSE(cuda.ok());
  EXPECT_EQ(cuda.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(cuda.status().message(), HasSubstr("cuda backend unavailable"));
  auto fallback = CreateBackend("auto", {512, 64});
  ASSERT_TRUE(fallback.ok()) << fallback.status();
  EXPECT_EQ((*fallback)->name(), "cpu");
}

// The built plugin loads with all its dependencies resolved, exports the
// entry point of engine/backend_plugin.h with this build's ABI version and
// layout, and its factory answers with a reason when there is no device.
TEST(CudaBackendFactoryTest, PluginLoadsAndItsFactoryAnswers) {
  const std::string path = std::string(SWITCHYARD_BINARY_DIR) + "/libswitchyard_cuda.so";
  void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(lib, nullptr) << dlerror();
  auto entry = reinterpret_cast<SwitchyardBackendPluginFn>(dlsym(lib, kBackendPluginSymbol));
  ASSERT_NE(entry, nullptr);
  const SwitchyardBackendPlugin* plugin = entry();
  ASSERT_NE(plugin, nullptr);
  EXPECT_EQ(plugin->abi_version, kBackendPluginAbiVersion);
  EXPECT_EQ(plugin->interface_layout, BackendInterfaceLayout());
  EXPECT_STREQ(plugin->name, "cuda");
  char error[512] = "";
  const StepCapacity capacity{512, 64};
  std::unique_ptr<Backend> backend(plugin->create(&capacity, error, sizeof error));
  if (HasCudaDevice()) {
    ASSERT_NE(backend, nullptr) << error;
    EXPECT_EQ(backend->name(), "cuda");
    // Sized for what it was asked, which EngineLoop::Create then accepts.
    EXPECT_EQ(backend->step_capacity().max_tokens, 512);
    EXPECT_EQ(backend->step_capacity().max_sequences, 64);
  } else {
    EXPECT_EQ(backend, nullptr);
    EXPECT_THAT(error, HasSubstr("CUDA device"));
  }
}

// A capacity the backend's configuration refuses (more sequences than
// tokens) is refused by the plugin with the configuration's reason, before
// any device is looked for.
TEST(CudaBackendFactoryTest, PluginRefusesAnImpossibleCapacity) {
  const std::string path = std::string(SWITCHYARD_BINARY_DIR) + "/libswitchyard_cuda.so";
  void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(lib, nullptr) << dlerror();
  auto entry = reinterpret_cast<SwitchyardBackendPluginFn>(dlsym(lib, kBackendPluginSymbol));
  ASSERT_NE(entry, nullptr);
  char error[512] = "";
  const StepCapacity capacity{4, 8};
  EXPECT_EQ(entry()->create(&capacity, error, sizeof error), nullptr);
  EXPECT_THAT(error, HasSubstr("max_num_seqs must be in [1, max_num_tokens = 4], got 8"));
}

TEST(CudaBackendFactoryTest, ForwardBeforeLoadIsAnError) {
  SKIP_WITHOUT_GPU();
  auto backend = CudaBackend::Create({});
  ASSERT_TRUE(backend.ok()) << backend.status();
  EXPECT_EQ((*backend)->Forward(Batch{}).status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace switchyard::engine::cuda
