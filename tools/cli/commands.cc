#include "tools/cli/commands.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/json_util.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "switchyard/v1/switchyard.grpc.pb.h"
#include "tools/cli/heat_map.h"

namespace switchyard::cli {
namespace {

int Fail(const grpc::Status& status, std::ostream& err) {
  err << "switchyard-cli: " << StatusCodeName(status.error_code()) << ": " << status.error_message() << "\n";
  return kExitFailure;
}

// FINISH_REASON_LENGTH -> "length".
std::string FinishReasonName(v1::FinishReason reason) {
  std::string name = v1::FinishReason_Name(reason);
  constexpr absl::string_view kPrefix = "FINISH_REASON_";
  if (name.rfind(kPrefix.data(), 0) == 0) name = name.substr(kPrefix.size());
  return absl::AsciiStrToLower(name);
}

std::string Millis(int64_t us) { return absl::StrFormat("%.1f ms", static_cast<double>(us) / 1000.0); }

}  // namespace

std::string StatusCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED: return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return absl::StrCat("CODE_", static_cast<int>(code));
  }
}

void CallSettings::Apply(grpc::ClientContext& ctx) const {
  if (timeout_ms > 0) ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms));
  if (!api_key.empty()) ctx.AddMetadata("authorization", "Bearer " + api_key);
}

std::string FormatBytes(int64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024.0 && u < 4) {
    v /= 1024.0;
    ++u;
  }
  return u == 0 ? absl::StrCat(bytes, " B") : absl::StrFormat("%.1f %s", v, units[u]);
}

std::string FormatGenerationSummary(const v1::GenerationEnd& end) {
  return absl::StrCat("finish: ", FinishReasonName(end.finish_reason()),
                      ", prompt tokens: ", end.usage().prompt_tokens(), " (",
                      end.usage().cached_prompt_tokens(), " cached)",
                      ", completion tokens: ", end.usage().completion_tokens(),
                      ", time to first token: ", Millis(end.timings().time_to_first_token_us()),
                      ", total: ", Millis(end.timings().total_time_us()));
}

std::string FormatModelInfo(const v1::ModelInfo& m) {
  std::string s;
  auto line = [&s](absl::string_view key, const std::string& value) {
    absl::StrAppend(&s, absl::StrFormat("%-16s %s\n", absl::StrCat(key, ":"), value));
  };
  line("name", m.name());
  line("architecture", m.architecture());
  line("layers", absl::StrCat(m.num_layers()));
  line("experts", absl::StrCat(m.num_experts()));
  line("top_k", absl::StrCat(m.top_k()));
  line("context length", absl::StrCat(m.context_length()));
  line("vocab size", absl::StrCat(m.vocab_size()));
  line("dtype", m.dtype());
  line("backend", m.backend());
  line("weights", absl::StrCat(FormatBytes(m.weight_bytes()), " (", m.weight_bytes(), " bytes)"));
  line("kv cache", absl::StrCat(FormatBytes(m.kv_cache_bytes()), " (", m.kv_cache_bytes(), " bytes)"));
  line("kv block size", absl::StrCat(m.kv_block_size(), " tokens"));
  line("kv blocks", absl::StrCat(m.kv_blocks_free(), " free of ", m.kv_blocks_total()));
  line("cached blocks", absl::StrCat(m.kv_blocks_cached(), " (", m.kv_blocks_evictable(), " evictable)"));
  line("running", absl::StrCat(m.num_running()));
  line("waiting", absl::StrCat(m.num_waiting()));
  return s;
}

absl::StatusOr<LoadWindow> ParseLoadWindow(const std::string& name) {
  if (name == "start") return LoadWindow::kSinceStart;
  if (name == "recent") return LoadWindow::kRecent;
  if (name == "last-step") return LoadWindow::kLastStep;
  return absl::InvalidArgumentError(absl::StrCat("--window is '", name, "'; must be start, recent or last-step"));
}

const google::protobuf::RepeatedField<int64_t>& ExpertCounts(const v1::LayerExpertLoad& l, LoadWindow window) {
  switch (window) {
    case LoadWindow::kRecent:
      return l.recent_tokens();
    case LoadWindow::kLastStep:
      return l.last_step_tokens();
    case LoadWindow::kSinceStart:
      break;
  }
  return l.tokens();
}

double LayerImbalance(const v1::LayerExpertLoad& l, LoadWindow window) {
  switch (window) {
    case LoadWindow::kRecent:
      return l.recent_imbalance();
    case LoadWindow::kLastStep:
      return l.last_step_imbalance();
    case LoadWindow::kSinceStart:
      break;
  }
  return l.imbalance();
}

