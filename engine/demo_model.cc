#include "engine/demo_model.h"

#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

// Both are set by engine/CMakeLists.txt: the install layout (bin/ to
// share/switchyard/demo-model) and the fixture in the source tree.
#ifndef SWITCHYARD_DEMO_MODEL_INSTALL_REL
#error "SWITCHYARD_DEMO_MODEL_INSTALL_REL must be defined (engine/CMakeLists.txt)"
#endif
#ifndef SWITCHYARD_DEMO_MODEL_DIR
#error "SWITCHYARD_DEMO_MODEL_DIR must be defined (engine/CMakeLists.txt)"
#endif

namespace switchyard::engine {

std::vector<std::filesystem::path> DemoModelCandidates(const std::filesystem::path& exe,
                                                       const std::string& installed_relative,
                                                       const std::string& source_tree_dir) {
  std::vector<std::filesystem::path> candidates;
  if (!exe.empty()) candidates.push_back((exe.parent_path() / installed_relative).lexically_normal());
  if (!source_tree_dir.empty()) candidates.emplace_back(source_tree_dir);
  return candidates;
}

absl::StatusOr<std::string> FirstDemoModelDir(const std::vector<std::filesystem::path>& candidates) {
  std::string searched;
  for (const std::filesystem::path& dir : candidates) {
    std::error_code ec;  // an unreadable place counts as absent
    if (std::filesystem::is_regular_file(dir / "config.json", ec)) return dir.string();
    absl::StrAppend(&searched, searched.empty() ? "" : ", ", dir.string());
  }
  return absl::NotFoundError(absl::StrCat("no demo model (a directory with config.json) in ",
                                          searched.empty() ? "(no place to search)" : searched,
                                          "; pass --model DIR"));
}

absl::StatusOr<std::string> DemoModelDir() {
  // /proc/self/exe names the binary itself, through any symlink to it.
  std::error_code ec;
  std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) exe.clear();
  return FirstDemoModelDir(DemoModelCandidates(exe, SWITCHYARD_DEMO_MODEL_INSTALL_REL, SWITCHYARD_DEMO_MODEL_DIR));
}

}  // namespace switchyard::engine
