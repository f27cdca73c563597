#include "server/logprobs_json.h"

namespace switchyard::server {

nlohmann::json LogprobsJson(absl::Span<const engine::SampleResult> tokens) {
  nlohmann::json logprobs = nlohmann::json::array();
  for (const engine::SampleResult& s : tokens) {
    nlohmann::json entry = {{"token", s.token}, {"logprob", s.logprob}};
    if (!s.top.empty()) {
      nlohmann::json top = nlohmann::json::array();
      for (const engine::TokenLogprob& t : s.top) top.push_back({{"token", t.token}, {"logprob", t.logprob}});
      entry["top"] = std::move(top);
    }
    logprobs.push_back(std::move(entry));
  }
  return logprobs;
}

}  // namespace switchyard::server
