// switchyard-cli's output formats, without a server.
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/str_split.h"
#include "tools/cli/commands.h"

namespace switchyard::cli {
namespace {

v1::ExpertLoad Load(int num_experts, int64_t per_expert) {
  v1::ExpertLoad load;
  load.set_num_layers(2);
  load.set_num_experts(num_experts);
  load.set_top_k(2);
  load.set_num_steps(7);
  for (int l = 0; l < 2; ++l) {
    v1::LayerExpertLoad* layer = load.add_layers();
    layer->set_layer(l);
    layer->set_imbalance(1.5);
    layer->set_last_step_imbalance(2);
    for (int e = 0; e < num_experts; ++e) {
      layer->add_tokens(per_expert + e);
      layer->add_last_step_tokens(e % 2);
      layer->add_recent_tokens(e == 0 ? 4 : 0);
    }
  }
  return load;
}

TEST(CliFormatTest, ExpertLoadFitsOneLinePerLayerForFewExperts) {
  const std::string s = FormatExpertLoad(Load(8, 10), LoadWindow::kSinceStart, 100);
  EXPECT_EQ(s,
            "layers: 2, experts: 8, top_k: 2, engine steps: 7\n"
            "layer   total tokens  max/mean  tokens per expert (since start)\n"
            "    0            108      1.50  0-7: 10 11 12 13 14 15 16 17\n"
            "    1            108      1.50  0-7: 10 11 12 13 14 15 16 17\n");
}

TEST(CliFormatTest, ExpertLoadWrapsManyExpertsWithinTheWidth) {
  const std::string s = FormatExpertLoad(Load(64, 1000), LoadWindow::kSinceStart, 80);
  const std::vector<std::string> lines = absl::StrSplit(s, '\n', absl::SkipEmpty());
  // 64 experts of 4-digit counts: 8 per line, so 8 lines per layer.
  ASSERT_EQ(lines.size(), 2u + 2 * 8) << s;
  for (const std::string& line : lines) EXPECT_LE(line.size(), 80u) << line;
  EXPECT_NE(lines[3].find("8-15:"), std::string::npos) << s;
  EXPECT_EQ(lines[3].rfind(std::string(30, ' '), 0), 0u) << s;  // continuation lines are indented
  EXPECT_NE(lines[10].find("    1 "), std::string::npos) << s;
}

TEST(CliFormatTest, ExpertLoadLastStep) {
  const std::string s = FormatExpertLoad(Load(4, 10), LoadWindow::kLastStep, 100);
  EXPECT_NE(s.find("(last step)"), std::string::npos);
  EXPECT_NE(s.find("    0              2      2.00  0-3: 0 1 0 1\n"), std::string::npos) << s;  // max 1 over mean 0.5
}

TEST(CliFormatTest, ExpertLoadRecentWindowShowsItsImbalance) {
  v1::ExpertLoad load = Load(4, 10);
  load.set_window_seconds(60);
  for (v1::LayerExpertLoad& l : *load.mutable_layers()) l.set_recent_imbalance(4);
  const std::string s = FormatExpertLoad(load, LoadWindow::kRecent, 100);
  EXPECT_NE(s.find("(last 60 s)"), std::string::npos) << s;
  EXPECT_NE(s.find("    0              4      4.00  0-3: 4 0 0 0\n"), std::string::npos) << s;
}

TEST(CliFormatTest, ModelInfoIsKeyValueLines) {
  v1::ModelInfo info;
  info.set_architecture("MixtralForCausalLM");
  info.set_weight_bytes(3 << 20);
  info.set_kv_blocks_total(64);
  info.set_kv_blocks_free(60);
  info.set_kv_blocks_cached(10);
  info.set_kv_blocks_evictable(6);
  const std::string s = FormatModelInfo(info);
  EXPECT_NE(s.find("architecture:    MixtralForCausalLM\n"), std::string::npos) << s;
  EXPECT_NE(s.find("weights:         3.0 MiB (3145728 bytes)\n"), std::string::npos) << s;
  EXPECT_NE(s.find("kv blocks:       60 free of 64\n"), std::string::npos) << s;
  EXPECT_NE(s.find("cached blocks:   10 (6 evictable)\n"), std::string::npos) << s;
}

TEST(CliFormatTest, SummaryAndStatusNames) {
  v1::GenerationEnd end;
  end.set_finish_reason(v1::FINISH_REASON_EOS);
  end.mutable_usage()->set_prompt_tokens(10);
  end.mutable_usage()->set_completion_tokens(3);
  end.mutable_usage()->set_cached_prompt_tokens(8);
  end.mutable_timings()->set_time_to_first_token_us(2500);
  end.mutable_timings()->set_total_time_us(10000);
  EXPECT_EQ(FormatGenerationSummary(end),
            "finish: eos, prompt tokens: 10 (8 cached), completion tokens: 3, time to first token: 2.5 ms, "
            "total: 10.0 ms");
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::INVALID_ARGUMENT), "INVALID_ARGUMENT");
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::UNAVAILABLE), "UNAVAILABLE");
  EXPECT_EQ(FormatBytes(512), "512 B");
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
}

}  // namespace
}  // namespace switchyard::cli
