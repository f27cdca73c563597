// grpc.health.v1 Watch on the real server in process: a watcher sees each
// transition once, from SERVING to NOT_SERVING when the server drains, and
// nothing more when it then shuts down.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "server/generate_command.h"
#include "server/service/grpc_server.h"
#include "tests/server/service/server_test_util.h"

namespace switchyard::server {
namespace {

using grpc::health::v1::HealthCheckResponse;

struct Watcher {
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReader<HealthCheckResponse>> reader;
};

TEST(HealthWatchTest, DrainingIsSentOnceAndShutdownSendsNothingMore) {
  std::unique_ptr<engine::Tokenizer> tokenizer = *LoadTokenizer(kMixtral);
  std::unique_ptr<EngineService> engine = StartEngine(EngineConfig());
  GrpcServerConfig c = LoopbackServerConfig();
  std::unique_ptr<GrpcServer> server = *GrpcServer::Start(c, *engine, *tokenizer);
  auto channel = grpc::CreateChannel(server->address(), grpc::InsecureChannelCredentials());
  ASSERT_EQ(WaitForHealth(channel, "", kServing), kServing);

  auto stub = grpc::health::v1::Health::NewStub(channel);
  const std::vector<std::string> services = {"", "switchyard.v1.Switchyard"};
  std::vector<std::unique_ptr<Watcher>> watchers;
  for (const std::string& service : services) {
    auto w = std::make_unique<Watcher>();
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    w->reader = stub->Watch(&w->ctx, request);
    HealthCheckResponse first;
    ASSERT_TRUE(w->reader->Read(&first)) << service;
    EXPECT_EQ(first.status(), HealthCheckResponse::SERVING) << service;
    watchers.push_back(std::move(w));
  }

  server->StartDraining();
  absl::SleepFor(absl::Milliseconds(300));  // the watchdog polls meanwhile, and must change nothing
  server->Shutdown(absl::Now());

  for (size_t i = 0; i < services.size(); ++i) {
    std::vector<int> after;
    HealthCheckResponse response;
    while (watchers[i]->reader->Read(&response)) after.push_back(response.status());
    watchers[i]->reader->Finish();
    EXPECT_EQ(after, std::vector<int>{HealthCheckResponse::NOT_SERVING}) << "service \"" << services[i] << "\"";
  }
}

}  // namespace
}  // namespace switchyard::server