std::string FormatExpertLoad(const v1::ExpertLoad& load, LoadWindow window, int width) {
  std::string s = absl::StrCat("layers: ", load.num_layers(), ", experts: ", load.num_experts(),
                               ", top_k: ", load.top_k(), ", engine steps: ", load.num_steps(), "\n");
  // Every count gets the same width, so experts line up across layers.
  int count_width = 1;
  int num_experts = 0;
  for (const v1::LayerExpertLoad& l : load.layers()) {
    const auto& counts = ExpertCounts(l, window);
    num_experts = std::max(num_experts, counts.size());
    for (int64_t c : counts) count_width = std::max(count_width, static_cast<int>(absl::StrCat(c).size()));
  }
  const int index_width = static_cast<int>(absl::StrCat(std::max(num_experts - 1, 0)).size());
  const int label_width = 2 * index_width + 2;  // "8-15:"
  constexpr int kLead = 32;                     // "%5d %14d %9.2f  ": layer, total, imbalance
  int per_line = std::max(1, (width - kLead - label_width) / (count_width + 1));
  if (per_line >= 8) per_line -= per_line % 8;  // round rows: 8, 16, 24 experts
  const std::string title =
      window == LoadWindow::kSinceStart ? "tokens per expert (since start)"
      : window == LoadWindow::kRecent   ? absl::StrCat("tokens per expert (last ", load.window_seconds(), " s)")
                                        : "tokens per expert (last step)";
  absl::StrAppend(&s, absl::StrFormat("%5s %14s %9s  %s\n", "layer", "total tokens", "max/mean", title));
  for (const v1::LayerExpertLoad& l : load.layers()) {
    const auto& counts = ExpertCounts(l, window);
    int64_t total = 0;
    for (int64_t c : counts) total += c;
    std::string lead = absl::StrFormat("%5d %14d %9.2f  ", l.layer(), total, LayerImbalance(l, window));
    if (counts.empty()) absl::StrAppend(&s, lead, "-\n");
    for (int first = 0; first < counts.size(); first += per_line) {
      const int last = std::min<int>(first + per_line, counts.size()) - 1;
      std::string label = absl::StrCat(first, "-", last, ":");
      absl::StrAppend(&s, first == 0 ? lead : std::string(kLead, ' '),
                      absl::StrFormat("%-*s", label_width, label));
      for (int e = first; e <= last; ++e) absl::StrAppend(&s, absl::StrFormat(" %*d", count_width, counts[e]));
      absl::StrAppend(&s, "\n");
    }
  }
  return s;
}

int Generate(const std::shared_ptr<grpc::Channel>& channel, const CallSettings& call,
             const v1::GenerateRequest& request, const GenerateOptions& options, const ContextHook& on_start,
             const std::atomic<bool>& cancelled, std::ostream& out, std::ostream& err) {
  auto stub = v1::Switchyard::NewStub(channel);
  grpc::ClientContext ctx;
  call.Apply(ctx);
  if (on_start) on_start(&ctx);
  auto reader = stub->GenerateStream(&ctx, request);
  v1::GenerateResponse result;  // the chunks put together, for --json
  v1::GenerationEnd end;
  bool has_end = false;
  bool printed = false;
  v1::GenerateStreamResponse msg;
  while (reader->Read(&msg)) {
    if (msg.has_chunk()) {
      const v1::GenerateChunk& chunk = msg.chunk();
      result.mutable_token_ids()->MergeFrom(chunk.token_ids());
      result.mutable_logprobs()->MergeFrom(chunk.logprobs());
      result.mutable_text()->append(chunk.text());
      if (!options.json && !chunk.text().empty()) {
        out << chunk.text() << std::flush;
        printed = true;
      }
    } else if (msg.has_end()) {
      end = msg.end();
      has_end = true;
    }
  }
  const grpc::Status status = reader->Finish();
  if (on_start) on_start(nullptr);
  if (printed) out << "\n" << std::flush;
  if (cancelled.load()) {
    err << "switchyard-cli: cancelled after " << result.token_ids_size() << " tokens\n";
    return kExitCancelled;
  }
  if (!status.ok()) return Fail(status, err);
  if (!has_end) {
    err << "switchyard-cli: the stream ended without its GenerationEnd\n";
    return kExitFailure;
  }
  if (!options.json) {
    err << FormatGenerationSummary(end) << "\n";
    return 0;
  }
  result.set_request_id(end.request_id());
  result.set_finish_reason(end.finish_reason());
  *result.mutable_usage() = end.usage();
  *result.mutable_timings() = end.timings();
  google::protobuf::util::JsonPrintOptions json;
  json.preserve_proto_field_names = true;
  json.always_print_primitive_fields = true;
  std::string text;
  if (auto st = google::protobuf::util::MessageToJsonString(result, &text, json); !st.ok()) {
    err << "switchyard-cli: " << st.ToString() << "\n";
    return kExitFailure;
  }
  out << text << "\n";
  return 0;
}

