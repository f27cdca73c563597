// The real `switchyard serve` binary on loopback, called with a real gRPC
// client: the bad-request table, cancellation and deadlines freeing every KV
// block (also in a storm of 2,000 such calls), queue overflow, SIGTERM under
// load, and metrics that pass promtool.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <future>
#include <memory>
#include <random>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "grpcpp/grpcpp.h"
#include "switchyard/v1/switchyard.grpc.pb.h"
#include "tests/server/service/bad_generate_requests.h"
#include "tests/server/service/server_test_util.h"
#include "tests/tools/processes.h"

namespace switchyard::server {
namespace {

using test::ServerProcess;

v1::GenerateRequest Greedy(const std::vector<int32_t>& ids, int32_t max_tokens) {
  v1::GenerateRequest r;
  r.mutable_token_ids()->mutable_ids()->Add(ids.begin(), ids.end());
  r.mutable_sampling()->set_temperature(0);
  r.mutable_stopping()->set_max_tokens(max_tokens);
  r.mutable_stopping()->set_ignore_eos(true);
  return r;
}

std::unique_ptr<v1::Switchyard::Stub> Connect(const ServerProcess& server) {
  return v1::Switchyard::NewStub(grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials()));
}

// Every KV block free and nothing running, within a few seconds.
void ExpectAllBlocksFreed(v1::Switchyard::Stub& stub) {
  v1::ModelInfo info;
  for (int i = 0; i < 500; ++i) {
    grpc::ClientContext ctx;
    info.Clear();
    ASSERT_TRUE(stub.GetModelInfo(&ctx, {}, &info).ok());
    if (info.kv_blocks_free() == info.kv_blocks_total() && info.num_running() == 0 && info.num_waiting() == 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  FAIL() << info.kv_blocks_free() << " of " << info.kv_blocks_total() << " blocks free, " << info.num_running()
         << " running";
}

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

TEST(ServeBinaryTest, BadRequestsGetTheirExactStatusAndTheServerStaysHealthy) {
  ServerProcess server("bad_requests");
  ASSERT_TRUE(server.Start({"--max-message-bytes=65536"})) << server.log();
  auto channel = grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());
  auto stub = v1::Switchyard::NewStub(channel);
  const Golden g = ReadGolden();
  ExpectEachBadRequestGetsItsStatus(*stub, Greedy(g.ids, static_cast<int32_t>(g.greedy.size())), 65536);
  EXPECT_EQ(WaitForHealth(channel, "", kServing), kServing);
  grpc::ClientContext ctx;
  v1::GenerateResponse response;
  ASSERT_TRUE(stub->Generate(&ctx, Greedy(g.ids, static_cast<int32_t>(g.greedy.size())), &response).ok());
  EXPECT_EQ(std::vector<int32_t>(response.token_ids().begin(), response.token_ids().end()), g.greedy);
  ExpectAllBlocksFreed(*stub);
  EXPECT_EQ(server.Stop(), 0);
}

TEST(ServeBinaryTest, CancelAndDeadlineFreeEveryKvBlock) {
  ServerProcess server("cancel");
  ASSERT_TRUE(server.Start()) << server.log();
  auto stub = Connect(server);
  const std::vector<int32_t> prompt = ReadGolden().ids;
  const v1::GenerateRequest request = Greedy(prompt, 512 - static_cast<int32_t>(prompt.size()));
  EXPECT_TRUE(CancelAStreamMidGeneration(*stub, request, [&] { ExpectAllBlocksFreed(*stub); }))
      << "every generation finished before its cancellation";
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(5));
    v1::GenerateResponse response;
    EXPECT_EQ(stub->Generate(&ctx, request, &response).error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  }
  ExpectAllBlocksFreed(*stub);
  EXPECT_EQ(server.Stop(), 0);
}

TEST(ServeBinaryTest, AFullQueueIsUnavailable) {
  ServerProcess server("overflow");
  ASSERT_TRUE(server.Start({"--max-num-seqs=1", "--max-waiting=1"})) << server.log();
  auto stub = Connect(server);
  constexpr int kCalls = 8;
  const v1::GenerateRequest request = Greedy({1}, 300);
  grpc::ClientContext ctx[kCalls];
  v1::GenerateResponse response[kCalls];
  std::promise<grpc::Status> done[kCalls];
  for (int i = 0; i < kCalls; ++i) {
    stub->async()->Generate(&ctx[i], &request, &response[i], [&done, i](grpc::Status s) { done[i].set_value(s); });
  }
  int ok = 0, unavailable = 0;
  for (int i = 0; i < kCalls; ++i) {
    const grpc::Status st = done[i].get_future().get();
    ok += st.ok();
    if (st.error_code() == grpc::StatusCode::UNAVAILABLE) {
      ++unavailable;
      EXPECT_NE(st.error_message().find("overloaded"), std::string::npos) << st.error_message();
    }
    if (st.ok()) {
      EXPECT_EQ(response[i].token_ids_size(), 300);
    }
  }
  EXPECT_EQ(ok + unavailable, kCalls);
  EXPECT_GE(ok, 1);
  EXPECT_GE(unavailable, 1);
  ExpectAllBlocksFreed(*stub);
  EXPECT_EQ(server.Stop(), 0);
}

TEST(ServeBinaryTest, SigtermUnderLoadFinishesEveryStreamAndExitsZero) {
  ServerProcess server("sigterm");
  ASSERT_TRUE(server.Start({"--drain-timeout=30s"})) << server.log();
  auto stub = Connect(server);
  constexpr int kStreams = 8;
  const v1::GenerateRequest request = Greedy({1, 20, 30}, 200);
  std::vector<std::future<std::pair<grpc::Status, int>>> streams;
  std::promise<void> all_started;
  std::atomic<int> started{0};
  for (int i = 0; i < kStreams; ++i) {
    streams.push_back(std::async(std::launch::async, [&] {
      grpc::ClientContext ctx;
      auto reader = stub->GenerateStream(&ctx, request);
      v1::GenerateStreamResponse msg;
      int tokens = 0;
      bool first = true;
      while (reader->Read(&msg)) {
        tokens += msg.chunk().token_ids_size();
        if (first && ++started == kStreams) all_started.set_value();
        first = false;
      }
      return std::make_pair(reader->Finish(), tokens);
    }));
  }
  all_started.get_future().wait();
  EXPECT_EQ(server.Stop(), 0);  // SIGTERM, then waits for the exit
  for (auto& s : streams) {
    const auto [status, tokens] = s.get();
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(tokens, 200);
  }
  EXPECT_NE(server.log().find("SIGTERM: draining"), std::string::npos) << server.log();
}

TEST(ServeBinaryTest, MetricsHaveThePerExpertSeriesAndPassPromtool) {
  ServerProcess server("metrics");
  const int metrics_port = FreePort();
  ASSERT_TRUE(server.Start({"--metrics-port=" + std::to_string(metrics_port)})) << server.log();
  auto stub = Connect(server);
  grpc::ClientContext ctx;
  v1::GenerateResponse response;
  ASSERT_TRUE(stub->Generate(&ctx, Greedy({1, 20, 30}, 8), &response).ok());
  const std::string text = Scrape(metrics_port);
  EXPECT_NE(text.find("switchyard_expert_tokens_total{expert=\"0\",layer=\"0\"}"), std::string::npos) << text;
  EXPECT_NE(text.find("switchyard_expert_imbalance_ratio{layer=\"1\"}"), std::string::npos) << text;
  EXPECT_NE(text.find("switchyard_requests_total{code=\"OK\",rpc=\"Generate\"} 1"), std::string::npos) << text;
  const size_t body = text.find("\r\n\r\n");
  ASSERT_NE(body, std::string::npos);
  const std::string path = test::TempFile("metrics.txt");
  std::ofstream(path) << text.substr(body + 4);
  const test::ProcessResult promtool = test::Run({"/bin/sh", "-c", "promtool check metrics < " + path});
  EXPECT_EQ(promtool.exit_code, 0) << promtool.out << promtool.err;
  EXPECT_EQ(server.Stop(), 0);
}

// Triton's L0_grpc_state_cleanup, here: 2,000 calls cancelled or past their
// deadline at random moments (unary and streams, before, during and after
// prefill), 16 at a time. Afterwards every KV block is free, nothing runs or
// waits, greedy output is what it was, and the calls are counted under
// CANCELLED or DEADLINE_EXCEEDED (or OK when they won the race), never as
// UNIMPLEMENTED.
TEST(ServeBinaryTest, ACancelAndDeadlineStormLeavesNoTrace) {
  ServerProcess server("storm");
  const int metrics_port = FreePort();
  ASSERT_TRUE(server.Start({"--metrics-port=" + std::to_string(metrics_port), "--max-waiting=4096"}))
      << server.log();
  auto stub = Connect(server);
  const Golden g = ReadGolden();
  const v1::GenerateRequest golden = Greedy(g.ids, static_cast<int32_t>(g.greedy.size()));

  constexpr int kThreads = 16, kCallsPerThread = 125;
  std::atomic<int> cancelled{0}, deadlined{0}, ok{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(1234 + t);
      for (int i = 0; i < kCallsPerThread; ++i) {
        const v1::GenerateRequest request = Greedy(g.ids, std::uniform_int_distribution<int32_t>(1, 64)(rng));
        grpc::ClientContext ctx;
        grpc::Status st;
        switch (i % 3) {
          case 0: {  // a deadline somewhere between admission and the last token
            ctx.set_deadline(std::chrono::system_clock::now() +
                             std::chrono::microseconds(std::uniform_int_distribution<int>(0, 20000)(rng)));
            v1::GenerateResponse response;
            st = stub->Generate(&ctx, request, &response);
            break;
          }
          case 1: {  // a unary call cancelled after a random delay
            v1::GenerateResponse response;
            std::promise<grpc::Status> done;
            stub->async()->Generate(&ctx, &request, &response, [&done](grpc::Status s) { done.set_value(s); });
            std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, 10000)(rng)));
            ctx.TryCancel();
            st = done.get_future().get();
            break;
          }
          default: {  // a stream cancelled after a random number of chunks
            auto reader = stub->GenerateStream(&ctx, request);
            v1::GenerateStreamResponse msg;
            const int chunks = std::uniform_int_distribution<int>(0, 8)(rng);
            for (int c = 0; c < chunks && reader->Read(&msg); ++c) {
            }
            ctx.TryCancel();
            while (reader->Read(&msg)) {
            }
            st = reader->Finish();
          }
        }
        switch (st.error_code()) {
          case grpc::StatusCode::CANCELLED: ++cancelled; break;
          case grpc::StatusCode::DEADLINE_EXCEEDED: ++deadlined; break;
          case grpc::StatusCode::OK: ++ok; break;
          default: ++other; ADD_FAILURE() << st.error_code() << ": " << st.error_message();
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(cancelled + deadlined + ok, kThreads * kCallsPerThread);
  EXPECT_EQ(other, 0);
  EXPECT_GT(cancelled, 500);
  EXPECT_GT(deadlined, 100);

  ExpectAllBlocksFreed(*stub);
  grpc::ClientContext ctx;
  v1::GenerateResponse response;
  ASSERT_TRUE(stub->Generate(&ctx, golden, &response).ok());
  EXPECT_EQ(std::vector<int32_t>(response.token_ids().begin(), response.token_ids().end()), g.greedy);
  const std::string text = Scrape(metrics_port);
  EXPECT_EQ(text.find("code=\"UNIMPLEMENTED\""), std::string::npos) << text;
  EXPECT_EQ(server.Stop(), 0);
}

}  // namespace
}  // namespace switchyard::server
