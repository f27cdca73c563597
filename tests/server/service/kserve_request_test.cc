// KServe v2 requests translated into generate requests, without a server:
// both tensor representations, the three places options come from and their
// precedence, the vLLM backend's stream and prompt rules, and a clear
// INVALID_ARGUMENT for every malformed tensor, parameter and JSON key.
#include "server/service/kserve_request.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "inference/grpc_service.pb.h"
#include "server/service/kserve_model.h"
#include "server/service/kserve_response.h"
#include "server/service/kserve_tensor.h"
#include "tests/server/service/kserve_test_util.h"

namespace switchyard::server {
namespace {

using Input = inference::ModelInferRequest::InferInputTensor;

// INVALID_ARGUMENT whose message contains `part`.
void ExpectInvalid(const absl::StatusOr<KServeRequest>& r, const std::string& part) {
  ASSERT_FALSE(r.ok()) << "expected an error containing: " << part;
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  EXPECT_NE(r.status().message().find(part), std::string::npos) << r.status();
}

TEST(KServeRequestTest, PromptAloneTakesTheDefaults) {
  for (bool raw : {true, false}) {
    absl::StatusOr<KServeRequest> r = RequestBuilder(raw).Prompt("Hello there").Translate();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->generate.text(), "Hello there");
    EXPECT_FALSE(r->generate.has_sampling());
    EXPECT_FALSE(r->generate.has_stopping());
    EXPECT_FALSE(r->stream);
    EXPECT_TRUE(r->prepend_input);  // as the vLLM backend: the prompt, then the completion
    EXPECT_TRUE(r->text_output);
    EXPECT_FALSE(r->finish_reason || r->num_input_tokens || r->num_output_tokens);
    EXPECT_EQ(r->output_shape, std::vector<int64_t>{1});
    EXPECT_FALSE(r->timeout.has_value());
  }
}

TEST(KServeRequestTest, BatchShapedPromptKeepsItsShapeForTheOutputs) {
  absl::StatusOr<KServeRequest> r = RequestBuilder().Bytes("text_input", {"Hi"}, {1, 1}).Translate();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->output_shape, (std::vector<int64_t>{1, 1}));
}

TEST(KServeRequestTest, SamplingParametersJsonAsTheVllmBackendTakesIt) {
  absl::StatusOr<KServeRequest> r =
      RequestBuilder()
          .Prompt()
          .Bytes("sampling_parameters", {R"({"temperature": "0.5", "top_p": 0.9, "top_k": -1, "max_tokens": "12",
              "min_p": 0.05, "repetition_penalty": 1.1, "presence_penalty": 0.5, "frequency_penalty": -0.5,
              "seed": 7, "stop": "\n", "stop_token_ids": [2, 3], "ignore_eos": "true", "n": 1, "logprobs": null})"})
          .Translate();
  ASSERT_TRUE(r.ok()) << r.status();
  const v1::SamplingOptions& s = r->generate.sampling();
  EXPECT_FLOAT_EQ(s.temperature(), 0.5f);
  EXPECT_FLOAT_EQ(s.top_p(), 0.9f);
  EXPECT_EQ(s.top_k(), 0);  // vLLM's -1: off
  EXPECT_FLOAT_EQ(s.min_p(), 0.05f);
  EXPECT_FLOAT_EQ(s.repetition_penalty(), 1.1f);
  EXPECT_FLOAT_EQ(s.presence_penalty(), 0.5f);
  EXPECT_FLOAT_EQ(s.frequency_penalty(), -0.5f);
  EXPECT_EQ(s.seed(), 7u);
  const v1::StoppingOptions& t = r->generate.stopping();
  EXPECT_EQ(t.max_tokens(), 12);
  ASSERT_EQ(t.stop_size(), 1);
  EXPECT_EQ(t.stop(0), "\n");
  EXPECT_EQ(std::vector<int32_t>(t.stop_token_ids().begin(), t.stop_token_ids().end()), (std::vector<int32_t>{2, 3}));
  EXPECT_TRUE(t.ignore_eos());
}

