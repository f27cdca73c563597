#include "server/service/metrics.h"

#include <array>
#include <exception>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace switchyard::server {
namespace {

// The RPCs a `rpc` label may name; anything else is "other".
constexpr std::array<std::string_view, 8> kRpcs = {
    "/switchyard.v1.Switchyard/Generate",   "/switchyard.v1.Switchyard/GenerateStream",
    "/switchyard.v1.Switchyard/Tokenize",   "/switchyard.v1.Switchyard/Detokenize",
    "/switchyard.v1.Switchyard/GetModelInfo", "/grpc.health.v1.Health/Check",
    "/grpc.health.v1.Health/Watch",
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"};

constexpr std::array<const char*, 17> kCodeNames = {
    "OK",        "CANCELLED",         "UNKNOWN",        "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
    "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
    "OUT_OF_RANGE", "UNIMPLEMENTED",  "INTERNAL",       "UNAVAILABLE",      "DATA_LOSS",         "UNAUTHENTICATED"};

// Latency buckets from 1 ms to ~60 s, roughly x2 apart.
prometheus::Histogram::BucketBoundaries LatencyBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
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

}  // namespace

// Reads the engine's snapshot at scrape time.
class Metrics::EngineCollector : public prometheus::Collectable {
 public:
  explicit EngineCollector(const EngineService& engine) : engine_(engine) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    using prometheus::MetricType;
    const EngineSnapshot s = engine_.snapshot();
    std::vector<prometheus::MetricFamily> out;
    auto scalar = [&out](const char* name, const char* help, MetricType type, double value) {
      out.push_back(Family(name, help, type));
      out.back().metric.push_back(Value(type, value));
    };
    scalar("switchyard_num_requests_running", "Requests generating now.", MetricType::Gauge, s.scheduler.num_running);
    scalar("switchyard_num_requests_waiting", "Requests waiting for KV-cache admission.", MetricType::Gauge,
           s.scheduler.num_waiting);
    scalar("switchyard_kv_cache_usage_ratio", "Used KV-cache blocks over all blocks.", MetricType::Gauge,
           s.scheduler.kv_usage);
    scalar("switchyard_kv_blocks_total", "KV-cache blocks.", MetricType::Gauge, s.scheduler.num_blocks);
    scalar("switchyard_kv_blocks_free", "Free KV-cache blocks.", MetricType::Gauge, s.scheduler.num_free_blocks);
    scalar("switchyard_preemptions_total", "Sequences preempted to free KV-cache blocks.", MetricType::Counter,
           static_cast<double>(s.scheduler.num_preemptions));
    scalar("switchyard_engine_steps_total", "Engine steps (batched forward passes).", MetricType::Counter,
           static_cast<double>(s.num_steps));
    scalar("switchyard_generated_tokens_total", "Tokens generated.", MetricType::Counter,
           static_cast<double>(s.num_generated_tokens));
    out.push_back(Family("switchyard_expert_tokens_total", "Tokens the router sent to each expert of each layer.",
                         MetricType::Counter));
    const int experts = engine_.model_config().num_experts;
    for (size_t i = 0; experts > 0 && i < s.expert_tokens.size(); ++i) {
      prometheus::ClientMetric m = Value(MetricType::Counter, static_cast<double>(s.expert_tokens[i]));
      m.label = {{"expert", std::to_string(i % experts)}, {"layer", std::to_string(i / experts)}};
      out.back().metric.push_back(std::move(m));
    }
    return out;
  }

 private:
  const EngineService& engine_;
};

absl::StatusOr<std::unique_ptr<Metrics>> Metrics::Start(const std::string& address, const EngineService& engine) {
  std::unique_ptr<Metrics> m(new Metrics());
  m->registry_ = std::make_shared<prometheus::Registry>();
  m->requests_ = &prometheus::BuildCounter()
                      .Name("switchyard_requests_total")
                      .Help("gRPC calls ended, by method and status code.")
                      .Register(*m->registry_);
  auto histogram = [&m](const char* name, const char* help) {
    return &prometheus::BuildHistogram().Name(name).Help(help).Register(*m->registry_).Add({}, LatencyBuckets());
  };
  m->ttft_ = histogram("switchyard_time_to_first_token_seconds", "From receiving a generate call to its first token.");
  m->inter_token_ = histogram("switchyard_inter_token_latency_seconds", "Between consecutive tokens of a request.");
  m->e2e_ = histogram("switchyard_e2e_request_latency_seconds", "From receiving a generate call to its last token.");
  m->engine_ = std::make_shared<EngineCollector>(engine);
  try {
    m->exposer_ = std::make_unique<prometheus::Exposer>(address);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("cannot serve metrics on ", address, ": ", e.what()));
  }
  m->exposer_->RegisterCollectable(m->registry_);
  m->exposer_->RegisterCollectable(m->engine_);
  return m;
}

Metrics::~Metrics() = default;

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
