#include "server/service/kserve_request.h"

#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "engine/tokenizer/utf8.h"
#include "nlohmann/json.hpp"
#include "server/service/kserve_model.h"
#include "server/service/kserve_tensor.h"
#include "server/service/quoted_value.h"

namespace switchyard::server {
namespace {

using nlohmann::json;

enum class Kind { kBool, kInt, kFloat, kSeed, kString, kStrings, kInts };

struct Option {
  const char* name;       // as a request spells it
  const char* canonical;  // what it sets (aliases share one)
  Kind kind;
};

// vLLM's SamplingParams names, TensorRT-LLM's tensor names as aliases
// (random_seed, stop_words), the vLLM backend's flags, and vLLM's
// request-level cache_salt (GenerateRequest.cache_salt).
constexpr Option kOptions[] = {
    {"max_tokens", "max_tokens", Kind::kInt},
    {"temperature", "temperature", Kind::kFloat},
    {"top_p", "top_p", Kind::kFloat},
    {"top_k", "top_k", Kind::kInt},
    {"min_p", "min_p", Kind::kFloat},
    {"repetition_penalty", "repetition_penalty", Kind::kFloat},
    {"presence_penalty", "presence_penalty", Kind::kFloat},
    {"frequency_penalty", "frequency_penalty", Kind::kFloat},
    {"seed", "seed", Kind::kSeed},
    {"random_seed", "seed", Kind::kSeed},
    {"stop", "stop", Kind::kStrings},
    {"stop_words", "stop", Kind::kStrings},
    {"stop_token_ids", "stop_token_ids", Kind::kInts},
    {"ignore_eos", "ignore_eos", Kind::kBool},
    {"n", "n", Kind::kInt},
    {"beam_width", "beam_width", Kind::kInt},
    {"stream", "stream", Kind::kBool},
    {"exclude_input_in_output", "exclude_input_in_output", Kind::kBool},
    {"return_finish_reason", "return_finish_reason", Kind::kBool},
    {"return_num_input_tokens", "return_num_input_tokens", Kind::kBool},
    {"return_num_output_tokens", "return_num_output_tokens", Kind::kBool},
    {"cache_salt", "cache_salt", Kind::kString},
};

// Request parameters that Triton's clients set for the server itself
// (tritonclient refuses them as user parameters).
bool IsReservedParameter(const std::string& key) {
  static const std::set<std::string> kReserved = {"sequence_id", "sequence_start", "sequence_end", "priority",
                                                  "headers",     "binary_data_output"};
  return kReserved.count(key) > 0 || absl::StartsWith(key, "triton_");
}

const Option* FindOption(const std::string& name) {
  for (const Option& o : kOptions) {
    if (name == o.name) return &o;
  }
  return nullptr;
}

std::string OptionNames() {
  std::vector<std::string> names;
  for (const Option& o : kOptions) names.emplace_back(o.name);
  return absl::StrJoin(names, ", ");
}

std::string InputNames() {
  std::vector<std::string> names;
  for (const KServeTensor& t : kKServeInputs) names.emplace_back(t.name);
  return absl::StrJoin(names, ", ");
}

std::string OutputNames() {
  std::vector<std::string> names;
  for (const KServeTensor& t : kKServeOutputs) names.emplace_back(t.name);
  return absl::StrJoin(names, ", ");
}

// An option's value and where it came from, for messages.
struct Given {
  json value;
  std::string where;  // `input "top_p"`, `sampling_parameters.top_p`, `parameter "top_p"`
};
using Layer = std::map<std::string, Given>;  // by canonical name

// A value in a message: JSON text, cut like QuotedValue.
std::string Describe(const json& v) {
  std::string d = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (d.size() <= kMaxQuotedBytes) return d;
  return absl::StrCat(d.substr(0, kMaxQuotedBytes), "... (", d.size(), " bytes)");
}

absl::Status Bad(const Given& g, absl::string_view must) {
  return absl::InvalidArgumentError(absl::StrCat(g.where, " is ", Describe(g.value), "; ", std::string(must)));
}

absl::Status Put(Layer& layer, const Option& o, json value, std::string where) {
  auto [it, inserted] = layer.try_emplace(o.canonical, Given{std::move(value), where});
  if (!inserted) {
    return absl::InvalidArgumentError(absl::StrCat(where, " and ", it->second.where, " both set ", o.canonical,
                                                   "; give it once"));
  }
  return absl::OkStatus();
}

// Numbers may come as JSON strings: the vLLM backend's examples send them so.
absl::StatusOr<double> AsNumber(const Given& g) {
  if (g.value.is_number()) return g.value.get<double>();
  double d;
  if (g.value.is_string() && absl::SimpleAtod(g.value.get<std::string>(), &d)) return d;
  return Bad(g, "must be a number");
}

absl::StatusOr<int64_t> AsInteger(const Given& g, int64_t lo, int64_t hi) {
  const std::string must = absl::StrCat("must be an integer in [", lo, ", ", hi, "]");
  int64_t v = 0;
  if (g.value.is_number_unsigned()) {
    const uint64_t u = g.value.get<uint64_t>();
    if (u > static_cast<uint64_t>(hi)) return Bad(g, must);
    v = static_cast<int64_t>(u);
  } else if (g.value.is_number_integer()) {
    v = g.value.get<int64_t>();
  } else if (g.value.is_number_float()) {
    const double d = g.value.get<double>();
    if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) || d != std::floor(d)) return Bad(g, must);
    v = static_cast<int64_t>(d);
  } else if (!g.value.is_string() || !absl::SimpleAtoi(g.value.get<std::string>(), &v)) {
    return Bad(g, must);
  }
  if (v < lo || v > hi) return Bad(g, must);
  return v;
}

