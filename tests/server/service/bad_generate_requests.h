// At least 30 malformed generate requests, each with the exact status and
// a part of the message it must get; run against the in-process server and
// the real binary alike. The prompt is the Mixtral fixture's golden one
// (25 tokens, vocabulary 512, context 512).
#pragma once

#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "switchyard/v1/switchyard.grpc.pb.h"

namespace switchyard::server {

struct BadRequest {
  std::string name;
  std::function<void(v1::GenerateRequest&)> edit;
  grpc::StatusCode code;
  std::string message;  // a part of the status message
};

// Each case applied to `valid` (a greedy request for the golden prompt), unary
// and streamed; `max_message_bytes` is the server's limit.
inline void ExpectEachBadRequestGetsItsStatus(v1::Switchyard::Stub& stub, const v1::GenerateRequest& valid,
                                              int32_t max_message_bytes) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  using C = grpc::StatusCode;
  const std::vector<BadRequest> cases = {
      {"no prompt", [](auto& r) { r.clear_prompt(); }, C::INVALID_ARGUMENT, "prompt"},
      {"empty text", [](auto& r) { r.set_text(""); }, C::INVALID_ARGUMENT, "text is empty"},
      {"empty ids", [](auto& r) { r.mutable_token_ids()->clear_ids(); }, C::INVALID_ARGUMENT, "token_ids.ids is empty"},
      {"id past vocab", [](auto& r) { r.mutable_token_ids()->set_ids(1, 512); }, C::INVALID_ARGUMENT,
       "token_ids.ids[1] is 512; must be in [0, 512)"},
      {"negative id", [](auto& r) { r.mutable_token_ids()->set_ids(0, -1); }, C::INVALID_ARGUMENT, "is -1"},
      {"NaN temperature", [&](auto& r) { r.mutable_sampling()->set_temperature(nan); }, C::INVALID_ARGUMENT,
       "temperature"},
      {"negative temperature", [](auto& r) { r.mutable_sampling()->set_temperature(-1); }, C::INVALID_ARGUMENT,
       "temperature"},
      {"inf top_p", [&](auto& r) { r.mutable_sampling()->set_top_p(inf); }, C::INVALID_ARGUMENT, "top_p"},
      {"zero top_p", [](auto& r) { r.mutable_sampling()->set_top_p(0); }, C::INVALID_ARGUMENT, "top_p"},
      {"negative top_k", [](auto& r) { r.mutable_sampling()->set_top_k(-2); }, C::INVALID_ARGUMENT, "top_k"},
      {"min_p > 1", [](auto& r) { r.mutable_sampling()->set_min_p(1.5f); }, C::INVALID_ARGUMENT, "min_p"},
      {"zero repetition penalty", [](auto& r) { r.mutable_sampling()->set_repetition_penalty(0); },
       C::INVALID_ARGUMENT, "repetition_penalty"},
      {"presence penalty 3", [](auto& r) { r.mutable_sampling()->set_presence_penalty(3); }, C::INVALID_ARGUMENT,
       "presence_penalty"},
      {"NaN frequency penalty", [&](auto& r) { r.mutable_sampling()->set_frequency_penalty(nan); },
       C::INVALID_ARGUMENT, "frequency_penalty"},
      {"zero max_tokens", [](auto& r) { r.mutable_stopping()->set_max_tokens(0); }, C::INVALID_ARGUMENT,
       "max_tokens"},
      {"past the context", [](auto& r) { r.mutable_stopping()->set_max_tokens(500); }, C::INVALID_ARGUMENT,
       "prompt (25 tokens) plus max_tokens (500) is 525 tokens, over the context length 512"},
      {"stop id past vocab", [](auto& r) { r.mutable_stopping()->add_stop_token_ids(9999); }, C::INVALID_ARGUMENT,
       "stop_token_ids[0]"},
      {"empty stop string", [](auto& r) { r.mutable_stopping()->add_stop(""); }, C::INVALID_ARGUMENT, "stop"},
      {"inf temperature", [&](auto& r) { r.mutable_sampling()->set_temperature(inf); }, C::INVALID_ARGUMENT,
       "temperature"},
      {"NaN top_p", [&](auto& r) { r.mutable_sampling()->set_top_p(nan); }, C::INVALID_ARGUMENT, "top_p"},
      {"negative min_p", [](auto& r) { r.mutable_sampling()->set_min_p(-0.1f); }, C::INVALID_ARGUMENT, "min_p"},
      {"NaN min_p", [&](auto& r) { r.mutable_sampling()->set_min_p(nan); }, C::INVALID_ARGUMENT, "min_p"},
      {"negative repetition penalty", [](auto& r) { r.mutable_sampling()->set_repetition_penalty(-1); },
       C::INVALID_ARGUMENT, "repetition_penalty"},
      {"inf repetition penalty", [&](auto& r) { r.mutable_sampling()->set_repetition_penalty(inf); },
       C::INVALID_ARGUMENT, "repetition_penalty"},
      {"presence penalty -3", [](auto& r) { r.mutable_sampling()->set_presence_penalty(-3); },
       C::INVALID_ARGUMENT, "presence_penalty"},
      {"frequency penalty 2.5", [](auto& r) { r.mutable_sampling()->set_frequency_penalty(2.5f); },
       C::INVALID_ARGUMENT, "frequency_penalty"},
      {"negative max_tokens", [](auto& r) { r.mutable_stopping()->set_max_tokens(-5); }, C::INVALID_ARGUMENT,
       "max_tokens"},
      {"negative stop id", [](auto& r) { r.mutable_stopping()->add_stop_token_ids(-1); }, C::INVALID_ARGUMENT,
       "stop_token_ids[0]"},
      {"prompt alone past the context",
       [](auto& r) {
         for (int i = 0; i < 600; ++i) r.mutable_token_ids()->add_ids(5);
       },
       C::INVALID_ARGUMENT, "over the context length 512"},
      {"logprobs 21", [](auto& r) { r.set_logprobs(21); }, C::INVALID_ARGUMENT, "logprobs"},
      {"negative logprobs", [](auto& r) { r.set_logprobs(-1); }, C::INVALID_ARGUMENT, "logprobs"},
      {"cache_salt past 256 bytes", [](auto& r) { r.set_cache_salt(std::string(257, 's')); }, C::INVALID_ARGUMENT,
       "cache_salt is 257 bytes; must be at most 256"},
      {"unknown model", [](auto& r) { r.set_model("gpt-9"); }, C::NOT_FOUND, "\"gpt-9\""},
      {"oversized", [max_message_bytes](auto& r) { r.set_text(std::string(max_message_bytes + 1, 'a')); }, C::RESOURCE_EXHAUSTED, ""},
  };
  for (const BadRequest& c : cases) {
    for (bool stream : {false, true}) {
      SCOPED_TRACE(c.name + (stream ? " (stream)" : " (unary)"));
      v1::GenerateRequest request = valid;
      c.edit(request);
      grpc::ClientContext ctx;
      grpc::Status st;
      if (stream) {
        auto reader = stub.GenerateStream(&ctx, request);
        v1::GenerateStreamResponse msg;
        EXPECT_FALSE(reader->Read(&msg));
        st = reader->Finish();
      } else {
        v1::GenerateResponse response;
        st = stub.Generate(&ctx, request, &response);
      }
      EXPECT_EQ(st.error_code(), c.code) << st.error_message();
      EXPECT_NE(st.error_message().find(c.message), std::string::npos) << st.error_message();
    }
  }
}

}  // namespace switchyard::server
