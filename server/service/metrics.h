// Prometheus metrics (prometheus-cpp), served as text on their own HTTP port.
// Names are prefixed switchyard_; labels come only from closed sets (RPC
// names, status codes, layer and expert indices), never from clients.
//   switchyard_requests_total{rpc,code}          calls ended, by RPC and status (a call
//                                                whose deadline passed: DEADLINE_EXCEEDED)
//   switchyard_queue_time_seconds                histogram, receipt to the engine taking it
//   switchyard_time_to_first_token_seconds       histogram, from receipt
//   switchyard_inter_token_latency_seconds       histogram, between tokens
//   switchyard_e2e_request_latency_seconds       histogram, receipt to last token
//   switchyard_request_prompt_tokens, switchyard_request_generated_tokens
//                                                histograms, per finished request
//   switchyard_step_tokens, switchyard_step_duration_seconds
//                                                histograms, per engine step
//   switchyard_num_requests_running / _waiting   gauges (scheduler)
//   switchyard_kv_cache_usage_ratio, switchyard_kv_blocks, switchyard_kv_blocks_free
//   switchyard_kv_blocks_cached, switchyard_kv_blocks_evictable   gauges (prefix cache)
//   switchyard_prefix_cache_queries_tokens_total, switchyard_prefix_cache_hits_tokens_total
//                                                counters: the hit rate is rate(hits) / rate(queries)
//   switchyard_prompt_tokens_total, switchyard_generated_tokens_total,
//   switchyard_engine_steps_total, switchyard_preemptions_total   counters (engine)
//   switchyard_engine_loaded                     gauge, 1 once the model is loaded and warmed up
//   switchyard_engine_stalled_seconds            gauge, how long the engine has had work but
//                                                finished no step (the health watchdog's measure)
//   switchyard_expert_tokens_total{layer,expert} tokens routed to each expert
//                                                (layer="all": summed over layers,
//                                                when layers x experts > the series cap)
//   switchyard_expert_imbalance_ratio{layer}     max/mean expert load over the
//                                                recent window (--expert-load-window)
// The engine's values are read from its snapshot at each scrape, so the
// engine thread does no metrics work.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/support/status.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "server/service/engine_service.h"

namespace switchyard::server {

struct MetricsConfig {
  std::string address;  // "host:port" for GET /metrics; port 0 picks a free one
  // Most switchyard_expert_tokens_total series: a model with more layers x
  // experts exports them summed over layers instead (one per expert), and
  // none if even that is more, so a huge model cannot flood Prometheus.
  int32_t max_expert_series = 8192;

  absl::Status Validate() const;
};

class Metrics {
 public:
  // `engine` must outlive the returned object.
  static absl::StatusOr<std::unique_ptr<Metrics>> Start(const MetricsConfig& config, const EngineService& engine);
  ~Metrics();

  int port() const;

  // Thread-safe. `rpc` is the full method name ("/switchyard.v1.Switchyard/
  // Generate"); names outside the served set count as "other".
  void CountCall(std::string_view rpc, grpc::StatusCode code);
  void ObserveTimeToFirstToken(absl::Duration d) { ttft_->Observe(absl::ToDoubleSeconds(d)); }
  void ObserveInterToken(absl::Duration d) { inter_token_->Observe(absl::ToDoubleSeconds(d)); }
  void ObserveEndToEnd(absl::Duration d) { e2e_->Observe(absl::ToDoubleSeconds(d)); }
  // A request the engine took and finished.
  void ObserveRequest(absl::Duration queue_time, int32_t prompt_tokens, int32_t generated_tokens) {
    queue_time_->Observe(absl::ToDoubleSeconds(queue_time));
    prompt_tokens_->Observe(prompt_tokens);
    generated_tokens_->Observe(generated_tokens);
  }

 private:
  class EngineCollector;
  Metrics() = default;

  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<EngineCollector> engine_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  prometheus::Family<prometheus::Counter>* requests_ = nullptr;
  prometheus::Histogram* ttft_ = nullptr;
  prometheus::Histogram* inter_token_ = nullptr;
  prometheus::Histogram* e2e_ = nullptr;
  prometheus::Histogram* queue_time_ = nullptr;
  prometheus::Histogram* prompt_tokens_ = nullptr;
  prometheus::Histogram* generated_tokens_ = nullptr;
};

}  // namespace switchyard::server
