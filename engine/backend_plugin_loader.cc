#include "engine/backend_plugin_loader.h"

#include <dlfcn.h>

#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/backend_plugin.h"

namespace switchyard::engine {
namespace {

// A bare file name is looked for beside the binary (the build directory),
// then on the loader's search path; a path is opened as it is. The library
// stays loaded for the life of the process: its backends' code lives there.
void* OpenLibrary(const std::string& library, std::string* error) {
  if (library.find('/') == std::string::npos) {
    std::error_code ec;
    const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) {
      const std::string beside = (exe.parent_path() / library).string();
      if (void* lib = dlopen(beside.c_str(), RTLD_NOW | RTLD_LOCAL)) return lib;
      // Present but unloadable (a missing libcudart, say) is worth reporting.
      if (std::filesystem::exists(beside)) *error = dlerror();
    }
  }
  if (void* lib = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL)) return lib;
  if (error->empty()) *error = dlerror();
  return nullptr;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Backend>> LoadBackendPlugin(std::string_view name, const std::string& library,
                                                           const StepCapacity& capacity) {
  const std::string unavailable = std::string(name) + " backend unavailable: ";
  std::string open_error;
  void* lib = OpenLibrary(library, &open_error);
  if (lib == nullptr) return absl::FailedPreconditionError(absl::StrCat(unavailable, "cannot load ", library, ": ", open_error));
  auto entry = reinterpret_cast<SwitchyardBackendPluginFn>(dlsym(lib, kBackendPluginSymbol));
  if (entry == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(unavailable, library, " is not a Switchyard backend plugin: it exports no ",
                                                      kBackendPluginSymbol));
  }
  const SwitchyardBackendPlugin* plugin = entry();
  if (plugin == nullptr || plugin->abi_version != kBackendPluginAbiVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat(unavailable, library, " was built for backend plugin ABI version ",
                     plugin == nullptr ? std::string("(none)") : absl::StrCat(plugin->abi_version),
                     "; this binary needs version ", kBackendPluginAbiVersion,
                     ": build the plugin and the server from the same source"));
  }
  if (plugin->interface_layout != BackendInterfaceLayout()) {
    return absl::FailedPreconditionError(
        absl::StrCat(unavailable, library, " lays out the backend interface differently (layout ", plugin->interface_layout,
                     ", this binary's ", BackendInterfaceLayout(), ") under the same ABI version ",
                     kBackendPluginAbiVersion, ": build the plugin and the server from the same source"));
  }
  char error[512] = "";
  Backend* backend = plugin->create(&capacity, error, sizeof error);
  if (backend == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(unavailable, error));
  }
  return std::unique_ptr<Backend>(backend);
}

}  // namespace switchyard::engine
