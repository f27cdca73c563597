// switchyard-cli against the real `switchyard serve` binary on loopback with
// the demo model: every command, and a bad request's status.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "tests/tools/processes.h"

namespace {

using switchyard::test::kBinaryDir;
using switchyard::test::ReadFile;
using switchyard::test::ServerProcess;
using switchyard::test::Spawn;
using switchyard::test::TempFile;

using CliResult = switchyard::test::ProcessResult;

class CliTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = std::make_unique<ServerProcess>();
    ASSERT_TRUE(server_->Start()) << "no address logged:\n" << server_->log();
    address_ = server_->address();
    // The server is up: wait for health through the CLI itself.
    for (int i = 0; i < 100; ++i) {
      if (Cli({"health"}).exit_code == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "never SERVING";
  }

  static void TearDownTestSuite() {
    if (server_ == nullptr) return;
    EXPECT_EQ(server_->Stop(), 0) << server_->log();
    server_.reset();
  }

  static CliResult Cli(std::vector<std::string> args) {
    args.insert(args.begin() + 1, "--addr=" + address_);
    args.insert(args.begin() + 2, "--timeout=20s");
    args.insert(args.begin(), kBinaryDir + "/switchyard-cli");
    return switchyard::test::Run(args);
  }

  static inline std::unique_ptr<ServerProcess> server_;
  static inline std::string address_;
};

TEST_F(CliTest, GenerateStreamsTheTextAndSummarises) {
  const CliResult r = Cli({"generate", "--prompt", "The yard master walked the length of the platform",
                           "--max-tokens", "12", "--temperature", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind(" with a clipboard and a", 0), 0u) << r.out;  // prompt + text reads on
  EXPECT_NE(r.err.find("finish: length"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("completion tokens: 12"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("time to first token:"), std::string::npos) << r.err;
}

TEST_F(CliTest, GenerateJsonPrintsTheWholeResult) {
  const CliResult r = Cli({"generate", "--prompt=The yard master walked the length of the platform",
                           "--max_tokens=4", "--temperature=0", "--logprobs=2", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"text\":\" with a"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"finish_reason\":\"FINISH_REASON_LENGTH\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"completion_tokens\":4"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"top\":[{"), std::string::npos) << r.out;
}

TEST_F(CliTest, StopStringEndsTheText) {
  const CliResult r = Cli({"generate", "--prompt", "The yard master walked the length of the platform",
                           "--max-tokens", "12", "--temperature", "0", "--stop", "clipboard", "--stop", "x,y"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, " with a \n");
  EXPECT_NE(r.err.find("finish: stop"), std::string::npos) << r.err;
}

TEST_F(CliTest, TokenizePrintsTheIds) {
  const CliResult r = Cli({"tokenize", "--text", "The yard master"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("[1,385,447", 0), 0u) << r.out;
}

TEST_F(CliTest, ModelInfoNamesTheArchitecture) {
  const CliResult r = Cli({"model-info"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("architecture:    MixtralForCausalLM"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("kv blocks:"), std::string::npos) << r.out;
}

TEST_F(CliTest, ExpertLoadPrintsOneRowPerLayer) {
  ASSERT_EQ(Cli({"generate", "--prompt=The yard master", "--max-tokens=2"}).exit_code, 0);
  const CliResult r = Cli({"expert-load"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("layers: 2,"), std::string::npos) << r.out;
  const std::regex row("\n +([0-9]+) +([0-9]+) +[0-9.]+ +0-[0-9]+:");
  std::vector<std::string> layers;
  for (std::sregex_iterator it(r.out.begin(), r.out.end(), row), end; it != end; ++it) {
    layers.push_back((*it)[1]);
    EXPECT_NE((*it)[2], "0") << r.out;  // tokens were routed
  }
  EXPECT_EQ(layers, (std::vector<std::string>{"0", "1"})) << r.out;
}

TEST_F(CliTest, HealthIsServing) {
  const CliResult r = Cli({"health"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "SERVING\n");
}

TEST_F(CliTest, BadRequestNamesTheStatusCode) {
  const CliResult r = Cli({"generate", "--prompt", "The yard master", "--top-p", "2"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("INVALID_ARGUMENT: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("top_p"), std::string::npos) << r.err;
}

TEST_F(CliTest, UnknownModelIsNotFound) {
  const CliResult r = Cli({"model-info", "--model", "no-such-model"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("NOT_FOUND: "), std::string::npos) << r.err;
}

// Ctrl-C cancels the call and exits 130 (here while the channel waits on a
// peer that accepts the connection and never answers).
TEST_F(CliTest, InterruptCancelsTheCall) {
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(listener, 4), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string err = TempFile("cancel.err");
  const pid_t pid = Spawn({kBinaryDir + "/switchyard-cli", "generate", "--prompt=x",
                           "--addr=127.0.0.1:" + std::to_string(ntohs(addr.sin_port))},
                          TempFile("cancel.out"), err);
  ASSERT_GT(pid, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  kill(pid, SIGINT);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  close(listener);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 130);
  EXPECT_NE(ReadFile(err).find("cancelled"), std::string::npos) << ReadFile(err);
}

TEST_F(CliTest, BadArgumentsExitTwo) {
  const CliResult unknown = Cli({"frobnicate"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("switchyard-cli: unknown command 'frobnicate'"), std::string::npos) << unknown.err;
  const CliResult no_prompt = Cli({"generate"});
  EXPECT_EQ(no_prompt.exit_code, 2);
  EXPECT_NE(no_prompt.err.find("switchyard-cli: generate needs --prompt TEXT"), std::string::npos) << no_prompt.err;
}

}  // namespace
