#include "engine/checkpoint.h"

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/engine/safetensors_writer.h"

namespace switchyard::engine {
namespace {

using test::TestTensor;
using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::IsSupersetOf;

constexpr char kIndex[] = "model.safetensors.index.json";

// An F32 tensor whose bytes depend on its name, so mix-ups show.
TestTensor F32(const std::string& name, std::vector<int64_t> shape) {
  int64_t numel = 1;
  for (int64_t d : shape) numel *= d;
  std::vector<float> values(numel);
  for (int64_t i = 0; i < numel; ++i) values[i] = static_cast<float>(name.size() * 100 + i);
  return {name, "F32", std::move(shape), test::BytesOf(values)};
}

class CheckpointTest : public ::testing::Test {
 protected:
  void WriteShard(const std::string& file, const std::vector<TestTensor>& tensors) {
    test::WriteFile(dir_.File(file), test::SafetensorsBytes(tensors));
  }
  void WriteIndex(std::string_view json) { test::WriteFile(dir_.File(kIndex), json); }

  // Two shards, consistent with their index: the happy path other tests spoil.
  void WriteTwoShards() {
    WriteShard("model-00001-of-00002.safetensors",
               {F32("embed", {4, 2}), F32("layer.0.w", {2, 2})});
    WriteShard("model-00002-of-00002.safetensors", {F32("lm_head", {4, 2})});
    WriteIndex(R"({"metadata": {"total_size": 80}, "weight_map": {
        "embed": "model-00001-of-00002.safetensors",
        "layer.0.w": "model-00001-of-00002.safetensors",
        "lm_head": "model-00002-of-00002.safetensors"}})");
  }

  absl::Status OpenError() {
    auto checkpoint = Checkpoint::Open(dir_.path());
    EXPECT_FALSE(checkpoint.ok());
    return checkpoint.status();
  }

  test::ScratchDir dir_;
};

