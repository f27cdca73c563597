#include "engine/demo_model.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace switchyard::engine {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr const char* kInstalledRel = "../share/switchyard/demo-model";

// A scratch tree per test: <root>/prefix/bin, and model directories made on demand.
class DemoModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(::testing::TempDir()) /
            ("demo_model_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "prefix/bin");
  }
  void TearDown() override { fs::remove_all(root_); }

  fs::path Exe() const { return root_ / "prefix/bin/switchyard"; }
  fs::path Installed() const { return root_ / "prefix/share/switchyard/demo-model"; }
  fs::path Source() const { return root_ / "src/tests/fixtures/mixtral"; }
  static void MakeModel(const fs::path& dir, const char* file = "config.json") {
    fs::create_directories(dir);
    std::ofstream(dir / file) << "{}";
  }

  fs::path root_;
};

TEST_F(DemoModelTest, SearchesBesideTheExecutableFirstThenTheSourceTree) {
  EXPECT_THAT(DemoModelCandidates("/opt/sy/bin/switchyard", kInstalledRel, "/src/tests/fixtures/mixtral"),
              ElementsAre(fs::path("/opt/sy/share/switchyard/demo-model"), fs::path("/src/tests/fixtures/mixtral")));
  EXPECT_THAT(DemoModelCandidates("", kInstalledRel, "/src/m"), ElementsAre(fs::path("/src/m")));
  EXPECT_THAT(DemoModelCandidates("/usr/bin/switchyard", kInstalledRel, ""),
              ElementsAre(fs::path("/usr/share/switchyard/demo-model")));
}

TEST_F(DemoModelTest, TheInstalledCopyWinsOverTheSourceTree) {
  MakeModel(Installed());
  MakeModel(Source());
  auto dir = FirstDemoModelDir(DemoModelCandidates(Exe(), kInstalledRel, Source().string()));
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_EQ(*dir, Installed().string());
}

TEST_F(DemoModelTest, FallsBackToTheSourceTree) {
  MakeModel(Source());
  // A directory without config.json is not a model.
  MakeModel(Installed(), "tokenizer.json");
  auto dir = FirstDemoModelDir(DemoModelCandidates(Exe(), kInstalledRel, Source().string()));
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_EQ(*dir, Source().string());
}

TEST_F(DemoModelTest, NoneFoundNamesEveryPlaceSearched) {
  auto dir = FirstDemoModelDir(DemoModelCandidates(Exe(), kInstalledRel, Source().string()));
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(dir.status().message()),
              AllOf(HasSubstr(Installed().string()), HasSubstr(Source().string()), HasSubstr("--model")));
}

// This test binary runs from the build tree, where nothing is installed
// beside it: the demo model is the source tree's fixture.
TEST(DemoModelDirTest, BuildTreeBinaryUsesTheSourceFixture) {
  auto dir = DemoModelDir();
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_EQ(fs::path(*dir), fs::path(SWITCHYARD_SOURCE_DIR) / "tests/fixtures/mixtral");
}

}  // namespace
}  // namespace switchyard::engine
