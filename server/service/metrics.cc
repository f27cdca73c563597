#include "server/service/metrics.h"

#include <array>
#include <exception>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"
#include "server/service/expert_load.h"
#include "server/service/listening_socket.h"

namespace switchyard::server {
namespace {

// The RPCs a `rpc` label may name, by the part after the last '/' (so no two
// may share it); anything else, e.g. a method a client made up, is "other",
// which keeps the series bounded.
constexpr std::array<std::string_view, 18> kRpcs = {
    "/switchyard.v1.Switchyard/Generate",     "/switchyard.v1.Switchyard/GenerateStream",
    "/switchyard.v1.Switchyard/Tokenize",     "/switchyard.v1.Switchyard/Detokenize",
    "/switchyard.v1.Switchyard/GetModelInfo", "/switchyard.v1.Switchyard/GetExpertLoad",
    "/switchyard.v1.Switchyard/WatchExpertLoad",
    // The KServe v2 / Triton service (kserve_service.h).
    "/inference.GRPCInferenceService/ServerLive", "/inference.GRPCInferenceService/ServerReady",
    "/inference.GRPCInferenceService/ModelReady", "/inference.GRPCInferenceService/ServerMetadata",
    "/inference.GRPCInferenceService/ModelMetadata", "/inference.GRPCInferenceService/ModelConfig",
    "/inference.GRPCInferenceService/ModelInfer", "/inference.GRPCInferenceService/ModelStreamInfer",
    "/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch",
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"};

constexpr std::array<const char*, 17> kCodeNames = {
    "OK",        "CANCELLED",         "UNKNOWN",        "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
    "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
    "OUT_OF_RANGE", "UNIMPLEMENTED",  "INTERNAL",       "UNAVAILABLE",      "DATA_LOSS",         "UNAUTHENTICATED"};

// Latency buckets from 1 ms to ~60 s, roughly x2 apart.
prometheus::Histogram::BucketBoundaries LatencyBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

// Token counts per request: powers of two up to a long context.
prometheus::Histogram::BucketBoundaries TokenBuckets() {
  prometheus::Histogram::BucketBoundaries b;
  for (double v = 1; v <= 131072; v *= 2) b.push_back(v);
  return b;
}

prometheus::MetricFamily Family(std::string name, std::string help, prometheus::MetricType type) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

prometheus::ClientMetric Value(prometheus::MetricType type, double value) {
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  return m;
}

prometheus::MetricFamily HistogramFamily(std::string name, std::string help, const HistogramCounts& h) {
  prometheus::MetricFamily f = Family(std::move(name), std::move(help), prometheus::MetricType::Histogram);
  prometheus::ClientMetric m;
  uint64_t cumulative = 0;
  for (size_t i = 0; i < h.counts.size(); ++i) {
    cumulative += h.counts[i];
    const double bound = i < h.bounds.size() ? h.bounds[i] : std::numeric_limits<double>::infinity();
    m.histogram.bucket.push_back({cumulative, bound});
  }
  m.histogram.sample_count = cumulative;
  m.histogram.sample_sum = h.sum;
  f.metric.push_back(std::move(m));
  return f;
}

}  // namespace

// Reads the engine's snapshot at scrape time.
class Metrics::EngineCollector : public prometheus::Collectable {
 public:
  EngineCollector(const EngineService& engine, int32_t max_expert_series)
      : engine_(engine), max_expert_series_(max_expert_series) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    using prometheus::MetricType;
    const EngineSnapshot s = engine_.snapshot();
    std::vector<prometheus::MetricFamily> out;
    auto scalar = [&out](const char* name, const char* help, MetricType type, double value) {
      out.push_back(Family(name, help, type));
      out.back().metric.push_back(Value(type, value));
    };
    // The health watchdog's two inputs, so that alerts see what the gRPC
    // health check sees (a scrape cannot ask grpc.health.v1).
    scalar("switchyard_engine_loaded", "1 once the model is loaded and warmed up, 0 while it loads.",
           MetricType::Gauge, engine_.loaded() ? 1 : 0);
    scalar("switchyard_engine_stalled_seconds",
           "How long the engine has had work but finished no step (0 when idle or progressing); health turns "
           "NOT_SERVING when this reaches --watchdog-timeout.",
           MetricType::Gauge, absl::ToDoubleSeconds(engine_.StalledFor(absl::Now())));
    scalar("switchyard_num_requests_running", "Requests generating now.", MetricType::Gauge, s.scheduler.num_running);
    scalar("switchyard_num_requests_waiting", "Requests waiting for KV-cache admission.", MetricType::Gauge,
           s.scheduler.num_waiting);
    scalar("switchyard_kv_cache_usage_ratio", "Used KV-cache blocks over all blocks.", MetricType::Gauge,
           s.scheduler.kv_usage);
    scalar("switchyard_kv_blocks", "KV-cache blocks in all (a gauge: promtool keeps _total for counters).", MetricType::Gauge, s.scheduler.num_blocks);
    scalar("switchyard_kv_blocks_free", "Free KV-cache blocks.", MetricType::Gauge, s.scheduler.num_free_blocks);
    scalar("switchyard_kv_blocks_cached", "KV-cache blocks holding a cached prompt prefix, in use or not.",
           MetricType::Gauge, s.scheduler.num_cached_blocks);
    scalar("switchyard_kv_blocks_evictable",
           "Cached KV-cache blocks no request uses: counted free, and reused last.", MetricType::Gauge,
           s.scheduler.num_evictable_blocks);
    // Counters in tokens, as vLLM's, so that a hit rate over any window is
    // rate(hits) / rate(queries).
    scalar("switchyard_prefix_cache_queries_tokens_total",
           "Prompt tokens looked up in the prefix cache when requests were admitted.", MetricType::Counter,
           static_cast<double>(s.scheduler.prefix_cache_queries));
    scalar("switchyard_prefix_cache_hits_tokens_total",
           "Prompt tokens found in the prefix cache (their KV reused, not computed).", MetricType::Counter,
           static_cast<double>(s.scheduler.prefix_cache_hits));
    scalar("switchyard_preemptions_total", "Sequences preempted to free KV-cache blocks.", MetricType::Counter,
           static_cast<double>(s.scheduler.num_preemptions));
    scalar("switchyard_engine_step_failures_total",
           "Engine steps the backend failed; their requests ended with INTERNAL and the engine went on.",
           MetricType::Counter, static_cast<double>(s.num_failed_steps));
    scalar("switchyard_engine_steps_total", "Engine steps (batched forward passes).", MetricType::Counter,
           static_cast<double>(s.num_steps));
    scalar("switchyard_generated_tokens_total", "Tokens generated.", MetricType::Counter,
           static_cast<double>(s.num_generated_tokens));
    scalar("switchyard_prompt_tokens_total", "Prompt tokens of the requests the engine accepted.",
           MetricType::Counter, static_cast<double>(s.num_prompt_tokens));
    out.push_back(HistogramFamily("switchyard_step_tokens", "Tokens (prefill chunks and decodes) per engine step.",
                                  s.step_tokens));
    out.push_back(HistogramFamily("switchyard_step_duration_seconds", "Wall time of each engine step.",
                                  s.step_seconds));
    AddExpertTokens(s, out);
    out.push_back(Family("switchyard_expert_imbalance_ratio",
                         "Max over mean of the tokens routed to each expert of a layer over the recent window "
                         "(1 = balanced; 0 = no tokens).",
                         MetricType::Gauge));
    for (int32_t layer = 0; layer < s.num_layers && s.num_experts > 0; ++layer) {
      const auto recent =
          absl::MakeConstSpan(s.recent_expert_tokens).subspan(static_cast<size_t>(layer) * s.num_experts, s.num_experts);
      prometheus::ClientMetric m = Value(MetricType::Gauge, Imbalance(recent));
      m.label = {{"layer", std::to_string(layer)}};
      out.back().metric.push_back(std::move(m));
    }
    return out;
  }

