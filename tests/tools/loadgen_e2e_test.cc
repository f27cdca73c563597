// switchyard-loadgen against the real `switchyard serve` binary on loopback
// with the demo model: both loops complete every request with the asked-for
// tokens, a saved workload runs offline, and failures are counted by code.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "nlohmann/json.hpp"
#include "tests/tools/processes.h"

namespace {

using switchyard::test::kBinaryDir;
namespace test = switchyard::test;
using switchyard::test::TempFile;
using RunResult = switchyard::test::ProcessResult;

const std::string kModel = std::string(SWITCHYARD_SOURCE_DIR) + "/tests/fixtures/mixtral";

class LoadgenTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new switchyard::test::ServerProcess("loadgen_server");
    ASSERT_TRUE(server_->Start()) << server_->log();
    address_ = server_->address();
    // The address is logged once the model is loaded; health turns SERVING
    // at the watchdog's next poll: wait for it through the CLI.
    for (int i = 0; i < 100; ++i) {
      if (test::Run({kBinaryDir + "/switchyard-cli", "--addr=" + address_, "health"}).exit_code == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "never SERVING";
  }

  static void TearDownTestSuite() {
    EXPECT_EQ(server_->Stop(), 0);
    delete server_;
    server_ = nullptr;
  }

  static RunResult Loadgen(std::vector<std::string> args) {
    args.insert(args.begin(), {kBinaryDir + "/switchyard-loadgen", "--target=" + address_, "--json"});
    return test::Run(args);
  }

  static inline switchyard::test::ServerProcess* server_ = nullptr;
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
  const RunResult offline = test::Run({kBinaryDir + "/switchyard", "generate", "--backend=cpu", "--model=" + kModel,
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
  const RunResult no_rate = Loadgen({"--mode=open"});
  EXPECT_EQ(no_rate.exit_code, 2);
  EXPECT_NE(no_rate.err.find("--rate must be a positive number of requests/s"), std::string::npos) << no_rate.err;
  const RunResult bad_mode = Loadgen({"--mode=sideways"});
  EXPECT_EQ(bad_mode.exit_code, 2);
  EXPECT_NE(bad_mode.err.find("--mode must be closed or open, got 'sideways'"), std::string::npos) << bad_mode.err;
  const RunResult too_long = Loadgen({"--prompt-tokens=100000"});  // past the context
  EXPECT_EQ(too_long.exit_code, 2);
  EXPECT_NE(too_long.err.find("exceeds the model's context length"), std::string::npos) << too_long.err;
}

}  // namespace