absl::StatusOr<int32_t> AsInt32(const Given& g) {
  ASSIGN_OR_RETURN(int64_t v, AsInteger(g, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()));
  return static_cast<int32_t>(v);
}

absl::StatusOr<uint64_t> AsSeed(const Given& g) {
  if (g.value.is_number_unsigned()) return g.value.get<uint64_t>();
  uint64_t v;
  if (g.value.is_string() && absl::SimpleAtoi(g.value.get<std::string>(), &v)) return v;
  ASSIGN_OR_RETURN(int64_t i, AsInteger(g, 0, std::numeric_limits<int64_t>::max()));
  return static_cast<uint64_t>(i);
}

absl::StatusOr<bool> AsBool(const Given& g) {
  if (g.value.is_boolean()) return g.value.get<bool>();
  if (g.value.is_number_integer() && (g.value.get<int64_t>() == 0 || g.value.get<int64_t>() == 1)) {
    return g.value.get<int64_t>() == 1;
  }
  if (g.value.is_string()) {
    const std::string s = absl::AsciiStrToLower(g.value.get<std::string>());
    if (s == "true") return true;
    if (s == "false") return false;
  }
  return Bad(g, "must be true or false");
}

// The value is not quoted back when it is a string: the one string option
// is cache_salt, a tenant's secret, and messages end up in logs.
absl::StatusOr<std::string> AsString(const Given& g) {
  if (!g.value.is_string()) return Bad(g, "must be a string");
  std::string s = g.value.get<std::string>();
  if (!engine::tok::IsValidUtf8(s)) return absl::InvalidArgumentError(absl::StrCat(g.where, " is not valid UTF-8"));
  return s;
}

// Empty strings are left out: TensorRT-LLM's clients send [""] for none.
absl::StatusOr<std::vector<std::string>> AsStrings(const Given& g) {
  std::vector<std::string> out;
  const json items = g.value.is_array() ? g.value : json::array({g.value});
  for (const json& item : items) {
    if (!item.is_string()) return Bad(g, "must be a string or a list of strings");
    const std::string s = item.get<std::string>();
    if (!engine::tok::IsValidUtf8(s)) return Bad(g, "must be valid UTF-8");
    if (!s.empty()) out.push_back(s);
  }
  return out;
}

