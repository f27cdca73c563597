// Shared by the in-process server tests: the Mixtral fixture and its golden
// prompt, an engine started and loaded, health checks, a metrics scrape and a
// stream cancelled mid-generation.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/service/engine_service.h"
#include "server/service/grpc_server.h"
#include "switchyard/v1/switchyard.grpc.pb.h"

namespace switchyard::server {

inline const std::string kMixtral = std::string(SWITCHYARD_SOURCE_DIR) + "/tests/fixtures/mixtral";
inline constexpr int32_t kMaxMessageBytes = 64 << 10;

struct Golden {
  std::string text;
  std::vector<int32_t> ids;
  std::vector<int32_t> greedy;
  std::string greedy_text;
};

inline Golden ReadGolden() {
  std::ifstream in(kMixtral + "/golden.json");
  const nlohmann::json j = nlohmann::json::parse(in);
  const nlohmann::json& p = j["prompts"][0];
  return {p["text"], p["ids"], p["greedy"], p["greedy_text"]};
}

inline EngineServiceConfig EngineConfig() {
  EngineServiceConfig c;
  c.engine.model.path = kMixtral;
  c.engine.backend = "cpu";
  c.engine.kv_cache.num_blocks = 128;
  return c;
}

// grpc.health.v1.Health/Check through the generic stub: the response's
// field 1 (status) is 1 for SERVING, 2 for NOT_SERVING.
inline int HealthStatus(const std::shared_ptr<grpc::Channel>& channel, const std::string& service) {
  grpc::GenericStub generic(channel);
  std::string request;
  if (!service.empty()) request = std::string("\x0a", 1) + static_cast<char>(service.size()) + service;
  grpc::Slice slice(request);
  grpc::ByteBuffer req(&slice, 1), resp;
  grpc::ClientContext ctx;
  std::promise<grpc::Status> done;
  generic.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &req, &resp,
                    [&done](grpc::Status s) { done.set_value(s); });
  const grpc::Status st = done.get_future().get();
  if (!st.ok()) return -st.error_code();
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(resp.Dump(&slices).ok());
  std::string bytes;
  for (const grpc::Slice& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return bytes.size() == 2 && bytes[0] == 0x08 ? bytes[1] : 0;
}

constexpr int kServing = 1;
constexpr int kNotServing = 2;

// The health status once it is `expected`, or whatever it is after 5 s (the
// watchdog updates it every 50 ms).
inline int WaitForHealth(const std::shared_ptr<grpc::Channel>& channel, const std::string& service, int expected) {
  int status = 0;
  for (int i = 0; i < 500 && (status = HealthStatus(channel, service)) != expected; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return status;
}

// A gRPC server's configuration for the tests: loopback, an ephemeral port.
inline GrpcServerConfig LoopbackServerConfig() {
  GrpcServerConfig c;
  c.host = "127.0.0.1";
  c.port = 0;
  return c;
}

// Started, and its model loaded and warmed up.
inline std::unique_ptr<EngineService> StartEngine(const EngineServiceConfig& config) {
  absl::StatusOr<std::unique_ptr<EngineService>> engine = EngineService::Start(config);
  EXPECT_TRUE(engine.ok()) << engine.status();
  if (!engine.ok()) return nullptr;
  const absl::Status loaded = (*engine)->WaitUntilLoaded();
  EXPECT_TRUE(loaded.ok()) << loaded;
  return std::move(*engine);
}

// GET /metrics over a plain socket.
inline std::string Scrape(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string request = "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n";
    if (write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      char buf[4096];
      for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;) response.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  return response;
}

// Starts `request` as a stream (a minute's deadline), cancels it after its
// first chunk and reads to the end; true once a cancellation ended a stream
// (CANCELLED, no end message). A whole generation takes tens of
// milliseconds, so on a busy machine it may end before the cancellation
// arrives, and that try proves nothing: up to five tries, each followed by
// `after_each_try` (e.g. checking that every KV block is free again).
inline bool CancelAStreamMidGeneration(v1::Switchyard::Stub& stub, const v1::GenerateRequest& request,
                                       const std::function<void()>& after_each_try = [] {}) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(1));
    auto reader = stub.GenerateStream(&ctx, request);
    v1::GenerateStreamResponse msg;
    const bool first_chunk = reader->Read(&msg) && msg.has_chunk();
    ctx.TryCancel();
    bool ended = false;
    while (reader->Read(&msg)) ended |= msg.has_end();
    const grpc::Status st = reader->Finish();
    after_each_try();
    if (!first_chunk) {
      ADD_FAILURE() << "the stream sent no chunk: " << st.error_code() << " " << st.error_message();
      return false;
    }
    if (!ended) {
      EXPECT_EQ(st.error_code(), grpc::StatusCode::CANCELLED) << st.error_message();
      return true;
    }
  }
  return false;
}

}  // namespace switchyard::server
