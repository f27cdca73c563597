// Request bytes that do not parse as the method's message, sent through the
// real server in process with a generic stub, to switchyard.v1 and to the
// KServe service: each call gets INVALID_ARGUMENT saying the request could
// not be parsed, and is counted under that code.
#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>
#include <vector>

#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "server/generate_command.h"
#include "server/service/grpc_server.h"
#include "server/service/metrics.h"
#include "server/service/unparsed_request_interceptor.h"
#include "switchyard/v1/switchyard.grpc.pb.h"
#include "tests/server/service/server_test_util.h"

namespace switchyard::server {
namespace {

grpc::Status CallRaw(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                     const std::string& bytes) {
  grpc::GenericStub generic(channel);
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1), response;
  grpc::ClientContext ctx;
  std::promise<grpc::Status> done;
  generic.UnaryCall(&ctx, method, grpc::StubOptions(), &request, &response,
                    [&done](grpc::Status s) { done.set_value(s); });
  return done.get_future().get();
}

class MalformedRequestTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tokenizer_ = LoadTokenizer(kMixtral)->release();
    engine_ = StartEngine(EngineConfig()).release();
    metrics_ = Metrics::Start({"127.0.0.1:0", 8192}, *engine_)->release();
    GrpcServerConfig c = LoopbackServerConfig();
    server_ = GrpcServer::Start(c, *engine_, *tokenizer_, metrics_)->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    delete metrics_;
    delete engine_;
    delete tokenizer_;
  }
  std::shared_ptr<grpc::Channel> Channel() {
    return grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
  }

  static inline engine::Tokenizer* tokenizer_ = nullptr;
  static inline EngineService* engine_ = nullptr;
  static inline Metrics* metrics_ = nullptr;
  static inline GrpcServer* server_ = nullptr;
};

struct Malformed {
  std::string name, bytes;
};

std::vector<Malformed> MalformedBodies() {
  return {
      {"invalid UTF-8 in text (field 2)", std::string("\x12\x02\xff\xfe", 4)},
      {"invalid UTF-8 in model (field 1)", std::string("\x0a\x03\xc3\x28\x41", 5)},
      {"truncated length-delimited field", std::string("\x12\x10shorter", 9)},
      {"random bytes", std::string("\xde\xad\xbe\xef\x01\x02\x03\xff\xff\xff", 10)},
      {"deeply nested unknown groups", std::string(200000, '\x0b')},
  };
}

TEST_F(MalformedRequestTest, UnaryMethodsSayTheRequestDidNotParse) {
  auto channel = Channel();
  for (const char* method : {"/switchyard.v1.Switchyard/Generate", "/switchyard.v1.Switchyard/Tokenize",
                             "/switchyard.v1.Switchyard/GenerateStream"}) {
    for (const Malformed& m : MalformedBodies()) {
      SCOPED_TRACE(std::string(method) + ": " + m.name);
      const grpc::Status st = CallRaw(channel, method, m.bytes);
      EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
      EXPECT_NE(st.error_message().find("could not be parsed"), std::string::npos) << st.error_message();
    }
  }
}

// The KServe service's unary methods likewise. Its empty request messages
// (ServerLiveRequest...) take any well-formed bytes, so only bodies that are
// not protobuf at all are sent to every method.
TEST_F(MalformedRequestTest, InferenceMethodsSayTheRequestDidNotParse) {
  auto channel = Channel();
  const std::vector<Malformed> bodies = {
      {"truncated length-delimited field", std::string("\x12\x10shorter", 9)},
      {"random bytes", std::string("\xde\xad\xbe\xef\x01\x02\x03\xff\xff\xff", 10)},
      {"deeply nested unknown groups", std::string(200000, '\x0b')},
  };
  for (const char* method : {"ServerLive", "ServerReady", "ModelReady", "ServerMetadata", "ModelMetadata",
                             "ModelConfig", "ModelInfer"}) {
    for (const Malformed& m : bodies) {
      SCOPED_TRACE(std::string(method) + ": " + m.name);
      const grpc::Status st = CallRaw(channel, std::string("/inference.GRPCInferenceService/") + method, m.bytes);
      EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
      EXPECT_EQ(st.error_message().rfind(std::string("the request could not be parsed as inference.") + method +
                                             "Request",
                                         0),
                0u)
          << st.error_message();
    }
  }
  // Invalid UTF-8 in ModelInferRequest.model_name (field 1).
  const grpc::Status st =
      CallRaw(channel, "/inference.GRPCInferenceService/ModelInfer", std::string("\x0a\x03\xc3\x28\x41", 5));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
}

