// The Prometheus metrics of a real gRPC server, in process on ephemeral
// loopback ports with the Mixtral fixture, scraped over HTTP. Each test has
// its own server: stopping the metrics' HTTP server takes a while, which the
// other server tests need not pay.
#include "server/service/metrics.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "grpcpp/grpcpp.h"
#include "server/generate_command.h"
#include "server/service/engine_service.h"
#include "server/service/grpc_server.h"
#include "switchyard/v1/switchyard.grpc.pb.h"
#include "tests/server/service/server_test_util.h"

namespace switchyard::server {
namespace {

// Scrapes until `done` holds for the text, or for 2 s; the last scrape. The
// engine publishes its counters after the step whose output ended a call,
// and a call is counted as its status is sent: either can trail the reply.
std::string ScrapeUntil(int port, const std::function<bool(const std::string&)>& done) {
  std::string text = Scrape(port);
  for (int i = 0; i < 200 && !done(text); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    text = Scrape(port);
  }
  return text;
}

// An engine on the Mixtral fixture, its metrics and a gRPC server, started
// in that order and stopped in the reverse one.
struct ServerWithMetrics {
  std::unique_ptr<engine::Tokenizer> tokenizer = *LoadTokenizer(kMixtral);
  std::unique_ptr<EngineService> engine = StartEngine(EngineConfig());
  std::unique_ptr<Metrics> metrics = *Metrics::Start({"127.0.0.1:0"}, *engine);
  std::unique_ptr<GrpcServer> server = *GrpcServer::Start(LoopbackServerConfig(), *engine, *tokenizer, metrics.get());
  std::unique_ptr<v1::Switchyard::Stub> stub =
      v1::Switchyard::NewStub(grpc::CreateChannel(server->address(), grpc::InsecureChannelCredentials()));
};

TEST(GrpcServerMetricsTest, MetricsHaveCallsLatenciesAndExpertTokens) {
  const ServerWithMetrics served;
  v1::GenerateRequest request;
  request.set_text(ReadGolden().text);
  request.mutable_stopping()->set_max_tokens(8);
  grpc::ClientContext ctx;
  v1::GenerateResponse response;
  ASSERT_TRUE(served.stub->Generate(&ctx, request, &response).ok());
  const std::string text = ScrapeUntil(served.metrics->port(), [](const std::string& scrape) {
    return scrape.find("switchyard_generated_tokens_total 9\n") != std::string::npos;
  });
  for (const char* expected : {
           "switchyard_requests_total{code=\"OK\",rpc=\"Generate\"}",
           "switchyard_time_to_first_token_seconds_count",
           "switchyard_inter_token_latency_seconds_bucket",
           "switchyard_e2e_request_latency_seconds_sum",
           "switchyard_num_requests_running",
           "switchyard_kv_cache_usage_ratio",
           "switchyard_kv_blocks 128",
           "switchyard_engine_loaded 1\n",
           "switchyard_engine_stalled_seconds 0\n",
           "switchyard_kv_blocks_free",
           "switchyard_kv_blocks_cached ",
           "switchyard_kv_blocks_evictable ",
           "switchyard_prefix_cache_queries_tokens_total ",
           "switchyard_prefix_cache_hits_tokens_total ",
           "switchyard_generated_tokens_total 9",  // the warm-up token too
           "switchyard_prompt_tokens_total",
           "switchyard_queue_time_seconds_count 1",
           "switchyard_request_prompt_tokens_bucket",
           "switchyard_request_generated_tokens_sum 8",
           "switchyard_step_tokens_bucket{le=\"+Inf\"}",
           "switchyard_step_duration_seconds_count",
           "switchyard_expert_tokens_total{expert=\"7\",layer=\"1\"}",
           "switchyard_expert_imbalance_ratio{layer=\"1\"}",
       }) {
    EXPECT_NE(text.find(expected), std::string::npos) << expected << " missing from\n" << text;
  }
  // The exposition passes Prometheus' own linter.
  const size_t body = text.find("\r\n\r\n");
  ASSERT_NE(body, std::string::npos);
  const std::string path = ::testing::TempDir() + "/metrics.txt";
  std::ofstream(path) << text.substr(body + 4);
  const std::string command = "promtool check metrics < " + path + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[512];
  for (size_t n; (n = fread(buf, 1, sizeof(buf), pipe)) > 0;) output.append(buf, n);
  EXPECT_EQ(pclose(pipe), 0) << "promtool check metrics:\n" << output;
}

// A sample's value in a scrape, or -1 when it is not there.
double MetricValue(const std::string& text, const std::string& sample) {
  const std::string key = "\n" + sample + " ";
  const size_t at = text.find(key);
  return at == std::string::npos ? -1 : std::stod(text.substr(at + key.size()));
}

// The prefix cache's counters are in tokens and its gauges in blocks: the
// same prompt twice is looked up twice, and found the second time.
TEST(GrpcServerMetricsTest, PrefixCacheCountersCountTokens) {
  const ServerWithMetrics served;
  const Golden g = ReadGolden();  // 25 tokens: one full 16-token block to share
  v1::GenerateRequest request;
  request.mutable_token_ids()->mutable_ids()->Add(g.ids.begin(), g.ids.end());
  request.mutable_stopping()->set_max_tokens(4);
  for (int i = 0; i < 2; ++i) {
    grpc::ClientContext ctx;
    v1::GenerateResponse response;
    ASSERT_TRUE(served.stub->Generate(&ctx, request, &response).ok());
  }
  const std::string text = ScrapeUntil(served.metrics->port(), [](const std::string& scrape) {
    return MetricValue(scrape, "switchyard_prefix_cache_hits_tokens_total") >= 16;
  });
  const double queries = MetricValue(text, "switchyard_prefix_cache_queries_tokens_total");
  const double hits = MetricValue(text, "switchyard_prefix_cache_hits_tokens_total");
  EXPECT_GE(queries, 2 * (static_cast<double>(g.ids.size()) - 1)) << text;
  EXPECT_GE(hits, 16) << text;
  EXPECT_LE(hits, queries) << text;
  const double cached = MetricValue(text, "switchyard_kv_blocks_cached");
  EXPECT_GE(cached, 1) << text;
  EXPECT_GE(MetricValue(text, "switchyard_kv_blocks_evictable"), 0) << text;
  EXPECT_LE(MetricValue(text, "switchyard_kv_blocks_evictable"), cached) << text;
}

// Calls cut short by their deadline are counted DEADLINE_EXCEEDED, as their
// clients see them, whether the engine saw the deadline first or the
// client's reset reached the handler first (the usual order; the rule is
// CountedStatusCode's, tested on its own); a call its client cancels long
// before its deadline is counted CANCELLED.
TEST(GrpcServerMetricsTest, CallsCutShortAreCountedByTheirCause) {
  const ServerWithMetrics served;
  const Golden g = ReadGolden();
  v1::GenerateRequest request;
  request.mutable_token_ids()->mutable_ids()->Add(g.ids.begin(), g.ids.end());
  request.mutable_stopping()->set_max_tokens(512 - static_cast<int32_t>(g.ids.size()));
  request.mutable_stopping()->set_ignore_eos(true);
  {  // Connects the channel first, so that the calls below reach the server.
    grpc::ClientContext ctx;
    v1::TokenizeRequest tokenize;
    tokenize.set_text("The yard");
    v1::TokenizeResponse tokens;
    ASSERT_TRUE(served.stub->Tokenize(&ctx, tokenize, &tokens).ok());
  }
  // Shorter than the whole generation (tens of milliseconds).
  constexpr int kDeadlineCalls = 6;
  for (int i = 0; i < kDeadlineCalls; ++i) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(2 + 2 * i));
    v1::GenerateResponse response;
    ASSERT_EQ(served.stub->Generate(&ctx, request, &response).error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  }
  // Cancelled after its first chunk, a minute before its deadline.
  ASSERT_TRUE(CancelAStreamMidGeneration(*served.stub, request)) << "every generation finished before its cancellation";
  // The server counts a call as it sends the status, which may be a moment
  // after its client gave up: scrape until all are in. A call whose deadline
  // passed before the server read it is ended by gRPC before any handler
  // runs, and is not counted at all; on a busy machine that can happen here.
  const std::string exceeded = "switchyard_requests_total{code=\"DEADLINE_EXCEEDED\",rpc=\"Generate\"}";
  const std::string cancels = "switchyard_requests_total{code=\"CANCELLED\",rpc=\"GenerateStream\"}";
  const std::string text = ScrapeUntil(served.metrics->port(), [&](const std::string& scrape) {
    return MetricValue(scrape, exceeded) == kDeadlineCalls && MetricValue(scrape, cancels) == 1;
  });
  EXPECT_GE(MetricValue(text, exceeded), 1) << text;
  EXPECT_EQ(MetricValue(text, "switchyard_requests_total{code=\"CANCELLED\",rpc=\"Generate\"}"), -1) << text;
  EXPECT_EQ(MetricValue(text, cancels), 1) << text;
}

// A model with more layers x experts than the cap exports them summed over
// layers.
TEST(GrpcServerMetricsTest, TheExpertSeriesCapSumsOverLayers) {
  std::unique_ptr<EngineService> engine = StartEngine(EngineConfig());
  std::unique_ptr<Metrics> metrics = *Metrics::Start({"127.0.0.1:0", /*max_expert_series=*/8}, *engine);
  const std::string text = Scrape(metrics->port());
  EXPECT_NE(text.find("switchyard_expert_tokens_total{expert=\"7\",layer=\"all\"}"), std::string::npos) << text;
  EXPECT_EQ(text.find("switchyard_expert_tokens_total{expert=\"0\",layer=\"0\"}"), std::string::npos) << text;
}

}  // namespace
}  // namespace switchyard::server
