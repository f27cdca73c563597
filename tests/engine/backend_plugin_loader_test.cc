// The plugin loader refuses what it cannot trust: a library that is not
// there, one without the entry point, one built for another ABI version or
// interface layout (both versions named), and passes on a plugin's reason
// for making no backend. The fake plugins are tests/engine/plugin/.
#include "engine/backend_plugin_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "engine/backend_plugin.h"

namespace switchyard::engine {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr StepCapacity kCapacity{512, 64};

std::string FakePlugin(const std::string& name) {
  return std::string(SWITCHYARD_BINARY_DIR) + "/tests/libswitchyard_fake_plugin_" + name + ".so";
}

TEST(BackendPluginLoaderTest, AMissingLibraryIsNamed) {
  auto backend = LoadBackendPlugin("fake", "/nonexistent/libswitchyard_none.so", kCapacity);
  ASSERT_FALSE(backend.ok());
  EXPECT_EQ(backend.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(backend.status().message(), HasSubstr("fake backend unavailable: cannot load /nonexistent/libswitchyard_none.so"));
}

TEST(BackendPluginLoaderTest, ALibraryWithoutTheEntryPointIsNoPlugin) {
  auto backend = LoadBackendPlugin("fake", "libm.so.6", kCapacity);
  ASSERT_FALSE(backend.ok());
  EXPECT_THAT(backend.status().message(), HasSubstr("libm.so.6 is not a Switchyard backend plugin"));
}

TEST(BackendPluginLoaderTest, AnotherAbiVersionIsRefusedNamingBoth) {
  auto backend = LoadBackendPlugin("fake", FakePlugin("old_abi"), kCapacity);
  ASSERT_FALSE(backend.ok());
  EXPECT_EQ(backend.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(backend.status().message(),
              AllOf(HasSubstr(absl::StrCat("built for backend plugin ABI version ", kBackendPluginAbiVersion - 1, ";")),
                    HasSubstr(absl::StrCat("this binary needs version ", kBackendPluginAbiVersion))));
}

TEST(BackendPluginLoaderTest, AnotherLayoutUnderTheSameVersionIsRefused) {
  auto backend = LoadBackendPlugin("fake", FakePlugin("other_layout"), kCapacity);
  ASSERT_FALSE(backend.ok());
  EXPECT_THAT(backend.status().message(),
              AllOf(HasSubstr("lays out the backend interface differently (layout 42"),
                    HasSubstr(absl::StrCat("this binary's ", BackendInterfaceLayout()))));
}

// The plugin hears the capacity asked for (its message repeats it).
TEST(BackendPluginLoaderTest, AMatchingPluginIsAskedForTheCapacityAndItsReasonPassedOn) {
  auto backend = LoadBackendPlugin("fake", FakePlugin("current"), kCapacity);
  ASSERT_FALSE(backend.ok());
  EXPECT_EQ(backend.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(backend.status().message(), "fake backend unavailable: the fake plugin makes no backend of 512 tokens and 64 sequences per step");
}

}  // namespace
}  // namespace switchyard::engine