 private:
  // Per layer and expert while that fits the series cap; else per expert
  // summed over layers (layer="all"); else none.
  void AddExpertTokens(const EngineSnapshot& s, std::vector<prometheus::MetricFamily>& out) const {
    out.push_back(Family("switchyard_expert_tokens_total", "Tokens the router sent to each expert of each layer.",
                         prometheus::MetricType::Counter));
    const int64_t E = s.num_experts;
    if (E == 0) return;
    auto add = [&out](double value, std::string layer, int64_t expert) {
      prometheus::ClientMetric m = Value(prometheus::MetricType::Counter, value);
      m.label = {{"expert", std::to_string(expert)}, {"layer", std::move(layer)}};
      out.back().metric.push_back(std::move(m));
    };
    if (static_cast<int64_t>(s.num_layers) * E <= max_expert_series_) {
      for (size_t i = 0; i < s.expert_tokens.size(); ++i) {
        add(static_cast<double>(s.expert_tokens[i]), std::to_string(i / E), static_cast<int64_t>(i % E));
      }
    } else if (E <= max_expert_series_) {
      std::vector<double> sum(E, 0.0);
      for (size_t i = 0; i < s.expert_tokens.size(); ++i) sum[i % E] += static_cast<double>(s.expert_tokens[i]);
      for (int64_t e = 0; e < E; ++e) add(sum[e], "all", e);
    }
  }

