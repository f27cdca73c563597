#include "engine/backend.h"

#include <dlfcn.h>

#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/cpu/cpu_backend.h"
#include "spdlog/spdlog.h"

namespace switchyard::engine {
namespace {

// The CUDA backend library exports this factory; it returns nullptr and fills
// `error` when no usable device is present.
using CreateCudaBackendFn = Backend* (*)(std::string* error);
constexpr const char* kCudaLibrary = "libswitchyard_cuda.so";
constexpr const char* kCudaFactory = "SwitchyardCreateCudaBackend";

// The library built beside the binary (the build directory) comes first,
// then the loader's search path: the binary's RUNPATH (an install's
// lib/switchyard/, $ORIGIN/../lib/switchyard), LD_LIBRARY_PATH, ldconfig.
void* OpenCudaLibrary(std::string* error) {
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const std::string beside = (exe.parent_path() / kCudaLibrary).string();
    if (void* lib = dlopen(beside.c_str(), RTLD_NOW | RTLD_LOCAL)) return lib;
    // Present but unloadable (a missing libcudart, say) is worth reporting.
    if (std::filesystem::exists(beside)) *error = dlerror();
  }
  if (void* lib = dlopen(kCudaLibrary, RTLD_NOW | RTLD_LOCAL)) return lib;
  if (error->empty()) *error = dlerror();
  return nullptr;
}

absl::StatusOr<std::unique_ptr<Backend>> LoadCudaBackend() {
  std::string open_error;
  void* lib = OpenCudaLibrary(&open_error);
  if (lib == nullptr) return absl::FailedPreconditionError(absl::StrCat("CUDA backend unavailable: ", open_error));
  auto create = reinterpret_cast<CreateCudaBackendFn>(dlsym(lib, kCudaFactory));
  if (create == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(kCudaLibrary, " does not export ", kCudaFactory));
  }
  std::string error;
  Backend* backend = create(&error);
  if (backend == nullptr) return absl::FailedPreconditionError(absl::StrCat("CUDA backend unavailable: ", error));
  return std::unique_ptr<Backend>(backend);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Backend>> CreateBackend(std::string_view name) {
  if (name == "cpu") return std::unique_ptr<Backend>(new CpuBackend());
  if (name == "cuda") return LoadCudaBackend();
  if (name == "auto") {
    absl::StatusOr<std::unique_ptr<Backend>> cuda = LoadCudaBackend();
    if (cuda.ok()) return cuda;
    spdlog::info("backend auto: using cpu ({})", cuda.status().ToString());
    return std::unique_ptr<Backend>(new CpuBackend());
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown backend '", std::string(name), "'; supported: cpu, cuda, auto"));
}

}  // namespace switchyard::engine
