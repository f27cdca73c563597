// The mains' flag spelling: dashes for underscores in flag names, and
// --no-name for absl's --noname on bool flags only.
#include "common/flag_spelling.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"

ABSL_FLAG(bool, spelling_cache, true, "a bool flag, true by default");
ABSL_FLAG(int32_t, spelling_count, 1, "not a bool flag");
ABSL_FLAG(bool, spelling_thing, false, "a bool flag with a flag named no_ + its name");
ABSL_FLAG(bool, no_spelling_thing, false, "a flag whose own name starts with no_");

namespace switchyard {
namespace {

// argv after AcceptDashedFlags, without the program name.
std::vector<std::string> Rewritten(const std::vector<std::string>& args) {
  std::vector<std::string> storage = {"prog"};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& s : storage) argv.push_back(s.data());
  AcceptDashedFlags(static_cast<int>(argv.size()), argv.data());
  return std::vector<std::string>(argv.begin() + 1, argv.end());  // up to each NUL: a rewrite may shorten
}

TEST(FlagSpellingTest, DashesInNamesBecomeUnderscores) {
  EXPECT_EQ(Rewritten({"--spelling-count=3", "--spelling-count", "x-y", "-spelling-count", "--a-b=c-d"}),
            (std::vector<std::string>{"--spelling_count=3", "--spelling_count", "x-y", "-spelling-count",
                                      "--a_b=c-d"}));
}

TEST(FlagSpellingTest, NoDashNameIsAbslsNegativeFormOfABoolFlag) {
  EXPECT_EQ(Rewritten({"--no-spelling-cache", "--no_spelling_cache", "--nospelling_cache"}),
            (std::vector<std::string>{"--nospelling_cache", "--nospelling_cache", "--nospelling_cache"}));
  // Not a bool flag, a flag of that very name, an unknown flag, a value: left
  // for absl to take or refuse as written.
  EXPECT_EQ(Rewritten({"--no-spelling-count", "--no-spelling-thing", "--no-such-flag", "--no-spelling-cache=true"}),
            (std::vector<std::string>{"--no_spelling_count", "--no_spelling_thing", "--no_such_flag",
                                      "--no_spelling_cache=true"}));
}

TEST(FlagSpellingTest, AbslParsesTheRewrittenNegativeForm) {
  std::string prog = "prog", flag = "--no-spelling-cache";
  std::vector<char*> argv = {prog.data(), flag.data()};
  AcceptDashedFlags(static_cast<int>(argv.size()), argv.data());
  absl::ParseCommandLine(static_cast<int>(argv.size()), argv.data());
  EXPECT_FALSE(absl::GetFlag(FLAGS_spelling_cache));
  EXPECT_FALSE(absl::GetFlag(FLAGS_no_spelling_thing));
}

}  // namespace
}  // namespace switchyard
