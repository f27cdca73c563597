// switchyard-cli's commands: each makes one call on a channel and writes its
// result to `out` (results only) and `err` (summaries and errors), returning
// the process exit status. Flags are parsed in main.cc alone.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "switchyard/v1/switchyard.pb.h"
#include "tools/cli/terminal.h"

namespace switchyard::cli {

// Exit statuses: 0 success, 1 a failed call (or health not SERVING),
// 2 bad command-line arguments, 130 cancelled by Ctrl-C.
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitCancelled = 130;

// "INVALID_ARGUMENT", "UNAVAILABLE", ...
std::string StatusCodeName(grpc::StatusCode code);

// Applies a deadline (none when zero) and the API key (none when empty, sent
// as `authorization: Bearer <key>`) to every call.
struct CallSettings {
  int64_t timeout_ms = 0;
  std::string api_key;
  void Apply(grpc::ClientContext& ctx) const;
};

// Called with the context of the streaming call before it starts, so that a
// Ctrl-C can cancel it, and with nullptr once it has finished, before the
// context is destroyed.
using ContextHook = std::function<void(grpc::ClientContext*)>;

struct GenerateOptions {
  bool json = false;  // the assembled GenerateResponse as JSON, not streamed text
};

// GenerateStream: chunk text to `out` as it arrives (flushed), then a one-line
// summary (finish reason, tokens, timings) to `err`; or, with json, the whole
// result as one JSON object. `cancelled` tells a client cancellation from a
// server one.
int Generate(const std::shared_ptr<grpc::Channel>& channel, const CallSettings& call,
             const v1::GenerateRequest& request, const GenerateOptions& options, const ContextHook& on_start,
             const std::atomic<bool>& cancelled, std::ostream& out, std::ostream& err);

// Tokenize: the ids as a JSON array, e.g. [1,385,447].
int Tokenize(const std::shared_ptr<grpc::Channel>& channel, const CallSettings& call,
             const v1::TokenizeRequest& request, std::ostream& out, std::ostream& err);

// GetModelInfo: one "key: value" line per field.
int ModelInfo(const std::shared_ptr<grpc::Channel>& channel, const CallSettings& call, const std::string& model,
              std::ostream& out, std::ostream& err);

// Which counts `expert-load` shows: since the server started, over its recent
// window (--expert-load-window), or in the engine's last step.
enum class LoadWindow { kSinceStart, kRecent, kLastStep };
// "start", "recent" or "last-step".
absl::StatusOr<LoadWindow> ParseLoadWindow(const std::string& name);
// A layer's per-expert token counts in `window`, and their max/mean.
const google::protobuf::RepeatedField<int64_t>& ExpertCounts(const v1::LayerExpertLoad& l, LoadWindow window);
double LayerImbalance(const v1::LayerExpertLoad& l, LoadWindow window);

// GetExpertLoad: a per-layer table (see FormatExpertLoad).
int ExpertLoad(const std::shared_ptr<grpc::Channel>& channel, const CallSettings& call, const std::string& model,
               LoadWindow window, int width, std::ostream& out, std::ostream& err);

// How `expert-load --watch` shows each update of the stream.
struct WatchOptions {
  LoadWindow window = LoadWindow::kSinceStart;
  int32_t interval_ms = 1000;  // how often the server sends an update
  // For a terminal: every update redraws a heat map (RenderHeatMap) in place
  // on the alternate screen, which is left, the cursor shown again, however
  // the watch ends. Otherwise every update prints FormatExpertLoad's table
  // and a blank line, without an escape code.
  bool redraw = false;
  bool color = false;  // with redraw: colour cells, else shade characters
  // Asked before every update for the columns and lines to fit, so that a
  // resized terminal is followed; unset or zero: 100 columns, any lines.
  std::function<TerminalSize()> size;
};

// WatchExpertLoad until the call ends: by `cancelled` (Ctrl-C: exit 130,
// "stopped after N updates"), an error status (printed as by the other
// commands, exit 1; a --timeout deadline ends it this way), or the server
// ending the stream (exit 0). `on_start` as for Generate.
int WatchExpertLoad(const std::shared_ptr<grpc::Channel>& channel, const CallSettings& call, const std::string& model,
                    const WatchOptions& options, const ContextHook& on_start, const std::atomic<bool>& cancelled,
                    std::ostream& out, std::ostream& err);

// grpc.health.v1.Health/Check of `service` ("" = the whole server): prints
// the status name; 0 only when SERVING.
int Health(const std::shared_ptr<grpc::Channel>& channel, const CallSettings& call, const std::string& service,
           std::ostream& out, std::ostream& err);

// The output formats, apart from any call.
std::string FormatModelInfo(const v1::ModelInfo& info);
// A header line, then per layer: layer, total tokens, max/mean imbalance and
// the per-expert counts (since start, over the server's recent window, or in
// the last step), wrapped to about
// `width` columns with each line labelled by its first and last expert.
std::string FormatExpertLoad(const v1::ExpertLoad& load, LoadWindow window, int width);
// "finish: length, prompt tokens: 10 (0 cached), completion tokens: 12, ..."
std::string FormatGenerationSummary(const v1::GenerationEnd& end);
// "1.5 KiB", "3.0 MiB", ...
std::string FormatBytes(int64_t bytes);

}  // namespace switchyard::cli