absl::StatusOr<std::vector<int32_t>> AsInt32s(const Given& g) {
  std::vector<int32_t> out;
  const json items = g.value.is_array() ? g.value : json::array({g.value});
  for (const json& item : items) {
    if (!item.is_number_integer()) return Bad(g, "must be an integer or a list of integers");
    ASSIGN_OR_RETURN(int32_t v, AsInt32(Given{item, g.where}));
    out.push_back(v);
  }
  return out;
}

// Sets the option `name` (canonical) in `out`.
absl::Status Apply(const std::string& name, const Given& g, KServeRequest& out, bool& exclude_given) {
  v1::SamplingOptions& s = *out.generate.mutable_sampling();
  v1::StoppingOptions& t = *out.generate.mutable_stopping();
  if (name == "max_tokens") {
    ASSIGN_OR_RETURN(int32_t v, AsInt32(g));
    t.set_max_tokens(v);
  } else if (name == "top_k") {
    ASSIGN_OR_RETURN(int32_t v, AsInt32(g));
    s.set_top_k(v == -1 ? 0 : v);  // vLLM spells "off" -1
  } else if (name == "seed") {
    ASSIGN_OR_RETURN(uint64_t v, AsSeed(g));
    s.set_seed(v);
  } else if (name == "stop") {
    ASSIGN_OR_RETURN(std::vector<std::string> v, AsStrings(g));
    t.mutable_stop()->Assign(v.begin(), v.end());
  } else if (name == "stop_token_ids") {
    ASSIGN_OR_RETURN(std::vector<int32_t> v, AsInt32s(g));
    t.mutable_stop_token_ids()->Assign(v.begin(), v.end());
  } else if (name == "cache_salt") {
    // Its length is ParseGenerateRequest's to check, as for every generate call.
    ASSIGN_OR_RETURN(std::string v, AsString(g));
    out.generate.set_cache_salt(std::move(v));
  } else if (name == "n" || name == "beam_width") {
    ASSIGN_OR_RETURN(int32_t v, AsInt32(g));
    if (v != 1) return Bad(g, "this server generates one sequence per request: it must be 1");
  } else if (FindOption(name)->kind == Kind::kFloat) {
    ASSIGN_OR_RETURN(double d, AsNumber(g));
    const float v = static_cast<float>(d);
    if (name == "temperature") s.set_temperature(v);
    if (name == "top_p") s.set_top_p(v);
    if (name == "min_p") s.set_min_p(v);
    if (name == "repetition_penalty") s.set_repetition_penalty(v);
    if (name == "presence_penalty") s.set_presence_penalty(v);
    if (name == "frequency_penalty") s.set_frequency_penalty(v);
  } else {
    ASSIGN_OR_RETURN(bool v, AsBool(g));
    if (name == "ignore_eos") t.set_ignore_eos(v);
    if (name == "stream") out.stream = v;
    if (name == "exclude_input_in_output") {
      out.prepend_input = !v;
      exclude_given = true;
    }
    if (name == "return_finish_reason") out.finish_reason = v;
    if (name == "return_num_input_tokens") out.num_input_tokens = v;
    if (name == "return_num_output_tokens") out.num_output_tokens = v;
  }
  return absl::OkStatus();
}

json ParameterJson(const inference::InferParameter& p) {
  switch (p.parameter_choice_case()) {
    case inference::InferParameter::kBoolParam:
      return p.bool_param();
    case inference::InferParameter::kInt64Param:
      return p.int64_param();
    case inference::InferParameter::kStringParam:
      return p.string_param();
    case inference::InferParameter::kDoubleParam:
      return p.double_param();
    case inference::InferParameter::kUint64Param:
      return p.uint64_param();
    case inference::InferParameter::PARAMETER_CHOICE_NOT_SET:
      break;
  }
  return nullptr;
}