TEST_F(MalformedRequestTest, TheyAreCountedAsInvalidArgumentAndTheConnectionGoesOn) {
  auto channel = Channel();
  for (int i = 0; i < 3; ++i) CallRaw(channel, "/switchyard.v1.Switchyard/Detokenize", "\xff\xff\xff");
  EXPECT_NE(Scrape(metrics_->port()).find("switchyard_requests_total{code=\"INVALID_ARGUMENT\",rpc=\"Detokenize\"} 3"),
            std::string::npos)
      << Scrape(metrics_->port());
  v1::TokenizeRequest request;
  request.set_text("The yard master");
  v1::TokenizeResponse response;
  grpc::ClientContext ctx;
  EXPECT_TRUE(v1::Switchyard::NewStub(channel)->Tokenize(&ctx, request, &response).ok());
}

TEST_F(MalformedRequestTest, AnUnknownMethodIsStillUnimplemented) {
  const grpc::Status st = CallRaw(Channel(), "/switchyard.v1.Switchyard/NoSuchMethod", "");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNIMPLEMENTED);
}

TEST(StatusForUnparsedRequestTest, OnlyGrpcsOwnUnimplementedOnOurMethodsIsRewritten) {
  const grpc::Status unparsed(grpc::StatusCode::UNIMPLEMENTED, "");
  const std::string generate = "/switchyard.v1.Switchyard/Generate";
  std::optional<grpc::Status> replaced = StatusForUnparsedRequest(generate, unparsed, CallEnd::kLive);
  ASSERT_TRUE(replaced.has_value());
  EXPECT_EQ(replaced->error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(replaced->error_message().rfind("the request could not be parsed as switchyard.v1.GenerateRequest", 0), 0u)
      << replaced->error_message();
  // A client that cancelled before its request arrived: counted as CANCELLED.
  replaced = StatusForUnparsedRequest(generate, unparsed, CallEnd::kCancelled);
  ASSERT_TRUE(replaced.has_value());
  EXPECT_EQ(replaced->error_code(), grpc::StatusCode::CANCELLED);
  // One whose deadline passed first (under load, before the request was
  // read): counted as DEADLINE_EXCEEDED, not as a malformed request.
  replaced = StatusForUnparsedRequest(generate, unparsed, CallEnd::kDeadlinePassed);
  ASSERT_TRUE(replaced.has_value());
  EXPECT_EQ(replaced->error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  // Left alone: other codes, UNIMPLEMENTED with a message, other services and unknown methods.
  EXPECT_EQ(StatusForUnparsedRequest(generate, grpc::Status::OK, CallEnd::kLive), std::nullopt);
  EXPECT_EQ(StatusForUnparsedRequest(generate, grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "why"), CallEnd::kLive),
            std::nullopt);
  EXPECT_EQ(StatusForUnparsedRequest("/grpc.health.v1.Health/Check", unparsed, CallEnd::kLive), std::nullopt);
  EXPECT_EQ(StatusForUnparsedRequest("/switchyard.v1.Switchyard/NoSuchMethod", unparsed, CallEnd::kLive), std::nullopt);
  // The KServe service's methods too; a Triton RPC it does not serve stays
  // UNIMPLEMENTED.
  replaced = StatusForUnparsedRequest("/inference.GRPCInferenceService/ModelInfer", unparsed, CallEnd::kLive);
  ASSERT_TRUE(replaced.has_value());
  EXPECT_EQ(replaced->error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(replaced->error_message().rfind("the request could not be parsed as inference.ModelInferRequest", 0), 0u)
      << replaced->error_message();
  EXPECT_EQ(StatusForUnparsedRequest("/inference.GRPCInferenceService/ModelStatistics", unparsed, CallEnd::kLive),
            std::nullopt);
}

}  // namespace
}  // namespace switchyard::server
