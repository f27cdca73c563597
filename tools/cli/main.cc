// switchyard-cli: a command-line client of a Switchyard server. Flags are
// parsed here, and only here.
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/flag_spelling.h"
#include "tools/cli/commands.h"
#include "tools/cli/connection.h"
#include "tools/cli/interrupt.h"
#include "tools/cli/terminal.h"

ABSL_FLAG(std::string, addr, "127.0.0.1:50051", "The server's address, host:port.");
ABSL_FLAG(bool, tls, false, "Connect with TLS, checking the server's certificate against the system's CAs.");
ABSL_FLAG(std::string, tls_ca_file, "", "TLS, checking the server's certificate against these PEM CAs instead.");
ABSL_FLAG(std::string, tls_cert_file, "", "TLS with this PEM client certificate, for a mutual-TLS server.");
ABSL_FLAG(std::string, tls_key_file, "", "The PEM private key of --tls-cert-file.");
ABSL_FLAG(std::string, tls_server_name, "",
          "The name the server's certificate must carry, if not the host in --addr (e.g. localhost).");
ABSL_FLAG(std::string, api_key_file, "",
          "A file holding the API key, sent as 'authorization: Bearer <key>'. Default: $SWITCHYARD_API_KEY "
          "if set. (There is no flag for the key itself: other users could read it in ps.)");
ABSL_FLAG(absl::Duration, timeout, absl::ZeroDuration(),
          "Deadline of the call, e.g. 10s or 500ms; 0 = none (Ctrl-C still cancels a generation or a watch).");
ABSL_FLAG(std::string, model, "", "The served model's name; empty = the server's one model.");
ABSL_FLAG(std::string, prompt, "", "generate: the prompt text (encoded by the server's tokenizer).");
ABSL_FLAG(std::optional<int32_t>, max_tokens, std::nullopt, "generate: most tokens to generate (server default 16).");
ABSL_FLAG(std::optional<float>, temperature, std::nullopt, "generate: sampling temperature; 0 = greedy (server default 1).");
ABSL_FLAG(std::optional<float>, top_p, std::nullopt, "generate: nucleus sampling, in (0, 1]; 1 = off.");
ABSL_FLAG(std::optional<int32_t>, top_k, std::nullopt, "generate: keep the k most likely tokens; 0 = off.");
ABSL_FLAG(std::optional<float>, min_p, std::nullopt, "generate: drop tokens below min_p times the top probability.");
ABSL_FLAG(std::optional<float>, repetition_penalty, std::nullopt, "generate: > 0; 1 = off.");
ABSL_FLAG(std::optional<float>, presence_penalty, std::nullopt, "generate: in [-2, 2].");
ABSL_FLAG(std::optional<float>, frequency_penalty, std::nullopt, "generate: in [-2, 2].");
ABSL_FLAG(std::optional<uint64_t>, seed, std::nullopt, "generate: seed that makes sampling reproducible.");
ABSL_FLAG(std::vector<std::string>, stop, {},
          "generate: a stop string; repeat the flag for several (each value is taken whole, commas included).");
ABSL_FLAG(std::vector<std::string>, stop_token_ids, {}, "generate: comma-separated token ids that end generation.");
ABSL_FLAG(bool, ignore_eos, false, "generate: keep generating past the end-of-sequence token.");
ABSL_FLAG(int32_t, logprobs, 0, "generate: top logprobs per generated token, in [0, 20] (shown with --json).");
ABSL_FLAG(std::string, request_id, "", "generate: a request id, echoed back and in the server's logs.");
ABSL_FLAG(std::string, cache_salt, "",
          "generate: share cached prompt prefixes only with requests of the same salt (at most 256 bytes); "
          "empty = the server's shared prefix cache.");
ABSL_FLAG(bool, json, false,
          "generate: print the whole result (token ids, text, finish reason, usage, timings, logprobs) as JSON "
          "at the end instead of streaming the text.");