TEST(KServeRequestTest, TensorsAsTheTensorRtLlmBackendTakesThem) {
  for (bool raw : {true, false}) {
    absl::StatusOr<KServeRequest> r = RequestBuilder(raw)
                                          .Prompt()
                                          .Int32("max_tokens", 9)
                                          .Fp32("temperature", 0.25f)
                                          .Int32("top_k", 5)
                                          .Uint64("random_seed", 18446744073709551615ull)
                                          .Bytes("stop_words", {"", "."})
                                          .Int32("beam_width", 1)
                                          .Bool("return_finish_reason", true)
                                          .Bool("return_num_output_tokens", true)
                                          .Translate();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->generate.stopping().max_tokens(), 9);
    EXPECT_FLOAT_EQ(r->generate.sampling().temperature(), 0.25f);
    EXPECT_EQ(r->generate.sampling().top_k(), 5);
    EXPECT_EQ(r->generate.sampling().seed(), 18446744073709551615ull);
    ASSERT_EQ(r->generate.stopping().stop_size(), 1);  // "" means none to TensorRT-LLM's clients
    EXPECT_EQ(r->generate.stopping().stop(0), ".");
    EXPECT_TRUE(r->finish_reason);
    EXPECT_TRUE(r->num_output_tokens);
    EXPECT_FALSE(r->num_input_tokens);
  }
}

TEST(KServeRequestTest, RequestParametersOfEveryType) {
  absl::StatusOr<KServeRequest> r = RequestBuilder()
                                        .Prompt()
                                        .Param("max_tokens", IntParam(4))
                                        .Param("temperature", DoubleParam(0.0))
                                        .Param("stop", StringParam("END"))
                                        .Param("ignore_eos", BoolParam(true))
                                        .Translate();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->generate.stopping().max_tokens(), 4);
  EXPECT_TRUE(r->generate.sampling().has_temperature());
  EXPECT_FLOAT_EQ(r->generate.sampling().temperature(), 0.0f);
  EXPECT_EQ(r->generate.stopping().stop(0), "END");
  EXPECT_TRUE(r->generate.stopping().ignore_eos());
}

TEST(KServeRequestTest, TensorOverridesSamplingParametersWhichOverrideParameters) {
  RequestBuilder b;
  b.Prompt().Param("max_tokens", IntParam(5)).Param("top_p", DoubleParam(0.5));
  b.Bytes("sampling_parameters", {R"({"max_tokens": 6})"});
  absl::StatusOr<KServeRequest> r = b.Translate();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->generate.stopping().max_tokens(), 6);
  EXPECT_FLOAT_EQ(r->generate.sampling().top_p(), 0.5f);
  b.Int32("max_tokens", 7);
  r = b.Translate();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->generate.stopping().max_tokens(), 7);
}