absl::Status ReadParameters(const inference::ModelInferRequest& request, Layer& layer, KServeRequest& out) {
  // In key order, so that the first error is the same whatever the map's order.
  const std::map<std::string, inference::InferParameter> params(request.parameters().begin(),
                                                                request.parameters().end());
  for (const auto& [key, p] : params) {
    const std::string where = absl::StrCat("parameter ", QuotedValue(key));
    if (key == "timeout") {  // Triton's: microseconds, 0 for none
      if (p.parameter_choice_case() != inference::InferParameter::kInt64Param || p.int64_param() < 0) {
        return Bad(Given{ParameterJson(p), where}, "must be an int64 number of microseconds >= 0");
      }
      if (p.int64_param() > 0) out.timeout = absl::Microseconds(p.int64_param());
      continue;
    }
    if (IsReservedParameter(key)) continue;
    const Option* o = FindOption(key);
    if (o == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, " is not one this server takes; it takes ", OptionNames(), " (and timeout)"));
    }
    json v = ParameterJson(p);
    if (v.is_null()) continue;
    RETURN_IF_ERROR(Put(layer, *o, std::move(v), where));
  }
  return absl::OkStatus();
}

absl::Status ReadSamplingParameters(const std::string& text, Layer& layer) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    // The parser's message quotes the token it stopped at: cut, like QuotedValue.
    std::string why = e.what();
    if (why.size() > 2 * kMaxQuotedBytes) why = engine::tok::LossyUtf8(why.substr(0, 2 * kMaxQuotedBytes)) + "...";
    return absl::InvalidArgumentError(absl::StrCat("input \"sampling_parameters\" is not valid JSON: ", why));
  }
  if (!j.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("input \"sampling_parameters\" is ", Describe(j), "; must be a JSON object"));
  }
  for (const auto& [key, value] : j.items()) {
    const std::string where = absl::StrCat("sampling_parameters.", key);
    if (value.is_null()) continue;  // vLLM's "unset", whatever the key
    const Option* o = FindOption(key);
    if (o == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(QuotedValue(where), " is not an option this server takes; it takes ",
                                                     OptionNames()));
    }
    RETURN_IF_ERROR(Put(layer, *o, value, where));
  }
  return absl::OkStatus();
}

// The tensor's elements as JSON: a scalar for one-element options, an array
// for lists; the datatype must suit the option.
absl::StatusOr<json> TensorJson(const Option& o, const std::string& where, const std::string& datatype,
                                const TensorValues& values) {
  json items = json::array();
  const char* must = nullptr;
  switch (o.kind) {
    case Kind::kBool:
      if (const auto* v = std::get_if<std::vector<bool>>(&values)) {
        for (bool b : *v) items.push_back(b);
      } else {
        must = "BOOL";
      }
      break;
    case Kind::kInt:
    case Kind::kSeed:
    case Kind::kInts:
      if (const auto* v = std::get_if<std::vector<int64_t>>(&values)) {
        items = *v;
      } else if (const auto* u = std::get_if<std::vector<uint64_t>>(&values)) {
        items = *u;
      } else {
        must = "an integer type (INT8 to INT64, UINT8 to UINT64)";
      }
      break;
    case Kind::kFloat:
      if (const auto* v = std::get_if<std::vector<double>>(&values)) {
        items = *v;
      } else if (const auto* i = std::get_if<std::vector<int64_t>>(&values)) {
        items = *i;
      } else if (const auto* u = std::get_if<std::vector<uint64_t>>(&values)) {
        items = *u;
      } else {
        must = "FP32 or FP64 (or an integer type)";
      }
      break;
    case Kind::kString:
    case Kind::kStrings:
      if (const auto* v = std::get_if<std::vector<std::string>>(&values)) {
        for (const std::string& s : *v) {
          if (!engine::tok::IsValidUtf8(s)) {
            return absl::InvalidArgumentError(absl::StrCat(where, " holds bytes that are not valid UTF-8"));
          }
          items.push_back(s);
        }
      } else {
        must = "BYTES";
      }
      break;
  }
  if (must != nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, " has datatype ", QuotedValue(datatype), "; it must be ", must));
  }
  if (o.kind == Kind::kStrings || o.kind == Kind::kInts) return items;
  if (items.size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, " has ", items.size(), " elements; it must have exactly one"));
  }
  return items[0];
}

