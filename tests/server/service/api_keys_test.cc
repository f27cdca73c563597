#include "server/service/api_keys.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <string>

namespace switchyard::server {
namespace {

ApiKeys MustParse(const std::string& text) {
  absl::StatusOr<ApiKeys> keys = ApiKeys::Parse(text, "keys.txt");
  EXPECT_TRUE(keys.ok()) << keys.status();
  return *std::move(keys);
}

// Client metadata as the server sees it; the strings outlive the map.
class Metadata {
 public:
  Metadata& Add(const std::string& key, const std::string& value) {
    keys_.push_back(key);
    values_.push_back(value);
    return *this;
  }
  std::multimap<grpc::string_ref, grpc::string_ref> map() const {
    std::multimap<grpc::string_ref, grpc::string_ref> m;
    for (size_t i = 0; i < keys_.size(); ++i) m.emplace(keys_[i], values_[i]);
    return m;
  }

 private:
  std::vector<std::string> keys_, values_;
};

TEST(ApiKeysTest, OneKeyPerLineSkippingBlanksAndComments) {
  const ApiKeys keys = MustParse("# team A\n  alpha-key  \n\n\tbeta-key\r\n# beta-key-old\n");
  EXPECT_EQ(keys.size(), 2u);
  EXPECT_TRUE(keys.Contains("alpha-key"));
  EXPECT_TRUE(keys.Contains("beta-key"));
  EXPECT_FALSE(keys.Contains("beta-key-old"));
  EXPECT_FALSE(keys.Contains("# team A"));
}

TEST(ApiKeysTest, FileWithoutKeysIsAnError) {
  for (const std::string text : {"", "\n\n", "# only a comment\n   \n"}) {
    absl::StatusOr<ApiKeys> keys = ApiKeys::Parse(text, "keys.txt");
    ASSERT_FALSE(keys.ok()) << text;
    EXPECT_EQ(keys.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(keys.status().message().find("keys.txt holds no key"), absl::string_view::npos) << keys.status();
  }
}

TEST(ApiKeysTest, LoadsAFileAndNamesAMissingOne) {
  const std::string path = testing::TempDir() + "/api_keys_test_" + std::to_string(getpid());
  std::ofstream(path) << "secret-1\n";
  absl::StatusOr<ApiKeys> keys = ApiKeys::LoadFile(path);
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_TRUE(keys->Contains("secret-1"));
  std::remove(path.c_str());
  keys = ApiKeys::LoadFile(path);
  ASSERT_FALSE(keys.ok());
  EXPECT_NE(keys.status().message().find("API key file " + path), absl::string_view::npos) << keys.status();
}

TEST(ApiKeysTest, OnlyAnExactMatchCounts) {
  const ApiKeys keys = MustParse("correct-horse\nbattery-staple\n");
  EXPECT_TRUE(keys.Contains("correct-horse"));
  EXPECT_TRUE(keys.Contains("battery-staple"));  // not only the first key
  EXPECT_FALSE(keys.Contains(""));
  EXPECT_FALSE(keys.Contains("correct"));                // a prefix
  EXPECT_FALSE(keys.Contains("correct-horse-battery"));  // longer
  EXPECT_FALSE(keys.Contains("Correct-horse"));          // case matters
  EXPECT_FALSE(keys.Contains("correct-horsf"));          // last byte
  // The key repeated: the comparison wraps around the key, and must still
  // see the length differ.
  EXPECT_FALSE(keys.Contains("correct-horsecorrect-horse"));
}

TEST(ApiKeysTest, CheckWantsABearerKeyAndSaysHowToSendOne) {
  const ApiKeys keys = MustParse("s3cret\n");
  absl::Status none = keys.Check(Metadata().Add("x-other", "s3cret").map());
  EXPECT_EQ(none.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(none.message().find("authorization: Bearer <key>"), absl::string_view::npos) << none;

  absl::Status scheme = keys.Check(Metadata().Add("authorization", "Basic s3cret").map());
  EXPECT_EQ(scheme.code(), absl::StatusCode::kUnauthenticated);

  absl::Status wrong = keys.Check(Metadata().Add("authorization", "Bearer s3cre7").map());
  EXPECT_EQ(wrong.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(wrong.message().find("s3cre"), absl::string_view::npos) << "keys never in messages: " << wrong;

  EXPECT_TRUE(keys.Check(Metadata().Add("authorization", "Bearer s3cret").map()).ok());
  EXPECT_TRUE(keys.Check(Metadata().Add("authorization", "bearer s3cret").map()).ok());
}

}  // namespace
}  // namespace switchyard::server