// vLLM's request-level cache_salt, from any of the three places; its length
// is ParseGenerateRequest's to check.
TEST(KServeRequestTest, CacheSaltFromParametersSamplingParametersOrATensor) {
  absl::StatusOr<KServeRequest> r = RequestBuilder().Prompt().Translate();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->generate.cache_salt(), "");
  r = RequestBuilder().Prompt().Param("cache_salt", StringParam("tenant-a")).Translate();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->generate.cache_salt(), "tenant-a");
  r = RequestBuilder().Prompt().Bytes("sampling_parameters", {R"({"cache_salt": "tenant-b"})"}).Translate();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->generate.cache_salt(), "tenant-b");
  for (bool raw : {true, false}) {
    r = RequestBuilder(raw).Prompt().Bytes("cache_salt", {"tenant-c"}).Translate();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->generate.cache_salt(), "tenant-c");
  }
  r = RequestBuilder().Prompt().Bytes("cache_salt", {std::string(300, 's')}).Translate();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->generate.cache_salt().size(), 300u);
  // The salt is a secret: a bad one is not quoted back.
  ExpectInvalid(RequestBuilder().Prompt().Bytes("sampling_parameters", {R"({"cache_salt": 7})"}).Translate(),
                "sampling_parameters.cache_salt is 7; must be a string");
  const absl::StatusOr<KServeRequest> bad =
      RequestBuilder().Prompt().Param("cache_salt", StringParam("secret\xff")).Translate();
  ExpectInvalid(bad, "parameter \"cache_salt\" is not valid UTF-8");
  EXPECT_EQ(bad.status().message().find("secret"), std::string::npos) << bad.status();
  ExpectInvalid(RequestBuilder().Prompt().Bytes("cache_salt", {"a", "b"}).Translate(),
                "input \"cache_salt\" has 2 elements; it must have exactly one");
  ExpectInvalid(RequestBuilder().Prompt().Int32("cache_salt", 1).Translate(),
                "input \"cache_salt\" has datatype \"INT32\"; it must be BYTES");
}

TEST(KServeRequestTest, StreamingSendsOnlyTheCompletion) {
  absl::StatusOr<KServeRequest> r = RequestBuilder().Prompt().Bool("stream", true).Translate();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->stream);
  EXPECT_FALSE(r->prepend_input);
  r = RequestBuilder().Prompt().Bool("exclude_input_in_output", true).Translate();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->prepend_input);
  // vLLM's rule: a stream that asks for the prompt too is refused.
  ExpectInvalid(RequestBuilder().Prompt().Bool("stream", true).Bool("exclude_input_in_output", false).Translate(),
                "exclude_input_in_output is false while stream is true");
}

TEST(KServeRequestTest, ListedOutputsAreTheOnlyOnesReturned) {
  absl::StatusOr<KServeRequest> r =
      RequestBuilder().Prompt().Output("finish_reason").Output("num_input_tokens").Translate();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->text_output);
  EXPECT_TRUE(r->finish_reason);
  EXPECT_TRUE(r->num_input_tokens);
  EXPECT_FALSE(r->num_output_tokens);
  ExpectInvalid(RequestBuilder().Prompt().Output("logits").Translate(),
                "requested output \"logits\" is not one this model returns; it returns text_output, finish_reason");
}

TEST(KServeRequestTest, TritonsOwnParametersAreIgnoredAndTimeoutBoundsTheDeadline) {
  absl::StatusOr<KServeRequest> r = RequestBuilder()
                                        .Prompt()
                                        .Param("triton_enable_empty_final_response", BoolParam(true))
                                        .Param("priority", IntParam(1))
                                        .Param("sequence_id", IntParam(3))
                                        .Param("timeout", IntParam(2500000))
                                        .Translate();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->timeout, absl::Milliseconds(2500));
  ExpectInvalid(RequestBuilder().Prompt().Param("timeout", StringParam("1s")).Translate(),
                "parameter \"timeout\" is \"1s\"; must be an int64 number of microseconds >= 0");
}

TEST(KServeRequestTest, RequestIdIsKept) {
  RequestBuilder b;
  b.Prompt().request().set_id("req-42");
  absl::StatusOr<KServeRequest> r = b.Translate();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->id, "req-42");
  EXPECT_EQ(r->generate.request_id(), "req-42");
}

TEST(KServeRequestTest, BadPromptsAreRefusedClearly) {
  ExpectInvalid(RequestBuilder().Int32("max_tokens", 4).Translate(), "input \"text_input\" is missing");
  ExpectInvalid(RequestBuilder().Prompt("").Translate(), "input \"text_input\" is empty");
  ExpectInvalid(RequestBuilder().Prompt("\xff\xfe").Translate(), "input \"text_input\" is not valid UTF-8");
  ExpectInvalid(RequestBuilder().Int32("text_input", 4).Translate(),
                "input \"text_input\" has datatype \"INT32\"; it must be BYTES");
  ExpectInvalid(RequestBuilder().Bytes("text_input", {"a", "b"}).Translate(),
                "input \"text_input\" has 2 elements; it must have exactly one (one prompt per request: no batching)");
}

