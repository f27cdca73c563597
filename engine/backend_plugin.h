// The C entry point of a backend plugin: a shared library that the engine
// loads at run time (libswitchyard_cuda.so), so that the server binary never
// links the plugin's own dependencies (cuBLAS, the CUDA runtime).
//
// A plugin exports one symbol, `switchyard_backend_plugin`, a function that
// returns a SwitchyardBackendPlugin. The engine and the plugin share C++
// types (Backend and what it takes and returns), which only work when both
// were built from the same interface, so the loader checks, before calling
// anything else, the plugin's ABI version (the struct's first field, whose
// place never changes) and the layout of those types as the plugin's build
// saw them, and refuses a plugin that differs, naming both.
//
// Bump kBackendPluginAbiVersion with every change to what a plugin shares
// with the engine: Backend, Batch, SequenceSlice, ForwardResult, ModelConfig,
// ModelWeights, KvCacheConfig, StepCapacity, MemoryReport, or this struct. The layout check
// catches a size change that forgot the bump.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "engine/backend.h"

namespace switchyard::engine {

inline constexpr uint32_t kBackendPluginAbiVersion = 2;
inline constexpr char kBackendPluginSymbol[] = "switchyard_backend_plugin";

// FNV-1a over the sizes of the shared types (and of std::string and
// absl::Status, which they hold: another standard library shows here).
constexpr uint64_t BackendInterfaceLayout() {
  uint64_t hash = 14695981039346656037ull;
  for (const uint64_t size : {sizeof(Backend), sizeof(Batch), sizeof(SequenceSlice), sizeof(ForwardResult),
                              sizeof(ModelConfig), sizeof(ModelWeights), sizeof(KvCacheConfig),
                              sizeof(StepCapacity), sizeof(MemoryReport), sizeof(std::string), sizeof(absl::Status)}) {
    hash = (hash ^ size) * 1099511628211ull;
  }
  return hash;
}

}  // namespace switchyard::engine

extern "C" {

struct SwitchyardBackendPlugin {
  uint32_t abi_version;       // kBackendPluginAbiVersion of the plugin's build: always first
  uint64_t interface_layout;  // BackendInterfaceLayout() of the plugin's build
  const char* name;           // the backend's name, as --backend spells it
  // A new backend (the caller owns it) that runs steps of up to `capacity`
  // (the scheduler's budget), or nullptr with the reason (no device, wrong
  // architecture, a capacity it cannot hold) written to `error`,
  // NUL-terminated, at most `error_size` bytes.
  switchyard::engine::Backend* (*create)(const switchyard::engine::StepCapacity* capacity, char* error,
                                         size_t error_size);
};

using SwitchyardBackendPluginFn = const SwitchyardBackendPlugin* (*)();

}  // extern "C"
