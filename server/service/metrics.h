// Prometheus metrics (prometheus-cpp), served as text on their own HTTP port.
// Names are prefixed switchyard_; labels come only from closed sets (RPC
// names, status codes, layer and expert indices), never from clients.
//   switchyard_requests_total{rpc,code}          calls ended, by RPC and status
//   switchyard_time_to_first_token_seconds       histogram, from receipt
//   switchyard_inter_token_latency_seconds       histogram, between tokens
//   switchyard_e2e_request_latency_seconds       histogram, receipt to last token
//   switchyard_num_requests_running / _waiting   gauges (scheduler)
//   switchyard_kv_cache_usage_ratio, switchyard_kv_blocks_total / _free
//   switchyard_generated_tokens_total, switchyard_engine_steps_total,
//   switchyard_preemptions_total                 counters (engine)
//   switchyard_expert_tokens_total{layer,expert} tokens routed to each expert
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

class Metrics {
 public:
  // Serves GET /metrics on `address` ("host:port"; port 0 picks a free one).
  // `engine` must outlive the returned object.
  static absl::StatusOr<std::unique_ptr<Metrics>> Start(const std::string& address, const EngineService& engine);
  ~Metrics();

  int port() const;

  // Thread-safe. `rpc` is the full method name ("/switchyard.v1.Switchyard/
  // Generate"); names outside the served set count as "other".
  void CountCall(std::string_view rpc, grpc::StatusCode code);
  void ObserveTimeToFirstToken(absl::Duration d) { ttft_->Observe(absl::ToDoubleSeconds(d)); }
  void ObserveInterToken(absl::Duration d) { inter_token_->Observe(absl::ToDoubleSeconds(d)); }
  void ObserveEndToEnd(absl::Duration d) { e2e_->Observe(absl::ToDoubleSeconds(d)); }

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
};

}  // namespace switchyard::server