int Tokenize(const std::shared_ptr<grpc::Channel>& channel, const CallSettings& call,
             const v1::TokenizeRequest& request, std::ostream& out, std::ostream& err) {
  auto stub = v1::Switchyard::NewStub(channel);
  grpc::ClientContext ctx;
  call.Apply(ctx);
  v1::TokenizeResponse response;
  const grpc::Status status = stub->Tokenize(&ctx, request, &response);
  if (!status.ok()) return Fail(status, err);
  out << "[" << absl::StrJoin(response.token_ids(), ",") << "]\n";
  return 0;
}

int ModelInfo(const std::shared_ptr<grpc::Channel>& channel, const CallSettings& call, const std::string& model,
              std::ostream& out, std::ostream& err) {
  auto stub = v1::Switchyard::NewStub(channel);
  grpc::ClientContext ctx;
  call.Apply(ctx);
  v1::GetModelInfoRequest request;
  request.set_model(model);
  v1::ModelInfo response;
  const grpc::Status status = stub->GetModelInfo(&ctx, request, &response);
  if (!status.ok()) return Fail(status, err);
  out << FormatModelInfo(response);
  return 0;
}

int ExpertLoad(const std::shared_ptr<grpc::Channel>& channel, const CallSettings& call, const std::string& model,
               LoadWindow window, int width, std::ostream& out, std::ostream& err) {
  auto stub = v1::Switchyard::NewStub(channel);
  grpc::ClientContext ctx;
  call.Apply(ctx);
  v1::GetExpertLoadRequest request;
  request.set_model(model);
  v1::ExpertLoad response;
  const grpc::Status status = stub->GetExpertLoad(&ctx, request, &response);
  if (!status.ok()) return Fail(status, err);
  out << FormatExpertLoad(response, window, width);
  return 0;
}

namespace {

// The first line of every redrawn frame: that the picture is live, and how fresh.
std::string WatchStatusLine(int64_t updates, int32_t interval_ms) {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char clock[16];
  std::strftime(clock, sizeof(clock), "%H:%M:%S", &local);
  const std::string every =
      interval_ms % 1000 == 0 ? absl::StrCat(interval_ms / 1000, " s") : absl::StrCat(interval_ms, " ms");
  return absl::StrCat("update ", updates, " at ", clock, ", every ", every, "; Ctrl-C quits\n");
}

}  // namespace

int WatchExpertLoad(const std::shared_ptr<grpc::Channel>& channel, const CallSettings& call, const std::string& model,
                    const WatchOptions& options, const ContextHook& on_start, const std::atomic<bool>& cancelled,
                    std::ostream& out, std::ostream& err) {
  auto stub = v1::Switchyard::NewStub(channel);
  grpc::ClientContext ctx;
  call.Apply(ctx);
  if (on_start) on_start(&ctx);
  v1::WatchExpertLoadRequest request;
  request.set_model(model);
  request.set_interval_ms(options.interval_ms);
  auto reader = stub->WatchExpertLoad(&ctx, request);
  int64_t updates = 0;
  v1::ExpertLoad load;
  while (reader->Read(&load)) {
    // The screen is taken only once there is something to show, so that a
    // call that fails at once leaves the terminal untouched.
    if (options.redraw && updates == 0) out << kEnterScreen;
    ++updates;
    const TerminalSize size = options.size ? options.size() : TerminalSize{};
    const int width = size.columns > 0 ? size.columns : 100;
    if (options.redraw) {
      HeatMapOptions map;
      map.window = options.window;
      map.width = width;
      map.max_lines = size.lines > 1 ? size.lines - 1 : 0;  // below the status line
      map.color = options.color;
      std::string status = WatchStatusLine(updates, options.interval_ms);
      if (static_cast<int>(status.size()) > width + 1) status = status.substr(0, width) + "\n";  // one line
      out << Redraw(status + RenderHeatMap(load, map)) << std::flush;
    } else {
      out << FormatExpertLoad(load, options.window, width) << "\n" << std::flush;
    }
  }
  const grpc::Status status = reader->Finish();
  if (on_start) on_start(nullptr);
  if (options.redraw && updates > 0) out << kLeaveScreen << std::flush;
  if (cancelled.load()) {
    err << "switchyard-cli: stopped after " << updates << " updates\n";
    return kExitCancelled;
  }
  if (!status.ok()) return Fail(status, err);
  err << "switchyard-cli: the server ended the stream after " << updates << " updates\n";
  return 0;
}

int Health(const std::shared_ptr<grpc::Channel>& channel, const CallSettings& call, const std::string& service,
           std::ostream& out, std::ostream& err) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext ctx;
  call.Apply(ctx);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = stub->Check(&ctx, request, &response);
  if (!status.ok()) return Fail(status, err);
  out << grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status()) << "\n";
  return response.status() == grpc::health::v1::HealthCheckResponse::SERVING ? 0 : kExitFailure;
}

}  // namespace switchyard::cli
