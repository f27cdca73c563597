// switchyard-loadgen against the real `switchyard serve` binary on loopback
// with the demo model: both loops complete every request with the asked-for
// tokens, a saved workload runs offline, and failures are counted by code.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "nlohmann/json.hpp"

extern char** environ;

namespace {

const std::string kBinaryDir = SWITCHYARD_BINARY_DIR;
const std::string kModel = std::string(SWITCHYARD_SOURCE_DIR) + "/tests/fixtures/mixtral";

// Files of this process alone: ctest runs tests side by side.
std::string TempFile(const std::string& name) {
  return testing::TempDir() + "/loadgen_test_" + std::to_string(getpid()) + "_" + name;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Starts `args` with stdout and stderr in the given files; returns its pid.
pid_t Spawn(const std::vector<std::string>& args, const std::string& out, const std::string& err) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (std::string& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

RunResult RunProcess(const std::vector<std::string>& args) {
  const std::string out = TempFile("run.out");
  const std::string err = TempFile("run.err");
  RunResult r;
  const pid_t pid = Spawn(args, out, err);
  if (pid <= 0) return r;
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = ReadFile(out);
  r.err = ReadFile(err);
  return r;
}

class LoadgenTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string log = TempFile("server.log");
    server_pid_ = Spawn({kBinaryDir + "/switchyard", "serve", "--backend=cpu", "--host=127.0.0.1", "--port=0",
                         "--metrics-port=0", "--kv-cache-mb=16", "--drain-timeout=5s", "--model=" + kModel},
                        TempFile("server.out"), log);
    ASSERT_GT(server_pid_, 0);
    const std::regex serving("serving .* on (127\\.0\\.0\\.1:[0-9]+)");
    for (int i = 0; i < 500 && address_.empty(); ++i) {
      std::smatch m;
      const std::string s = ReadFile(log);
      if (std::regex_search(s, m, serving)) address_ = m[1];
      else std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_FALSE(address_.empty()) << "no address logged:\n" << ReadFile(log);
    // Listening is not yet serving: wait for health through the CLI.
    for (int i = 0; i < 100; ++i) {
      if (RunProcess({kBinaryDir + "/switchyard-cli", "--addr=" + address_, "health"}).exit_code == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "never SERVING";
  }

  static void TearDownTestSuite() {
    if (server_pid_ <= 0) return;
    kill(server_pid_, SIGTERM);
    int status = 0;
    EXPECT_EQ(waitpid(server_pid_, &status, 0), server_pid_);
    server_pid_ = -1;
  }

  static RunResult Loadgen(std::vector<std::string> args) {
    args.insert(args.begin(), {kBinaryDir + "/switchyard-loadgen", "--target=" + address_, "--json"});
    return RunProcess(args);
  }

  static inline pid_t server_pid_ = -1;
  static inline std::string address_;
};

// Every request completed, none failed, each with exactly `tokens` tokens.
void ExpectAllComplete(const RunResult& r, int requests, int tokens) {
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["sent"], requests) << r.out;
  EXPECT_EQ(j["completed"], requests) << r.out;
  EXPECT_TRUE(j["failed"].empty()) << r.out;
  EXPECT_EQ(j["output_tokens"], requests * tokens) << r.out;
  EXPECT_EQ(j["min_output_tokens"], tokens) << r.out;
  EXPECT_EQ(j["max_output_tokens"], tokens) << r.out;
  EXPECT_GT(j["output_tokens_per_s"].get<double>(), 0) << r.out;
  EXPECT_GT(j["ttft_ms"]["p50"].get<double>(), 0) << r.out;
  EXPECT_GE(j["itl_ms"]["p99"].get<double>(), 0) << r.out;
  EXPECT_GE(j["e2e_ms"]["max"].get<double>(), j["ttft_ms"]["max"].get<double>()) << r.out;
}

TEST_F(LoadgenTest, ClosedLoopCompletesEveryRequest) {
  const RunResult r = Loadgen({"--mode=closed", "--concurrency=3", "--num-requests=7", "--prompt-tokens=12",
                               "--max-tokens=9"});
  ExpectAllComplete(r, 7, 9);
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["mode"], "closed");
  EXPECT_EQ(j["input_tokens"], 7 * 12);
}

TEST_F(LoadgenTest, OpenLoopCompletesEveryRequest) {
  const RunResult r = Loadgen({"--mode=open", "--rate=40", "--num-requests=8", "--prompt-tokens=5",
                               "--max-tokens=6", "--seed=3"});
  ExpectAllComplete(r, 8, 6);
  EXPECT_EQ(nlohmann::json::parse(r.out)["rate"], 40.0);
}

TEST_F(LoadgenTest, DurationStopsSending) {
  const RunResult r = Loadgen({"--mode=open", "--rate=20", "--num-requests=0", "--duration=300ms",
                               "--max-tokens=4"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_GE(j["sent"].get<int>(), 1);  // the first is sent at once
  EXPECT_LT(j["sent"].get<int>(), 30);
  EXPECT_EQ(j["completed"], j["sent"]);
}

// The saved workload is `switchyard generate --prompts-file` input, and reads
// back as the load generator's own prompts file.
TEST_F(LoadgenTest, SavedPromptsRunOfflineAndAgain) {
  const std::string prompts = TempFile("prompts.jsonl");
  ExpectAllComplete(Loadgen({"--concurrency=2", "--num-requests=4", "--prompt-tokens=6", "--max-tokens=5",
                             "--save-prompts=" + prompts}),
                    4, 5);
  const RunResult offline = RunProcess({kBinaryDir + "/switchyard", "generate", "--backend=cpu", "--model=" + kModel,
                                 "--prompts-file=" + prompts});
  ASSERT_EQ(offline.exit_code, 0) << offline.err;
  EXPECT_EQ(std::count(offline.out.begin(), offline.out.end(), '\n'), 4) << offline.out;
  EXPECT_NE(offline.err.find("generated 20 tokens for 4 requests in"), std::string::npos) << offline.err;
  ExpectAllComplete(Loadgen({"--concurrency=4", "--num-requests=6", "--prompts-file=" + prompts, "--max-tokens=3"}),
                    6, 3);
}

TEST_F(LoadgenTest, FailedRequestsAreCountedByCode) {
  const std::string prompts = TempFile("bad.jsonl");
  std::ofstream(prompts) << "{\"prompt_ids\":[1,2]}\n{\"prompt_ids\":[999999]}\n";
  const RunResult r = Loadgen({"--num-requests=4", "--prompts-file=" + prompts, "--max-tokens=2"});
  EXPECT_EQ(r.exit_code, 1);
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["completed"], 2) << r.out;
  EXPECT_EQ(j["failed"]["INVALID_ARGUMENT"], 2) << r.out;
  EXPECT_NE(r.err.find("INVALID_ARGUMENT"), std::string::npos) << r.err;
}

TEST_F(LoadgenTest, BadArgumentsExitTwo) {
  EXPECT_EQ(Loadgen({"--mode=open"}).exit_code, 2);  // no rate
  EXPECT_EQ(Loadgen({"--mode=sideways"}).exit_code, 2);
  EXPECT_EQ(Loadgen({"--prompt-tokens=100000"}).exit_code, 2);  // past the context
}

}  // namespace
