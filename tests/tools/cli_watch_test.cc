// switchyard-cli expert-load --watch's loop (cli::WatchExpertLoad) against an
// in-process WatchExpertLoad that sends what each test needs: the plain
// table per update, the redrawn heat map on the alternate screen and the
// screen given back however the stream ends, errors, cancellation, deadline.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include "grpcpp/grpcpp.h"
#include "switchyard/v1/switchyard.grpc.pb.h"
#include "tests/tools/processes.h"
#include "tools/cli/commands.h"
#include "tools/cli/terminal.h"

namespace switchyard::cli {
namespace {

using namespace std::chrono_literals;

v1::ExpertLoad Update(int step) {
  v1::ExpertLoad load;
  load.set_num_layers(2);
  load.set_num_experts(4);
  load.set_top_k(2);
  load.set_num_steps(step);
  for (int l = 0; l < 2; ++l) {
    v1::LayerExpertLoad* layer = load.add_layers();
    layer->set_layer(l);
    for (int e = 0; e < 4; ++e) layer->add_tokens(step * (e + 1));
  }
  return load;
}

// Sends Update(1), Update(2), ... every 20 ms: `updates` of them and then
// `end`, or, with updates < 0, until the call is cancelled.
class FakeWatch final : public v1::Switchyard::Service {
 public:
  int updates = 3;
  grpc::Status end = grpc::Status::OK;
  std::atomic<int> sent{0};
  std::atomic<int> interval_ms{-1};

  grpc::Status WatchExpertLoad(grpc::ServerContext* ctx, const v1::WatchExpertLoadRequest* request,
                               grpc::ServerWriter<v1::ExpertLoad>* writer) override {
    interval_ms = request->interval_ms();
    for (int i = 1; updates < 0 || i <= updates; ++i) {
      if (ctx->IsCancelled() || !writer->Write(Update(i))) return grpc::Status::CANCELLED;
      ++sent;
      std::this_thread::sleep_for(20ms);
    }
    return end;
  }
};

class CliWatchTest : public testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&fake_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    address_ = "127.0.0.1:" + std::to_string(port);
    channel_ = grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
  }
  void TearDown() override { server_->Shutdown(std::chrono::system_clock::now() + 1s); }

  int Watch(const WatchOptions& options, const CallSettings& call = {}) {
    return WatchExpertLoad(channel_, call, "", options, nullptr, not_cancelled_, out_, err_);
  }

  static int Count(const std::string& s, const std::string& part) {
    int n = 0;
    for (size_t at = s.find(part); at != std::string::npos; at = s.find(part, at + 1)) ++n;
    return n;
  }

  FakeWatch fake_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  std::shared_ptr<grpc::Channel> channel_;
  const std::atomic<bool> not_cancelled_{false};
  std::ostringstream out_, err_;
};

TEST_F(CliWatchTest, NotATerminalPrintsTheTablePerUpdateWithoutEscapes) {
  WatchOptions options;
  options.interval_ms = 250;
  options.size = [] { return TerminalSize{80, 0}; };
  EXPECT_EQ(Watch(options), 0) << err_.str();
  EXPECT_EQ(fake_.interval_ms.load(), 250);
  EXPECT_EQ(out_.str(), FormatExpertLoad(Update(1), LoadWindow::kSinceStart, 80) + "\n" +
                            FormatExpertLoad(Update(2), LoadWindow::kSinceStart, 80) + "\n" +
                            FormatExpertLoad(Update(3), LoadWindow::kSinceStart, 80) + "\n");
  EXPECT_EQ(err_.str(), "switchyard-cli: the server ended the stream after 3 updates\n");
}

TEST_F(CliWatchTest, TerminalRedrawsTheHeatMapAndGivesTheScreenBack) {
  WatchOptions options;
  options.redraw = true;
  options.color = true;
  options.size = [] { return TerminalSize{100, 30}; };
  EXPECT_EQ(Watch(options), 0) << err_.str();
  const std::string out = out_.str();
  EXPECT_EQ(out.rfind(kEnterScreen, 0), 0u) << out;  // the alternate screen, once, first
  EXPECT_EQ(Count(out, "\x1b[?1049h"), 1);
  EXPECT_EQ(Count(out, "\x1b[H"), 3);  // a redraw per update
  EXPECT_NE(out.find("\x1b[Hupdate 1 at "), std::string::npos) << out;
  EXPECT_NE(out.find("\x1b[Hupdate 3 at "), std::string::npos) << out;
  EXPECT_NE(out.find("expert load since start: 2 layers, 4 experts, top_k 2, 3 engine steps"), std::string::npos);
  EXPECT_NE(out.find("\x1b[48;5;"), std::string::npos);  // colour cells
  EXPECT_EQ(out.substr(out.size() - std::string(kLeaveScreen).size()), kLeaveScreen);
}