TEST(KServeRequestTest, BadOptionsAreRefusedClearly) {
  ExpectInvalid(RequestBuilder().Prompt().Bytes("sampling_parameters", {"{not json"}).Translate(),
                "input \"sampling_parameters\" is not valid JSON: ");
  ExpectInvalid(RequestBuilder().Prompt().Bytes("sampling_parameters", {"[1, 2]"}).Translate(),
                "input \"sampling_parameters\" is [1,2]; must be a JSON object");
  ExpectInvalid(RequestBuilder().Prompt().Bytes("sampling_parameters", {R"({"best_of": 2})"}).Translate(),
                "\"sampling_parameters.best_of\" is not an option this server takes; it takes max_tokens, temperature");
  ExpectInvalid(RequestBuilder().Prompt().Bytes("sampling_parameters", {R"({"temperature": "hot"})"}).Translate(),
                "sampling_parameters.temperature is \"hot\"; must be a number");
  ExpectInvalid(RequestBuilder().Prompt().Bytes("sampling_parameters", {R"({"max_tokens": 1.5})"}).Translate(),
                "sampling_parameters.max_tokens is 1.5; must be an integer in [-2147483648, 2147483647]");
  ExpectInvalid(RequestBuilder().Prompt().Bytes("sampling_parameters", {R"({"n": 2})"}).Translate(),
                "sampling_parameters.n is 2; this server generates one sequence per request: it must be 1");
  ExpectInvalid(RequestBuilder().Prompt().Bytes("sampling_parameters", {R"({"stop": [1]})"}).Translate(),
                "sampling_parameters.stop is [1]; must be a string or a list of strings");
  ExpectInvalid(RequestBuilder().Prompt().Fp32("max_tokens", 4).Translate(),
                "input \"max_tokens\" has datatype \"FP32\"; it must be an integer type");
  ExpectInvalid(RequestBuilder().Prompt().Int32("stream", 1).Translate(),
                "input \"stream\" has datatype \"INT32\"; it must be BOOL");
  ExpectInvalid(RequestBuilder().Prompt().Param("temprature", DoubleParam(0)).Translate(),
                "parameter \"temprature\" is not one this server takes; it takes max_tokens");
  ExpectInvalid(RequestBuilder().Prompt().Uint64("seed", 1).Uint64("random_seed", 2).Translate(),
                "input \"random_seed\" and input \"seed\" both set seed; give it once");
  ExpectInvalid(RequestBuilder().Prompt().Int32("max_token", 4).Translate(),
                "input \"max_token\" is not one this model takes; it takes text_input, stream, sampling_parameters");
  ExpectInvalid(RequestBuilder().Prompt().Prompt().Translate(), "input \"text_input\" is given twice");
}

