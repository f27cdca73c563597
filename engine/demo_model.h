// The built-in demo model (the Mixtral fixture of tests/fixtures/mixtral),
// served when no --model is given. A binary finds it wherever it was
// installed or built, so `switchyard serve` works with no arguments in the
// container image as well as in the build tree.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace switchyard::engine {

// The demo model's directory: the first of DemoModelCandidates() for the
// running executable that holds a config.json; NOT_FOUND naming every place
// searched when none does.
absl::StatusOr<std::string> DemoModelDir();

// The places searched, in order, for an executable at `exe` (empty when
// unknown):
//   1. `exe`'s directory joined with `installed_relative` (the copy that
//      `cmake --install` puts in <prefix>/share/switchyard/demo-model beside
//      <prefix>/bin), so an installed binary never reads the source tree;
//   2. `source_tree_dir` (the fixture path baked in at build time, for
//      binaries run from the build tree), when not empty.
std::vector<std::filesystem::path> DemoModelCandidates(const std::filesystem::path& exe,
                                                       const std::string& installed_relative,
                                                       const std::string& source_tree_dir);

// The first candidate that holds a config.json, else NOT_FOUND naming them all.
absl::StatusOr<std::string> FirstDemoModelDir(const std::vector<std::filesystem::path>& candidates);

}  // namespace switchyard::engine
