#include "tools/loadgen/workload.h"

#include <random>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace switchyard::loadgen {
namespace {

absl::StatusOr<Prompt> ParseLine(const std::string& text) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return absl::InvalidArgumentError("not a JSON object");
  const auto ids = j.find("prompt_ids");
  const auto prompt = j.find("prompt");
  if ((ids == j.end()) == (prompt == j.end())) {
    return absl::InvalidArgumentError("give exactly one of \"prompt\" (text) and \"prompt_ids\"");
  }
  Prompt p;
  try {
    if (ids != j.end()) p.ids = ids->get<std::vector<int32_t>>();
    else p.text = prompt->get<std::string>();
  } catch (const nlohmann::json::exception&) {
    return absl::InvalidArgumentError(ids != j.end() ? "\"prompt_ids\" is not an array of integers"
                                                     : "\"prompt\" is not a string");
  }
  if (ids != j.end() && p.ids.empty()) return absl::InvalidArgumentError("\"prompt_ids\" is empty");
  if (prompt != j.end() && p.text.empty()) return absl::InvalidArgumentError("\"prompt\" is empty");
  return p;
}

}  // namespace

Workload Workload::Random(int32_t length, int32_t vocab_size, uint64_t seed) {
  Workload w;
  w.length_ = length;
  w.vocab_size_ = vocab_size;
  w.seed_ = seed;
  return w;
}

absl::StatusOr<Workload> Workload::FromJsonl(std::istream& in) {
  Workload w;
  std::string text;
  for (int64_t line = 1; std::getline(in, text); ++line) {
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    absl::StatusOr<Prompt> p = ParseLine(text);
    if (!p.ok()) return absl::InvalidArgumentError(absl::StrCat("line ", line, ": ", p.status().message()));
    w.lines_.push_back(std::move(*p));
  }
  if (w.lines_.empty()) return absl::InvalidArgumentError("the prompts file has no prompts");
  return w;
}

Prompt Workload::At(int64_t index) const {
  if (!lines_.empty()) return lines_[static_cast<size_t>(index) % lines_.size()];
  std::seed_seq seq{static_cast<uint32_t>(seed_), static_cast<uint32_t>(seed_ >> 32),
                    static_cast<uint32_t>(index), static_cast<uint32_t>(static_cast<uint64_t>(index) >> 32)};
  std::mt19937_64 rng(seq);
  std::uniform_int_distribution<int32_t> id(0, vocab_size_ - 1);
  Prompt p;
  p.ids.resize(static_cast<size_t>(length_));
  for (int32_t& v : p.ids) v = id(rng);
  return p;
}

void WritePromptsJsonl(const Workload& workload, int64_t count, const Sampling& sampling, std::ostream& out) {
  for (int64_t i = 0; i < count; ++i) {
    const Prompt p = workload.At(i);
    nlohmann::json j;
    if (p.text.empty()) j["prompt_ids"] = p.ids;
    else j["prompt"] = p.text;
    j["max_tokens"] = sampling.max_tokens;
    j["temperature"] = sampling.temperature;
    j["ignore_eos"] = sampling.ignore_eos;
    out << j.dump() << "\n";
  }
}

}  // namespace switchyard::loadgen
