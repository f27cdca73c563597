// Wire bytes -> v1::GenerateRequest -> server::ParseGenerateRequest against
// the demo model (tests/fixtures/mixtral), as the server validates every call
// before queueing it. What it accepts the engine runs as is, so each bound is
// checked here again; what it refuses must be INVALID_ARGUMENT with a message
// short enough for the grpc-message trailer.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "common/check.h"
#include "engine/model_config.h"
#include "engine/tokenizer/tokenizer.h"
#include "google/protobuf/stubs/logging.h"
#include "server/service/generate_request.h"
#include "switchyard/v1/switchyard.pb.h"

namespace switchyard::server {
namespace {

// An error message is a fixed sentence, field names, a few numbers (20
// characters at most each) and at most one client string, quoted cut to
// kMaxQuotedBytes (quoted_value.h: 100 bytes plus a ~25-byte "... (N bytes)").
// The longest today is under 200 bytes; 1 KiB leaves room for a message with
// several values while any client string echoed whole (inputs reach 4 KiB)
// is caught.
constexpr size_t kMaxErrorMessageBytes = 1024;

struct DemoModel {
  std::unique_ptr<engine::Tokenizer> tokenizer;
  engine::ModelConfig config;
};

const DemoModel& Demo() {
  static const DemoModel* demo = [] {
    const std::string dir = SWITCHYARD_SOURCE_DIR "/tests/fixtures/mixtral";
    auto tokenizer = engine::Tokenizer::FromModelDir(dir);
    auto config = engine::LoadModelConfig(dir);
    if (!tokenizer.ok() || !config.ok()) {
      std::fprintf(stderr, "cannot load the demo model from %s\n", dir.c_str());
      std::abort();
    }
    return new DemoModel{std::move(*tokenizer), *std::move(config)};
  }();
  return *demo;
}

void CheckAccepted(const v1::GenerateRequest& request, const GenerationInput& in) {
  const engine::ModelConfig& model = Demo().config;
  SWITCHYARD_CHECK(!in.prompt_ids.empty());
  for (int32_t id : in.prompt_ids) SWITCHYARD_CHECK(id >= 0 && id < model.vocab_size);
  if (request.has_token_ids()) {
    const auto& ids = request.token_ids().ids();
    SWITCHYARD_CHECK(std::equal(in.prompt_ids.begin(), in.prompt_ids.end(), ids.begin(), ids.end()));
  } else {
    SWITCHYARD_CHECK(request.has_text() && in.prompt_ids == Demo().tokenizer->Encode(request.text()));
  }
  SWITCHYARD_CHECK(in.sampling.Validate(model.vocab_size).ok());
  SWITCHYARD_CHECK(in.sampling.max_tokens >= 1);
  SWITCHYARD_CHECK(static_cast<int64_t>(in.prompt_ids.size()) + in.sampling.max_tokens <=
             model.max_position_embeddings);
  SWITCHYARD_CHECK(in.stop.size() == static_cast<size_t>(request.stopping().stop_size()));
  for (const std::string& stop : in.stop) SWITCHYARD_CHECK(!stop.empty());
  SWITCHYARD_CHECK(in.return_routing == request.return_routing());
}

}  // namespace
}  // namespace switchyard::server

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  // Protobuf logs every string field that is not UTF-8 before refusing the
  // message: millions of lines, and most of the fuzzer's time, otherwise.
  google::protobuf::SetLogHandler(nullptr);
  switchyard::server::Demo();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace switchyard;
  v1::GenerateRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  const absl::StatusOr<server::GenerationInput> input =
      server::ParseGenerateRequest(request, *server::Demo().tokenizer, server::Demo().config);
  if (!input.ok()) {
    SWITCHYARD_CHECK(input.status().code() == absl::StatusCode::kInvalidArgument);
    SWITCHYARD_CHECK(input.status().message().size() <= server::kMaxErrorMessageBytes);
    return 0;
  }
  server::CheckAccepted(request, *input);
  return 0;
}
