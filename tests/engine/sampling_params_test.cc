#include "engine/sampling_params.h"

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace switchyard::engine {
namespace {

using ::testing::AllOf;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr int32_t kVocab = 100;
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

TEST(SamplingParamsTest, DefaultsAreValid) {
  EXPECT_TRUE(SamplingParams().Validate(kVocab).ok());
}

TEST(SamplingParamsTest, BoundaryValuesAreValid) {
  SamplingParams p;
  p.temperature = 0;
  p.top_k = 1000000;  // larger than the vocabulary just means off
  p.top_p = 1;
  p.min_p = 1;
  p.repetition_penalty = 1e-3f;
  p.presence_penalty = -2;
  p.frequency_penalty = 2;
  p.max_tokens = 1;
  p.logprobs = 20;
  p.stop_token_ids = {0, kVocab - 1};
  p.seed = 0;
  EXPECT_TRUE(p.Validate(kVocab).ok());
  p.min_p = 0;
  p.top_p = 1e-6f;
  EXPECT_TRUE(p.Validate(kVocab).ok());
}

struct BadCase {
  std::string name;
  std::function<void(SamplingParams&)> mutate;
  std::string field;
  std::string value;
  std::string range;
};

class InvalidFieldTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(InvalidFieldTest, IsRejectedWithFieldValueAndRange) {
  const BadCase& c = GetParam();
  SamplingParams p;
  c.mutate(p);
  const absl::Status status = p.Validate(kVocab);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              AllOf(StartsWith(c.field + " must be in "), HasSubstr(c.range),
                    EndsWith(", got " + c.value)));
}

INSTANTIATE_TEST_SUITE_P(
    AllFields, InvalidFieldTest,
    ::testing::Values(
        BadCase{"TemperatureNegative", [](auto& p) { p.temperature = -0.5f; },
                "temperature", "-0.5", "[0, inf)"},
        BadCase{"TemperatureNaN", [](auto& p) { p.temperature = kNaN; },
                "temperature", "nan", "[0, inf)"},
        BadCase{"TemperatureInf", [](auto& p) { p.temperature = kInf; },
                "temperature", "inf", "[0, inf)"},
        BadCase{"TopKNegative", [](auto& p) { p.top_k = -1; }, "top_k", "-1", "[0, inf)"},
        BadCase{"TopPZero", [](auto& p) { p.top_p = 0; }, "top_p", "0", "(0, 1]"},
        BadCase{"TopPAboveOne", [](auto& p) { p.top_p = 1.5f; }, "top_p", "1.5", "(0, 1]"},
        // The shortest exact form: a value just past the bound must not print as "1".
        BadCase{"TopPJustAboveOne", [](auto& p) { p.top_p = 1.0000001f; }, "top_p", "1.0000001", "(0, 1]"},
        BadCase{"TopPNaN", [](auto& p) { p.top_p = kNaN; }, "top_p", "nan", "(0, 1]"},
        BadCase{"MinPNegative", [](auto& p) { p.min_p = -0.1f; }, "min_p", "-0.1", "[0, 1]"},
        BadCase{"MinPAboveOne", [](auto& p) { p.min_p = 2; }, "min_p", "2", "[0, 1]"},
        BadCase{"MinPNaN", [](auto& p) { p.min_p = kNaN; }, "min_p", "nan", "[0, 1]"},
        BadCase{"RepetitionZero", [](auto& p) { p.repetition_penalty = 0; },
                "repetition_penalty", "0", "(0, inf)"},
        BadCase{"RepetitionNegative", [](auto& p) { p.repetition_penalty = -1; },
                "repetition_penalty", "-1", "(0, inf)"},
        BadCase{"RepetitionInf", [](auto& p) { p.repetition_penalty = kInf; },
                "repetition_penalty", "inf", "(0, inf)"},
        BadCase{"RepetitionNaN", [](auto& p) { p.repetition_penalty = kNaN; },
                "repetition_penalty", "nan", "(0, inf)"},
        BadCase{"PresenceBelow", [](auto& p) { p.presence_penalty = -2.5f; },
                "presence_penalty", "-2.5", "[-2, 2]"},
        BadCase{"PresenceAbove", [](auto& p) { p.presence_penalty = 3; },
                "presence_penalty", "3", "[-2, 2]"},
        BadCase{"PresenceNaN", [](auto& p) { p.presence_penalty = kNaN; },
                "presence_penalty", "nan", "[-2, 2]"},
        BadCase{"PresenceMinusInf", [](auto& p) { p.presence_penalty = -kInf; },
                "presence_penalty", "-inf", "[-2, 2]"},
        BadCase{"FrequencyBelow", [](auto& p) { p.frequency_penalty = -2.01f; },
                "frequency_penalty", "-2.01", "[-2, 2]"},
        BadCase{"FrequencyInf", [](auto& p) { p.frequency_penalty = kInf; },
                "frequency_penalty", "inf", "[-2, 2]"},
        BadCase{"FrequencyNaN", [](auto& p) { p.frequency_penalty = kNaN; },
                "frequency_penalty", "nan", "[-2, 2]"},
        BadCase{"MaxTokensZero", [](auto& p) { p.max_tokens = 0; }, "max_tokens", "0", "[1, inf)"},
        BadCase{"LogprobsNegative", [](auto& p) { p.logprobs = -1; }, "logprobs", "-1", "[0, 20]"},
        BadCase{"LogprobsTooMany", [](auto& p) { p.logprobs = 21; }, "logprobs", "21", "[0, 20]"},
        BadCase{"StopIdNegative", [](auto& p) { p.stop_token_ids = {5, -1}; },
                "stop_token_ids[1]", "-1", "[0, 100)"},
        BadCase{"StopIdAtVocab", [](auto& p) { p.stop_token_ids = {kVocab}; },
                "stop_token_ids[0]", "100", "[0, 100)"}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace switchyard::engine