// The one BYTES element of a text input (text_input, sampling_parameters).
absl::StatusOr<std::string> OneString(const std::string& where, const std::string& datatype,
                                      TensorValues& values) {
  auto* v = std::get_if<std::vector<std::string>>(&values);
  if (v == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, " has datatype ", QuotedValue(datatype), "; it must be BYTES"));
  }
  if (v->size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, " has ", v->size(), " elements; it must have exactly one (one prompt per request: no batching)"));
  }
  return std::move((*v)[0]);
}

absl::Status ReadOutputs(const inference::ModelInferRequest& request, KServeRequest& out) {
  if (request.outputs_size() == 0) return absl::OkStatus();
  out.text_output = out.finish_reason = out.num_input_tokens = out.num_output_tokens = false;
  for (const auto& o : request.outputs()) {
    const std::string& n = o.name();
    if (n == "text_output") {
      out.text_output = true;
    } else if (n == "finish_reason") {
      out.finish_reason = true;
    } else if (n == "num_input_tokens") {
      out.num_input_tokens = true;
    } else if (n == "num_output_tokens") {
      out.num_output_tokens = true;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("requested output ", QuotedValue(n),
                                                     " is not one this model returns; it returns ", OutputNames()));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<KServeRequest> TranslateInferRequest(const inference::ModelInferRequest& request) {
  KServeRequest out;
  out.id = request.id();
  out.generate.set_request_id(request.id());
  RETURN_IF_ERROR(CheckRawInputContents(request));

  Layer parameters, sampling_parameters, tensors;
  RETURN_IF_ERROR(ReadParameters(request, parameters, out));
  std::optional<std::string> prompt;
  std::set<std::string> seen;
  for (int i = 0; i < request.inputs_size(); ++i) {
    const auto& t = request.inputs(i);
    const std::string where = absl::StrCat("input ", QuotedValue(t.name()));
    if (!seen.insert(t.name()).second) return absl::InvalidArgumentError(absl::StrCat(where, " is given twice"));
    const Option* option = FindOption(t.name());
    if (option == nullptr && t.name() != "text_input" && t.name() != "sampling_parameters") {
      return absl::InvalidArgumentError(
          absl::StrCat(where, " is not one this model takes; it takes ", InputNames()));
    }
    ASSIGN_OR_RETURN(TensorValues values, ReadInputTensor(request, i));
    if (t.name() == "text_input") {
      ASSIGN_OR_RETURN(prompt, OneString(where, t.datatype(), values));
      out.output_shape.assign(t.shape().begin(), t.shape().end());
    } else if (t.name() == "sampling_parameters") {
      ASSIGN_OR_RETURN(std::string text, OneString(where, t.datatype(), values));
      RETURN_IF_ERROR(ReadSamplingParameters(text, sampling_parameters));
    } else {
      ASSIGN_OR_RETURN(json v, TensorJson(*option, where, t.datatype(), values));
      RETURN_IF_ERROR(Put(tensors, *option, std::move(v), where));
    }
  }
  if (!prompt) {
    return absl::InvalidArgumentError(
        "input \"text_input\" is missing; give the prompt as one BYTES element (shape [1])");
  }
  if (prompt->empty()) return absl::InvalidArgumentError("input \"text_input\" is empty; give a prompt");
  if (!engine::tok::IsValidUtf8(*prompt)) {
    return absl::InvalidArgumentError("input \"text_input\" is not valid UTF-8");
  }
  out.generate.set_text(*prompt);

  // A tensor overrides sampling_parameters, which overrides `parameters`.
  Layer merged = std::move(parameters);
  for (Layer* layer : {&sampling_parameters, &tensors}) {
    for (auto& [name, given] : *layer) merged.insert_or_assign(name, std::move(given));
  }
  bool exclude_given = false;
  for (const auto& [name, given] : merged) RETURN_IF_ERROR(Apply(name, given, out, exclude_given));
  if (!exclude_given) {
    out.prepend_input = !out.stream;
  } else if (out.stream && out.prepend_input) {
    return absl::InvalidArgumentError(
        "exclude_input_in_output is false while stream is true; a stream sends only the completion");
  }
  RETURN_IF_ERROR(ReadOutputs(request, out));
  return out;
}

}  // namespace switchyard::server