ABSL_FLAG(std::string, text, "", "tokenize: the text to encode.");
ABSL_FLAG(bool, special_tokens, true, "tokenize: add the tokenizer's special tokens (e.g. BOS).");
ABSL_FLAG(std::string, window, "start",
          "expert-load: which counts: start (since the server started), recent (over the server's "
          "--expert-load-window) or last-step (the engine's last step).");
ABSL_FLAG(int32_t, width, 0,
          "expert-load: wrap the table at this many columns; 0 = $COLUMNS, else 100. With --watch on a "
          "terminal, fit the heat map to it; 0 = the terminal's width.");
ABSL_FLAG(bool, watch, false,
          "expert-load: follow the server's WatchExpertLoad stream until Ctrl-C. On a terminal, a live heat map "
          "(a row per layer, a cell per expert coloured by its share of the layer's tokens over an even share, "
          "max/mean at the right; shades instead of colours with NO_COLOR set); otherwise, or with TERM=dumb, "
          "the table once per update.");
ABSL_FLAG(absl::Duration, interval, absl::Seconds(1),
          "expert-load --watch: how often the server sends an update, from 100ms to 1h.");
ABSL_FLAG(std::string, service, "", "health: the service to check; empty = the whole server.");

namespace {

namespace cli = switchyard::cli;
namespace v1 = switchyard::v1;

constexpr const char* kUsage =
    "switchyard-cli, a command-line client of a Switchyard gRPC server.\n\n"
    "usage: switchyard-cli <command> [--addr=127.0.0.1:50051] [--timeout=10s] [flags]\n"
    "       [--tls | --tls-ca-file=CA.pem] [--tls-cert-file=C.pem --tls-key-file=K.pem] [--api-key-file=F]\n\n"
    "commands:\n"
    "  generate      --prompt TEXT [--max-tokens N --temperature T --top-p P --top-k K --seed S\n"
    "                --stop STR ... --logprobs N --cache-salt S] [--json]: streams the text to stdout\n"
    "                as it is generated, then a summary line on stderr; Ctrl-C cancels\n"
    "  tokenize      --text TEXT: the token ids as a JSON array\n"
    "  model-info    the served model and the server's KV cache\n"
    "  expert-load   tokens routed to each expert of each layer, per layer; --watch [--interval=1s]:\n"
    "                a live heat map on a terminal (the table per update otherwise); Ctrl-C ends it\n"
    "  health        grpc.health.v1 Check: SERVING (exit 0) or NOT_SERVING (exit 1)\n\n"
    "A failed call prints its gRPC status code and message and exits 1; bad arguments exit 2.\n"
    "Flags may be spelled with dashes or underscores (--max-tokens, --max_tokens).\n"
    "Run 'switchyard-cli --help' for every flag.";

int Usage(const std::string& message) {
  std::cerr << "switchyard-cli: " << message << "\n";
  return cli::kExitUsage;
}

// absl keeps only the last of a repeated flag and splits vectors at commas;
// stop strings may hold commas and come several at once, so --stop is taken
// out of argv here (after the dashed spellings are rewritten).
std::vector<std::string> ExtractStops(int& argc, char** argv) {
  std::vector<std::string> stops;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--") {  // the rest are positional
      while (i < argc) argv[kept++] = argv[i++];
      break;
    }
    if (a == "--stop" && i + 1 < argc) {
      stops.push_back(argv[++i]);
    } else if (absl::StartsWith(a, "--stop=")) {
      stops.push_back(a.substr(7));
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  argv[argc] = nullptr;
  return stops;
}

struct Connection {
  std::shared_ptr<grpc::Channel> channel;
  cli::CallSettings call;
};

// An error when a TLS or API key file cannot be read.
absl::StatusOr<Connection> ConnectFromFlags() {
  cli::ConnectionOptions options;
  options.address = absl::GetFlag(FLAGS_addr);
  options.tls = absl::GetFlag(FLAGS_tls);
  options.ca_file = absl::GetFlag(FLAGS_tls_ca_file);
  options.cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  options.key_file = absl::GetFlag(FLAGS_tls_key_file);
  options.server_name = absl::GetFlag(FLAGS_tls_server_name);
  Connection c;
  absl::StatusOr<std::string> key =
      cli::LoadApiKey(absl::GetFlag(FLAGS_api_key_file), std::getenv("SWITCHYARD_API_KEY"));
  if (!key.ok()) return key.status();
  c.call.api_key = *std::move(key);
  c.call.timeout_ms = absl::ToInt64Milliseconds(absl::GetFlag(FLAGS_timeout));
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = cli::OpenChannel(options);
  if (!channel.ok()) return channel.status();
  c.channel = *std::move(channel);
  return c;
}

v1::GenerateRequest GenerateRequestFromFlags(const std::vector<std::string>& stops) {
  v1::GenerateRequest r;
  r.set_model(absl::GetFlag(FLAGS_model));
  r.set_text(absl::GetFlag(FLAGS_prompt));
  r.set_logprobs(absl::GetFlag(FLAGS_logprobs));
  r.set_request_id(absl::GetFlag(FLAGS_request_id));
  r.set_cache_salt(absl::GetFlag(FLAGS_cache_salt));
  v1::SamplingOptions& s = *r.mutable_sampling();
  if (auto v = absl::GetFlag(FLAGS_temperature)) s.set_temperature(*v);
  if (auto v = absl::GetFlag(FLAGS_top_k)) s.set_top_k(*v);
  if (auto v = absl::GetFlag(FLAGS_top_p)) s.set_top_p(*v);
  if (auto v = absl::GetFlag(FLAGS_min_p)) s.set_min_p(*v);
  if (auto v = absl::GetFlag(FLAGS_repetition_penalty)) s.set_repetition_penalty(*v);
  if (auto v = absl::GetFlag(FLAGS_presence_penalty)) s.set_presence_penalty(*v);
  if (auto v = absl::GetFlag(FLAGS_frequency_penalty)) s.set_frequency_penalty(*v);
  if (auto v = absl::GetFlag(FLAGS_seed)) s.set_seed(*v);
  v1::StoppingOptions& st = *r.mutable_stopping();
  if (auto v = absl::GetFlag(FLAGS_max_tokens)) st.set_max_tokens(*v);
  for (const std::string& stop : stops) st.add_stop(stop);
  st.set_ignore_eos(absl::GetFlag(FLAGS_ignore_eos));
  return r;
}

// Streams a generation; SIGINT/SIGTERM cancel the call (the server stops the
// request and frees its KV cache) instead of killing the process.
int RunGenerate(const std::vector<std::string>& stops) {
  if (absl::GetFlag(FLAGS_prompt).empty()) return Usage("generate needs --prompt TEXT");
  v1::GenerateRequest request = GenerateRequestFromFlags(stops);
  for (const std::string& id : absl::GetFlag(FLAGS_stop_token_ids)) {
    int32_t v = 0;
    if (!absl::SimpleAtoi(id, &v)) return Usage(absl::StrCat("--stop-token-ids: '", id, "' is not an integer"));
    request.mutable_stopping()->add_stop_token_ids(v);
  }
  cli::InterruptCanceller interrupt;  // before any gRPC thread exists, so that only it gets the signals
  absl::StatusOr<Connection> connection = ConnectFromFlags();
  if (!connection.ok()) return Usage(std::string(connection.status().message()));
  cli::GenerateOptions options;
  options.json = absl::GetFlag(FLAGS_json);
  return cli::Generate(connection->channel, connection->call, request, options, interrupt.hook(),
                       interrupt.cancelled(), std::cout, std::cerr);
}

int TableWidth() {
  if (const int w = absl::GetFlag(FLAGS_width); w > 0) return w;
  int columns = 0;
  if (const char* env = std::getenv("COLUMNS"); env != nullptr && absl::SimpleAtoi(env, &columns) && columns > 0) {
    return columns;
  }
  return 100;
}

// expert-load --watch: Ctrl-C and SIGTERM end the stream as for generate.
int RunWatch() {
  absl::StatusOr<cli::LoadWindow> window = cli::ParseLoadWindow(absl::GetFlag(FLAGS_window));
  if (!window.ok()) return Usage(std::string(window.status().message()));
  const absl::Duration interval = absl::GetFlag(FLAGS_interval);
  if (interval < absl::Milliseconds(100) || interval > absl::Hours(1)) {
    return Usage(absl::StrCat("--interval is ", absl::FormatDuration(interval), "; must be from 100ms to 1h"));
  }
  cli::InterruptCanceller interrupt;  // before any gRPC thread exists
  absl::StatusOr<Connection> connection = ConnectFromFlags();
  if (!connection.ok()) return Usage(std::string(connection.status().message()));
  cli::WatchOptions options;
  options.window = *window;
  options.interval_ms = static_cast<int32_t>(absl::ToInt64Milliseconds(interval));
  options.redraw = cli::IsAnsiTerminal(STDOUT_FILENO, std::getenv("TERM"));
  options.color = cli::WantsColor(std::getenv("NO_COLOR"));
  if (options.redraw) {
    options.size = [] {
      cli::TerminalSize size = cli::QueryTerminalSize(STDOUT_FILENO);
      if (const int w = absl::GetFlag(FLAGS_width); w > 0) size.columns = w;
      return size;
    };
  } else {
    options.size = [] { return cli::TerminalSize{TableWidth(), 0}; };
  }
  return cli::WatchExpertLoad(connection->channel, connection->call, absl::GetFlag(FLAGS_model), options,
                              interrupt.hook(), interrupt.cancelled(), std::cout, std::cerr);
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view path) { return absl::EndsWith(path, "tools/cli/main.cc"); };
  absl::SetFlagsUsageConfig(usage);
  switchyard::AcceptDashedFlags(argc, argv);
  const std::vector<std::string> stops = ExtractStops(argc, argv);
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() != 2) return Usage(absl::StrCat("expected one command\n", kUsage));
  const std::string command = args[1];
  if (absl::GetFlag(FLAGS_watch) && command != "expert-load") return Usage("--watch applies to expert-load only");
  if (command == "generate") return RunGenerate(stops);
  if (!stops.empty()) return Usage("--stop applies to generate only");
  if (absl::GetFlag(FLAGS_watch)) return RunWatch();
  if (command != "tokenize" && command != "model-info" && command != "expert-load" && command != "health") {
    return Usage(absl::StrCat("unknown command '", command, "'\n", kUsage));
  }
  absl::StatusOr<Connection> connection = ConnectFromFlags();
  if (!connection.ok()) return Usage(std::string(connection.status().message()));
  const std::shared_ptr<grpc::Channel>& channel = connection->channel;
  const cli::CallSettings& call = connection->call;
  if (command == "tokenize") {
    v1::TokenizeRequest request;
    request.set_model(absl::GetFlag(FLAGS_model));
    request.set_text(absl::GetFlag(FLAGS_text));
    request.set_add_special_tokens(absl::GetFlag(FLAGS_special_tokens));
    return cli::Tokenize(channel, call, request, std::cout, std::cerr);
  }
  if (command == "model-info") return cli::ModelInfo(channel, call, absl::GetFlag(FLAGS_model), std::cout, std::cerr);
  if (command == "expert-load") {
    absl::StatusOr<cli::LoadWindow> window = cli::ParseLoadWindow(absl::GetFlag(FLAGS_window));
    if (!window.ok()) {
      std::cerr << "switchyard-cli: " << window.status().message() << "\n";
      return 2;
    }
    return cli::ExpertLoad(channel, call, absl::GetFlag(FLAGS_model), *window, TableWidth(), std::cout, std::cerr);
  }
  return cli::Health(channel, call, absl::GetFlag(FLAGS_service), std::cout, std::cerr);
}