TEST_F(CliWatchTest, ErrorGivesTheScreenBackThenPrintsTheStatus) {
  fake_.updates = 1;
  fake_.end = grpc::Status(grpc::StatusCode::UNAVAILABLE, "draining");
  WatchOptions options;
  options.redraw = true;
  EXPECT_EQ(Watch(options), kExitFailure);
  EXPECT_EQ(err_.str(), "switchyard-cli: UNAVAILABLE: draining\n");
  const std::string out = out_.str();
  EXPECT_EQ(out.substr(out.size() - std::string(kLeaveScreen).size()), kLeaveScreen) << out;
}

TEST_F(CliWatchTest, ErrorBeforeAnyUpdateLeavesTheTerminalAlone) {
  fake_.updates = 0;
  fake_.end = grpc::Status(grpc::StatusCode::NOT_FOUND, "no model 'x'");
  WatchOptions options;
  options.redraw = true;
  EXPECT_EQ(Watch(options), kExitFailure);
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(err_.str(), "switchyard-cli: NOT_FOUND: no model 'x'\n");
}

TEST_F(CliWatchTest, CancelStopsTheStreamWith130AndTheScreenBack) {
  fake_.updates = -1;
  std::mutex mu;
  grpc::ClientContext* ctx = nullptr;
  std::atomic<bool> cancelled{false};
  // What the Ctrl-C watcher does, once two updates are drawn.
  std::thread interrupt([&] {
    while (fake_.sent.load() < 2) std::this_thread::sleep_for(5ms);
    std::lock_guard<std::mutex> lock(mu);
    cancelled = true;
    if (ctx != nullptr) ctx->TryCancel();
  });
  WatchOptions options;
  options.redraw = true;
  const int rc = WatchExpertLoad(
      channel_, {}, "", options,
      [&](grpc::ClientContext* c) {
        std::lock_guard<std::mutex> lock(mu);
        ctx = c;
      },
      cancelled, out_, err_);
  interrupt.join();
  EXPECT_EQ(rc, kExitCancelled);
  EXPECT_EQ(err_.str().rfind("switchyard-cli: stopped after ", 0), 0u) << err_.str();
  const std::string out = out_.str();
  EXPECT_EQ(out.substr(out.size() - std::string(kLeaveScreen).size()), kLeaveScreen) << out;
}

TEST_F(CliWatchTest, TimeoutEndsTheWatchAsADeadline) {
  fake_.updates = -1;
  CallSettings call;
  call.timeout_ms = 300;
  WatchOptions options;
  EXPECT_EQ(Watch(options, call), kExitFailure);
  EXPECT_EQ(err_.str().rfind("switchyard-cli: DEADLINE_EXCEEDED: ", 0), 0u) << err_.str();
  EXPECT_GE(Count(out_.str(), "layers: 2, experts: 4"), 2);  // the updates before it
}

// The binary's flags reach the call: the interval, the window, the deadline;
// stdout is a file, so plain tables.
TEST_F(CliWatchTest, TheBinaryWatchesWithItsFlags) {
  fake_.updates = -1;
  const test::ProcessResult r =
      test::Run({test::kBinaryDir + "/switchyard-cli", "expert-load", "--watch", "--addr=" + address_,
                 "--interval=250ms", "--window=last-step", "--timeout=700ms"});
  EXPECT_EQ(r.exit_code, kExitFailure) << r.err;
  EXPECT_EQ(r.err.rfind("switchyard-cli: DEADLINE_EXCEEDED: ", 0), 0u) << r.err;
  EXPECT_EQ(fake_.interval_ms.load(), 250);
  EXPECT_GE(Count(r.out, "tokens per expert (last step)"), 2) << r.out;
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << r.out;
}

TEST(CliWatchFlagsTest, BadWatchArgumentsExitTwo) {
  const std::string cli = test::kBinaryDir + "/switchyard-cli";
  test::ProcessResult r = test::Run({cli, "expert-load", "--watch", "--interval=50ms"});
  EXPECT_EQ(r.exit_code, kExitUsage);
  EXPECT_EQ(r.err, "switchyard-cli: --interval is 50ms; must be from 100ms to 1h\n");
  r = test::Run({cli, "tokenize", "--text=a", "--watch"});
  EXPECT_EQ(r.exit_code, kExitUsage);
  EXPECT_EQ(r.err, "switchyard-cli: --watch applies to expert-load only\n");
  r = test::Run({cli, "expert-load", "--watch", "--window=soon"});
  EXPECT_EQ(r.exit_code, kExitUsage);
  EXPECT_NE(r.err.find("must be start, recent or last-step"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace switchyard::cli
