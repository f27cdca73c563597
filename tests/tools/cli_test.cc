// switchyard-cli against the real `switchyard serve` binary on loopback with
// the demo model: every command, and a bad request's status.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

const std::string kBinaryDir = SWITCHYARD_BINARY_DIR;

// Files of this process alone: ctest runs each test in its own process, side by side.
std::string TempFile(const std::string& name) {
  return testing::TempDir() + "/cli_test_" + std::to_string(getpid()) + "_" + name;
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

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

class CliTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string log = TempFile("server.log");
    server_pid_ = Spawn({kBinaryDir + "/switchyard", "serve", "--backend=cpu", "--host=127.0.0.1", "--port=0",
                         "--metrics-port=0", "--kv-cache-mb=16", "--drain-timeout=5s",
                         "--model=" + std::string(SWITCHYARD_SOURCE_DIR) + "/tests/fixtures/mixtral"},
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
    // The server is up: wait for health through the CLI itself.
    for (int i = 0; i < 100; ++i) {
      if (Cli({"health"}).exit_code == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "never SERVING";
  }

  static void TearDownTestSuite() {
    if (server_pid_ <= 0) return;
    kill(server_pid_, SIGTERM);
    int status = 0;
    EXPECT_EQ(waitpid(server_pid_, &status, 0), server_pid_);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    server_pid_ = -1;
  }

  static CliResult Cli(std::vector<std::string> args) {
    args.insert(args.begin() + 1, "--addr=" + address_);
    args.insert(args.begin() + 2, "--timeout=20s");
    args.insert(args.begin(), kBinaryDir + "/switchyard-cli");
    const std::string out = TempFile("cli.out");
    const std::string err = TempFile("cli.err");
    CliResult r;
    const pid_t pid = Spawn(args, out, err);
    if (pid <= 0) return r;
    int status = 0;
    waitpid(pid, &status, 0);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = ReadFile(out);
    r.err = ReadFile(err);
    return r;
  }

  static inline pid_t server_pid_ = -1;
  static inline std::string address_;
};

TEST_F(CliTest, GenerateStreamsTheTextAndSummarises) {
  const CliResult r = Cli({"generate", "--prompt", "The yard master walked the length of the platform",
                           "--max-tokens", "12", "--temperature", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("with a clipboard and a", 0), 0u) << r.out;
  EXPECT_NE(r.err.find("finish: length"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("completion tokens: 12"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("time to first token:"), std::string::npos) << r.err;
}

TEST_F(CliTest, GenerateJsonPrintsTheWholeResult) {
  const CliResult r = Cli({"generate", "--prompt=The yard master walked the length of the platform",
                           "--max_tokens=4", "--temperature=0", "--logprobs=2", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"text\":\"with a"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"finish_reason\":\"FINISH_REASON_LENGTH\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"completion_tokens\":4"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"top\":[{"), std::string::npos) << r.out;
}

TEST_F(CliTest, StopStringEndsTheText) {
  const CliResult r = Cli({"generate", "--prompt", "The yard master walked the length of the platform",
                           "--max-tokens", "12", "--temperature", "0", "--stop", "clipboard", "--stop", "x,y"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "with a \n");
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
  EXPECT_EQ(Cli({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(Cli({"generate"}).exit_code, 2);  // no --prompt
}

}  // namespace
