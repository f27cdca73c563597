// The end-to-end tests' processes: the real `switchyard serve` and
// `switchyard-cli` binaries run as children, their output in files.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
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

namespace switchyard::test {

inline const std::string kBinaryDir = SWITCHYARD_BINARY_DIR;

// Files of this process alone: ctest runs each test in its own process, side by side.
inline std::string TempFile(const std::string& name) {
  return testing::TempDir() + "/switchyard_" + std::to_string(getpid()) + "_" + name;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Starts `args` with stdout and stderr in the given files and this
// process's environment plus `env` ("NAME=value"); returns its pid, or -1.
inline pid_t Spawn(const std::vector<std::string>& args, const std::string& out, const std::string& err,
                   const std::vector<std::string>& env = {}) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (std::string& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_copy = env;
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) envp.push_back(*e);
  for (std::string& e : env_copy) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

inline int ExitCode(int wait_status) {
  return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
}

struct ProcessResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `args` to the end.
inline ProcessResult Run(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
  const std::string out = TempFile("run.out");
  const std::string err = TempFile("run.err");
  ProcessResult r;
  const pid_t pid = Spawn(args, out, err, env);
  if (pid <= 0) return r;
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = ExitCode(status);
  r.out = ReadFile(out);
  r.err = ReadFile(err);
  return r;
}

// `switchyard serve` with the test fixture model on 127.0.0.1, a free port
// and no metrics port, plus the given flags. `name` keeps the log files of
// several servers in one test apart.
class ServerProcess {
 public:
  explicit ServerProcess(std::string name = "server") : log_(TempFile(name + ".log")), out_(TempFile(name + ".out")) {}
  ~ServerProcess() { Stop(); }

  // True once the server has logged the address it serves on; false if it
  // exited first (see exit_code() and log()) or never got that far.
  bool Start(const std::vector<std::string>& flags = {}) {
    std::vector<std::string> args = {kBinaryDir + "/switchyard", "serve", "--backend=cpu", "--host=127.0.0.1",
                                     "--port=0", "--metrics-port=0", "--kv-cache-mb=16", "--drain-timeout=5s",
                                     "--model=" + std::string(SWITCHYARD_SOURCE_DIR) + "/tests/fixtures/mixtral"};
    args.insert(args.end(), flags.begin(), flags.end());
    pid_ = Spawn(args, out_, log_);
    if (pid_ <= 0) return false;
    const std::regex serving("serving .* on (127\\.0\\.0\\.1:[0-9]+)");
    for (int i = 0; i < 500; ++i) {
      std::smatch m;
      const std::string s = ReadFile(log_);
      if (std::regex_search(s, m, serving)) {
        address_ = m[1];
        return true;
      }
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        exit_code_ = ExitCode(status);
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  // SIGTERM, then the exit status (0 after a clean drain); the exit status
  // it already had if it exited by itself.
  int Stop() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
      pid_ = -1;
      exit_code_ = ExitCode(status);
    }
    return exit_code_;
  }

  const std::string& address() const { return address_; }
  int exit_code() const { return exit_code_; }
  std::string log() const { return ReadFile(log_); }

 private:
  std::string log_, out_;
  pid_t pid_ = -1;
  int exit_code_ = -1;
  std::string address_;
};

}  // namespace switchyard::test