TEST(KServeRequestTest, MalformedTensorsAreRefusedClearly) {
  {  // raw contents that do not match the shape
    RequestBuilder b;
    b.Prompt().Int32("max_tokens", 4);
    b.request().mutable_inputs(1)->set_shape(0, 2);
    ExpectInvalid(b.Translate(), "input \"max_tokens\" (raw_input_contents) has 4 bytes; 2 INT32 elements need 8");
  }
  {  // a BYTES length past the end
    RequestBuilder b;
    b.Prompt();
    b.request().set_raw_input_contents(0, std::string("\x09\0\0\0abc", 7));
    ExpectInvalid(b.Translate(), "element 0 says it has 9 bytes; only 3 are left");
  }
  {  // raw contents for some inputs only
    RequestBuilder b;
    b.Prompt().Int32("max_tokens", 4);
    b.request().mutable_raw_input_contents()->RemoveLast();
    ExpectInvalid(b.Translate(), "raw_input_contents has 1 entries; with raw contents every one of the 2 inputs");
  }
  {  // typed contents in the wrong field for the datatype
    RequestBuilder b(false);
    b.Prompt();
    Input* t = b.request().add_inputs();
    t->set_name("max_tokens");
    t->set_datatype("INT32");
    t->add_shape(1);
    t->mutable_contents()->add_int64_contents(4);
    ExpectInvalid(b.Translate(), "input \"max_tokens\" has 0 elements in contents.int_contents; its shape needs 1");
  }
  {  // both representations
    RequestBuilder b;
    b.Prompt();
    b.request().mutable_inputs(0)->mutable_contents()->add_bytes_contents("x");
    ExpectInvalid(b.Translate(), "has typed contents while the request uses raw_input_contents");
  }
  {
    RequestBuilder b;
    b.Prompt();
    b.request().mutable_inputs(0)->set_shape(0, -1);
    ExpectInvalid(b.Translate(), "input \"text_input\" has shape [-1]; dimensions must be >= 0");
  }
  {
    RequestBuilder b;
    b.Prompt();
    b.request().mutable_inputs(0)->set_datatype("STRING");
    ExpectInvalid(b.Translate(), "input \"text_input\" has datatype \"STRING\"; this server reads BOOL");
  }
}

// Every input the metadata lists is one a request may carry.
TEST(KServeRequestTest, EveryListedInputIsTaken) {
  for (const KServeTensor& t : kKServeInputs) {
    RequestBuilder b;
    if (std::string(t.name) != "text_input") b.Prompt();
    const std::string type = t.datatype;
    if (type == "BYTES") b.Bytes(t.name, {std::string(t.name) == "sampling_parameters" ? "{}" : "x"});
    if (type == "BOOL") b.Bool(t.name, false);
    if (type == "INT32") b.Int32(t.name, 1);
    if (type == "UINT64") b.Uint64(t.name, 1);
    if (type == "FP32") b.Fp32(t.name, 0.5f);
    EXPECT_TRUE(b.Translate().ok()) << t.name << ": " << b.Translate().status();
  }
}

TEST(KServeResponseTest, OutputsAreRawWithTheInputsShape) {
  absl::StatusOr<KServeRequest> r = RequestBuilder()
                                        .Bytes("text_input", {"Hi"}, {1, 1})
                                        .Bool("return_finish_reason", true)
                                        .Bool("return_num_input_tokens", true)
                                        .Bool("return_num_output_tokens", true)
                                        .Translate();
  ASSERT_TRUE(r.ok()) << r.status();
  inference::ModelInferResponse response;
  FillInferResponse(*r, "m", {" there", true, v1::FINISH_REASON_EOS, 3, 2}, response);
  EXPECT_EQ(response.model_name(), "m");
  EXPECT_EQ(response.model_version(), "1");
  ASSERT_EQ(response.outputs_size(), 4);
  ASSERT_EQ(response.raw_output_contents_size(), 4);
  EXPECT_EQ(response.outputs(0).name(), "text_output");
  EXPECT_EQ(response.outputs(0).datatype(), "BYTES");
  EXPECT_EQ(std::vector<int64_t>(response.outputs(0).shape().begin(), response.outputs(0).shape().end()),
            (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(response.raw_output_contents(0), std::string("\x08\0\0\0Hi there", 12));
  EXPECT_EQ(response.raw_output_contents(1), std::string("\x04\0\0\0stop", 8));  // vLLM reports EOS as "stop"
  EXPECT_EQ(response.outputs(2).datatype(), "UINT32");
  EXPECT_EQ(response.raw_output_contents(2), std::string("\x03\0\0\0", 4));
  EXPECT_EQ(response.raw_output_contents(3), std::string("\x02\0\0\0", 4));
}

}  // namespace
}  // namespace switchyard::server
