#include "engine/tokenizer/tokenize_lines.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"

namespace switchyard::engine {

absl::Status TokenizeLines(const Tokenizer& tokenizer, std::istream& in, std::ostream& out,
                           bool add_special_tokens) {
  std::string line;
  while (std::getline(in, line)) {
    out << '[' << absl::StrJoin(tokenizer.Encode(line, add_special_tokens), ",") << "]\n";
  }
  if (in.bad()) return absl::DataLossError("error reading input");
  return out ? absl::OkStatus() : absl::DataLossError("error writing output");
}

absl::Status DetokenizeLines(const Tokenizer& tokenizer, std::istream& in, std::ostream& out,
                             bool skip_special_tokens) {
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const nlohmann::json json = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    std::vector<int32_t> ids;
    bool ok = json.is_array();
    for (const auto& id : json.is_array() ? json : nlohmann::json::array()) {
      ok = ok && id.is_number_integer() && id.get<int64_t>() >= INT32_MIN &&
           id.get<int64_t>() <= INT32_MAX;
      if (ok) ids.push_back(static_cast<int32_t>(id.get<int64_t>()));
    }
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", number, ": expected a JSON array of token ids"));
    }
    const std::string text = tokenizer.Decode(ids, skip_special_tokens);
    out << nlohmann::json(text).dump(-1, ' ', /*ensure_ascii=*/false,
                                      nlohmann::json::error_handler_t::replace)
        << '\n';
  }
  if (in.bad()) return absl::DataLossError("error reading input");
  return out ? absl::OkStatus() : absl::DataLossError("error writing output");
}

}  // namespace switchyard::engine