TEST_F(CheckpointTest, SingleFile) {
  WriteShard("model.safetensors", {F32("b", {2, 3}), F32("a", {}), F32("c", {0})});
  auto checkpoint = Checkpoint::Open(dir_.path());
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  EXPECT_THAT((*checkpoint)->Names(), ElementsAre("a", "b", "c"));
  EXPECT_EQ((*checkpoint)->total_bytes(), 4u * (6 + 1 + 0));
  EXPECT_EQ((*checkpoint)->dir(), dir_.path());
  const TensorView* b = (*checkpoint)->Find("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->file, dir_.File("model.safetensors"));
  EXPECT_EQ((*checkpoint)->Find("d"), nullptr);
}

TEST_F(CheckpointTest, RequireChecksPresenceAndExactShape) {
  WriteShard("model.safetensors", {F32("w", {2, 3}), F32("scalar", {})});
  auto checkpoint = Checkpoint::Open(dir_.path());
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  const Checkpoint& c = **checkpoint;

  auto w = c.Require("w", {2, 3});
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->name, "w");
  EXPECT_EQ(w->nbytes, 24u);
  EXPECT_TRUE(c.Require("scalar", {}).ok());

  auto transposed = c.Require("w", {3, 2});
  EXPECT_EQ(transposed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(transposed.status().message(), HasSubstr("'w'"));
  EXPECT_THAT(transposed.status().message(), HasSubstr(dir_.File("model.safetensors")));
  EXPECT_THAT(transposed.status().message(), HasSubstr("expected shape [3, 2], actual [2, 3]"));
  EXPECT_EQ(c.Require("w", {6}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(c.Require("scalar", {1}).status().code(), absl::StatusCode::kInvalidArgument);

  auto missing = c.Require("nope", {1});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("'nope'"));
  EXPECT_THAT(missing.status().message(), HasSubstr(dir_.path()));
}

TEST_F(CheckpointTest, TwoShards) {
  WriteTwoShards();
  auto checkpoint = Checkpoint::Open(dir_.path());
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  EXPECT_THAT((*checkpoint)->Names(), ElementsAre("embed", "layer.0.w", "lm_head"));
  EXPECT_EQ((*checkpoint)->total_bytes(), 4u * (8 + 4 + 8));
  EXPECT_THAT((*checkpoint)->Find("embed")->file, EndsWith("model-00001-of-00002.safetensors"));
  EXPECT_THAT((*checkpoint)->Find("lm_head")->file, EndsWith("model-00002-of-00002.safetensors"));
  auto head = (*checkpoint)->Require("lm_head", {4, 2});
  ASSERT_TRUE(head.ok()) << head.status();
  float first;
  std::memcpy(&first, head->data, 4);
  EXPECT_EQ(first, 700.0f);  // F32("lm_head") starts at 7 * 100
}

// transformers looks for model.safetensors first; so do we.
TEST_F(CheckpointTest, SingleFileWinsOverIndex) {
  WriteShard("model.safetensors", {F32("only", {1})});
  WriteIndex("not even JSON");
  auto checkpoint = Checkpoint::Open(dir_.path());
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  EXPECT_THAT((*checkpoint)->Names(), ElementsAre("only"));
}

TEST_F(CheckpointTest, MissingShardIsNotFoundNamingIt) {
  WriteTwoShards();
  std::filesystem::remove(dir_.File("model-00002-of-00002.safetensors"));
  absl::Status s = OpenError();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_THAT(s.message(), HasSubstr("names shard model-00002-of-00002.safetensors"));
  EXPECT_THAT(s.message(), HasSubstr(dir_.File(kIndex)));
}

TEST_F(CheckpointTest, TensorMissingFromItsShardIsNotFound) {
  WriteTwoShards();
  WriteShard("model-00002-of-00002.safetensors", {});
  absl::Status s = OpenError();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_THAT(s.message(), HasSubstr("'lm_head'"));
  EXPECT_THAT(s.message(),
              HasSubstr("model-00002-of-00002.safetensors, which does not contain it"));
}

TEST_F(CheckpointTest, TensorInAnotherShardThanIndexed) {
  WriteTwoShards();
  WriteShard("model-00001-of-00002.safetensors", {F32("embed", {4, 2})});
  WriteShard("model-00002-of-00002.safetensors",
             {F32("lm_head", {4, 2}), F32("layer.0.w", {2, 2})});
  absl::Status s = OpenError();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(s.message(), HasSubstr("'layer.0.w' to model-00001-of-00002.safetensors"));
  EXPECT_THAT(s.message(),
              HasSubstr("but it is in " + dir_.File("model-00002-of-00002.safetensors")));
}

TEST_F(CheckpointTest, SameTensorInTwoShards) {
  WriteTwoShards();
  WriteShard("model-00002-of-00002.safetensors", {F32("lm_head", {4, 2}), F32("embed", {4, 2})});
  absl::Status s = OpenError();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(s.message(), HasSubstr("'embed' is in both"));
  EXPECT_THAT(s.message(), HasSubstr(dir_.File("model-00001-of-00002.safetensors")));
  EXPECT_THAT(s.message(), HasSubstr(dir_.File("model-00002-of-00002.safetensors")));
}

TEST_F(CheckpointTest, TensorMissingFromIndex) {
  WriteTwoShards();
  WriteShard("model-00002-of-00002.safetensors", {F32("lm_head", {4, 2}), F32("stray", {1})});
  absl::Status s = OpenError();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(s.message(), HasSubstr("'stray'"));
  EXPECT_THAT(s.message(), HasSubstr("does not list"));
}

TEST_F(CheckpointTest, CorruptShardNamesShardAndFile) {
  WriteTwoShards();
  test::WriteFile(dir_.File("model-00002-of-00002.safetensors"), "short");
  absl::Status s = OpenError();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(s.message(), HasSubstr(dir_.File("model-00002-of-00002.safetensors")));
}

TEST_F(CheckpointTest, UnsupportedDtypeInShardIsInvalidArgument) {
  WriteTwoShards();
  WriteShard("model-00002-of-00002.safetensors", {{"lm_head", "I64", {1}, std::string(8, '\0')}});
  absl::Status s = OpenError();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(s.message(), HasSubstr("'lm_head' has dtype I64"));
}

TEST_F(CheckpointTest, MalformedIndex) {
  WriteShard("s.safetensors", {F32("a", {1})});
  for (const char* index : {
           "",
           "{\"weight_map\": {\"a\": \"s.safetensors\"}",  // truncated
           "[]",
           "{}",
           R"({"weight_map": ["s.safetensors"]})",
           R"({"weight_map": {"a": 3}})",
           R"({"weight_map": {"a": ""}})",
           R"({"weight_map": {"a": "../s.safetensors"}})",
           R"({"weight_map": {"a": "/etc/passwd"}})",
           R"({"weight_map": {"a": ".."}})",
           R"({"weight_map": {"a": "s.safetensors\u0000x"}})",
           R"({"weight_map": {"a": "s.safetensors", "a": "t.safetensors"}})",
       }) {
    SCOPED_TRACE(index);
    WriteIndex(index);
    absl::Status s = OpenError();
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
    EXPECT_THAT(s.message(), HasSubstr(dir_.File(kIndex)));
  }
}

TEST_F(CheckpointTest, NoWeightsIsNotFoundNamingTheDirectory) {
  test::WriteFile(dir_.File("config.json"), "{}");
  test::WriteFile(dir_.File("pytorch_model.bin"), "pickle");
  absl::Status s = OpenError();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_THAT(s.message(), HasSubstr("no weights in " + dir_.path()));
  EXPECT_THAT(s.message(), HasSubstr("model.safetensors"));
}

TEST_F(CheckpointTest, MissingDirectoryIsNotFound) {
  const std::string absent = dir_.File("absent");
  auto checkpoint = Checkpoint::Open(absent);
  EXPECT_EQ(checkpoint.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(checkpoint.status().message(), HasSubstr(absent));
}

// Every model directory under tests/fixtures (written by transformers'
// save_pretrained, some of them sharded): the reader must agree with the
// reference writer, not only with ours.
TEST(CheckpointFixtures, OpenTransformersOutput) {
  namespace fs = std::filesystem;
  const fs::path fixtures = fs::path(SWITCHYARD_SOURCE_DIR) / "tests/fixtures";
  std::error_code ec;
  std::vector<std::string> opened;
  for (const fs::directory_entry& entry : fs::directory_iterator(fixtures, ec)) {
    if (!fs::exists(entry.path() / "config.json")) continue;
    SCOPED_TRACE(entry.path().string());
    auto checkpoint = Checkpoint::Open(entry.path().string());
    ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
    EXPECT_FALSE((*checkpoint)->Names().empty());
    EXPECT_GT((*checkpoint)->total_bytes(), 0u);
    opened.push_back(entry.path().filename().string());
  }
  ASSERT_FALSE(ec) << fixtures << ": " << ec.message();
  // The fixtures are committed (tests/fixtures/README.md): a missing one is a
  // failure, not a test that checked nothing.
  EXPECT_THAT(opened, IsSupersetOf({"mixtral", "olmoe", "qwen2_moe", "qwen3_moe"})) << "under " << fixtures;
}

}  // namespace
}  // namespace switchyard::engine
