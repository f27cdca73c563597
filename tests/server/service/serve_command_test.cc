// The real `switchyard serve` binary on loopback: SIGTERM while a stream is
// in flight lets that stream finish, refuses new calls and exits 0; the
// start-up log and --help say what API keys leave exempt.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "switchyard/v1/switchyard.grpc.pb.h"

extern char** environ;

namespace switchyard::server {
namespace {

// Starts the binary with its output in `log`, listening on `host_flags`
// (none: the default address); returns its pid, or -1 if it cannot start.
pid_t StartServer(const std::string& log, std::vector<std::string> host_flags = {"--host=127.0.0.1"}) {
  const std::string binary = std::string(SWITCHYARD_BINARY_DIR) + "/switchyard";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<std::string> args = {binary, "serve", "--backend=cpu", "--port=0",
                                   "--kv-cache-mb=16", "--drain-timeout=10s", "--metrics-port=0"};
  args.insert(args.end(), host_flags.begin(), host_flags.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int error = posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  // Callers check pid > 0 before signalling it: kill(0, SIGTERM) would stop
  // the whole process group, ctest included.
  if (error != 0) {
    ADD_FAILURE() << "cannot start " << binary << ": " << std::strerror(error);
    return -1;
  }
  return pid;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Waits for the "serving ... on HOST:PORT" log line; returns HOST:PORT.
std::string WaitForAddress(const std::string& log, const std::string& host_regex = "127\\.0\\.0\\.1") {
  const std::regex serving("serving .* on (" + host_regex + ":[0-9]+)");
  for (int i = 0; i < 300; ++i) {
    std::ifstream in(log);
    std::stringstream text;
    text << in.rdbuf();
    std::smatch m;
    const std::string s = text.str();
    if (std::regex_search(s, m, serving)) return m[1];
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return "";
}

TEST(ServeCommandTest, SigtermDrainsInFlightCallsAndExitsZero) {
  const std::string log = testing::TempDir() + "/serve_command_test.log";
  const pid_t pid = StartServer(log);
  ASSERT_GT(pid, 0);
  const std::string address = WaitForAddress(log);
  ASSERT_FALSE(address.empty()) << "no address logged";
  // A small, fixed receive window: the stream below (~100 KB with its
  // logprobs) cannot be written out while this client is not reading, so it
  // is certainly still in flight when the late call comes.
  grpc::ChannelArguments small_window;
  small_window.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  small_window.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 16 << 10);
  auto stub = v1::Switchyard::NewStub(
      grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), small_window));

  grpc::ClientContext ctx;
  v1::GenerateRequest request;
  request.mutable_token_ids()->add_ids(1);
  request.mutable_sampling()->set_temperature(0);
  request.mutable_stopping()->set_max_tokens(400);
  request.mutable_stopping()->set_ignore_eos(true);
  request.set_logprobs(20);
  auto reader = stub->GenerateStream(&ctx, request);
  v1::GenerateStreamResponse msg;
  ASSERT_TRUE(reader->Read(&msg));
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the server sees the signal

  // Draining: a new call is UNAVAILABLE while the stream goes on.
  grpc::ClientContext late;
  v1::GenerateResponse response;
  const grpc::Status late_status = stub->Generate(&late, request, &response);
  EXPECT_EQ(late_status.error_code(), grpc::StatusCode::UNAVAILABLE) << late_status.error_message();

  int tokens = msg.chunk().token_ids_size();
  v1::FinishReason finish = v1::FINISH_REASON_UNSPECIFIED;
  while (reader->Read(&msg)) {
    tokens += msg.chunk().token_ids_size();
    if (msg.has_end()) finish = msg.end().finish_reason();
  }
  const grpc::Status st = reader->Finish();
  EXPECT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(tokens, 400);
  EXPECT_EQ(finish, v1::FINISH_REASON_LENGTH);

  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// Stops the server and expects a clean exit.
void StopServer(pid_t pid) {
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(ServeCommandTest, ListensOnLoopbackByDefaultWithoutAWarning) {
  const std::string log = testing::TempDir() + "/serve_command_default_host.log";
  const pid_t pid = StartServer(log, {});
  ASSERT_GT(pid, 0);
  EXPECT_FALSE(WaitForAddress(log).empty()) << ReadFile(log);
  StopServer(pid);
  EXPECT_EQ(ReadFile(log).find("beyond this machine"), std::string::npos) << ReadFile(log);
}

// The "serving" line is the readiness signal clients and scripts wait for:
// health already says SERVING when it appears, not one watchdog poll later.
TEST(ServeCommandTest, HealthIsServingWhenTheServingLineIsLogged) {
  const std::string log = testing::TempDir() + "/serve_command_health.log";
  const pid_t pid = StartServer(log);
  ASSERT_GT(pid, 0);
  const std::string address = WaitForAddress(log);
  ASSERT_FALSE(address.empty()) << ReadFile(log);
  auto health = grpc::health::v1::Health::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = health->Check(&context, {}, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  StopServer(pid);
}

// The nice value of every thread of `pid`, by thread name (/proc/PID/task).
std::multimap<std::string, int> ThreadNiceness(pid_t pid) {
  std::multimap<std::string, int> nice;
  const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  for (const auto& task : std::filesystem::directory_iterator(tasks)) {
    std::string name = ReadFile((task.path() / "comm").string());
    if (!name.empty() && name.back() == '\n') name.pop_back();
    // stat: "pid (comm) state ..." with nice the 19th field; comm may hold spaces.
    const std::string stat = ReadFile((task.path() / "stat").string());
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::string field;
    for (int i = 3; i <= 19 && fields >> field; ++i) {
    }
    nice.emplace(name, std::stoi(field));
  }
  return nice;
}

// The engine thread keeps the process's priority; every other thread
// (gRPC's, the metrics server's, main) runs --request-threads-nice lower.
TEST(ServeCommandTest, EveryThreadButTheEngineRunsNicer) {
  const std::string log = testing::TempDir() + "/serve_command_nice.log";
  const pid_t pid = StartServer(log);
  ASSERT_GT(pid, 0);
  ASSERT_FALSE(WaitForAddress(log).empty()) << ReadFile(log);
  const std::multimap<std::string, int> nice = ThreadNiceness(pid);
  StopServer(pid);
  // The engine thread, and OpenMP's workers, which it starts and which
  // inherit its name and priority.
  ASSERT_GE(nice.count("sy-engine"), 1u);
  const int engine = nice.find("sy-engine")->second;
  int others = 0;
  for (const auto& [name, value] : nice) {
    EXPECT_EQ(value, name == "sy-engine" ? engine : engine + 10) << "thread " << name;
    others += name != "sy-engine";
  }
  EXPECT_GT(others, 2);
}

TEST(ServeCommandTest, WarnsWhenServingEveryInterfaceInPlaintextWithoutKeys) {
  const std::string log = testing::TempDir() + "/serve_command_open_host.log";
  const pid_t pid = StartServer(log, {"--host=0.0.0.0"});
  ASSERT_GT(pid, 0);
  EXPECT_FALSE(WaitForAddress(log, "0\\.0\\.0\\.0").empty()) << ReadFile(log);
  StopServer(pid);
  EXPECT_NE(ReadFile(log).find("[warning] serving 0.0.0.0 beyond this machine without TLS or API keys"),
            std::string::npos)
      << ReadFile(log);
}

// With API keys, the start-up log and --help name every exemption, KServe's
// liveness and readiness included (kserve_service.h).
TEST(ServeCommandTest, ApiKeyExemptionsAreLoggedAndInTheHelp) {
  const std::string keys = testing::TempDir() + "/serve_command_keys.txt";
  std::ofstream(keys) << "s3cret\n";
  const std::string log = testing::TempDir() + "/serve_command_keys.log";
  const pid_t pid = StartServer(log, {"--host=127.0.0.1", "--api-key-file=" + keys});
  ASSERT_GT(pid, 0);
  EXPECT_FALSE(WaitForAddress(log).empty()) << ReadFile(log);
  StopServer(pid);
  EXPECT_NE(ReadFile(log).find("API keys required (from " + keys +
                               "; health checks, KServe's ServerLive and ServerReady, and reflection exempt)"),
            std::string::npos)
      << ReadFile(log);

  const std::string binary = std::string(SWITCHYARD_BINARY_DIR) + "/switchyard";
  const std::string help_file = testing::TempDir() + "/serve_command_help.txt";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, help_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<std::string> args = {binary, "--help"};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t help_pid = -1;
  const int error = posix_spawn(&help_pid, binary.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ASSERT_EQ(error, 0) << std::strerror(error);
  int status = 0;
  ASSERT_EQ(waitpid(help_pid, &status, 0), help_pid);
  // absl wraps the help text: compare with the whitespace collapsed.
  const std::string help = std::regex_replace(ReadFile(help_file), std::regex("\\s+"), " ");
  EXPECT_NE(help.find("Health checks (grpc.health.v1, and KServe's ServerLive and ServerReady) and reflection are "
                      "exempt."),
            std::string::npos)
      << help;
}

}  // namespace
}  // namespace switchyard::server