  const EngineService& engine_;
  const int32_t max_expert_series_;
};

absl::Status MetricsConfig::Validate() const {
  if (max_expert_series < 0) {
    return absl::InvalidArgumentError(absl::StrCat("max_expert_series is ", max_expert_series, "; must be >= 0"));
  }
  if (address.empty()) return absl::InvalidArgumentError("metrics address is empty");
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Metrics>> Metrics::Start(const MetricsConfig& config, const EngineService& engine) {
  if (absl::Status st = config.Validate(); !st.ok()) return st;
  const std::string& address = config.address;
  std::unique_ptr<Metrics> m(new Metrics());
  m->registry_ = std::make_shared<prometheus::Registry>();
  m->requests_ = &prometheus::BuildCounter()
                      .Name("switchyard_requests_total")
                      .Help("gRPC calls ended, by method and status code.")
                      .Register(*m->registry_);
  auto histogram = [&m](const char* name, const char* help,
                        prometheus::Histogram::BucketBoundaries buckets = LatencyBuckets()) {
    return &prometheus::BuildHistogram().Name(name).Help(help).Register(*m->registry_).Add({}, std::move(buckets));
  };
  m->ttft_ = histogram("switchyard_time_to_first_token_seconds", "From receiving a generate call to its first token.");
  m->inter_token_ = histogram("switchyard_inter_token_latency_seconds", "Between consecutive tokens of a request.");
  m->e2e_ = histogram("switchyard_e2e_request_latency_seconds", "From receiving a generate call to its last token.");
  m->queue_time_ = histogram("switchyard_queue_time_seconds",
                             "From receiving a generate call until the engine thread took the request.");
  m->prompt_tokens_ = histogram("switchyard_request_prompt_tokens", "Prompt tokens of each finished request.",
                                TokenBuckets());
  m->generated_tokens_ = histogram("switchyard_request_generated_tokens",
                                   "Tokens generated for each finished request.", TokenBuckets());
  m->engine_ = std::make_shared<EngineCollector>(engine, config.max_expert_series);
  try {
    m->exposer_ = std::make_unique<prometheus::Exposer>(address);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("cannot serve metrics on ", address, ": ", e.what()));
  }
  m->exposer_->RegisterCollectable(m->registry_);
  m->exposer_->RegisterCollectable(m->engine_);
  return m;
}

Metrics::~Metrics() {
  // Wakes the HTTP server's accept loop, so that the Exposer stops at once
  // instead of after its next 2 s poll (listening_socket.h).
  if (exposer_ != nullptr) {
    for (const int port : exposer_->GetListeningPorts()) ShutDownListeningSockets(port);
  }
}

int Metrics::port() const { return exposer_->GetListeningPorts().front(); }

void Metrics::CountCall(std::string_view rpc, grpc::StatusCode code) {
  std::string_view label = "other";
  for (std::string_view known : kRpcs) {
    if (rpc == known) label = known.substr(known.rfind('/') + 1);
  }
  const size_t c = static_cast<size_t>(code);
  requests_->Add({{"rpc", std::string(label)}, {"code", c < kCodeNames.size() ? kCodeNames[c] : "UNKNOWN"}})
      .Increment();
}

}  // namespace switchyard::server
