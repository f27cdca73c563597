#include "tools/loadgen/runner.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "tools/cli/commands.h"
#include "tools/loadgen/arrivals.h"

namespace switchyard::loadgen {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point origin) { return std::chrono::duration<double>(Clock::now() - origin).count(); }

// The calls in flight, and the records of those that have finished.
class Collector {
 public:
  void Started() {
    std::lock_guard<std::mutex> lock(mu_);
    ++in_flight_;
  }

  void Finished(RequestRecord record) {
    std::lock_guard<std::mutex> lock(mu_);
    records_.push_back(std::move(record));
    --in_flight_;
    changed_.notify_all();
  }

  void WaitUntilFewerThan(int64_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [&] { return in_flight_ < n; });
  }

  std::vector<RequestRecord> Take() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::move(records_);
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  int64_t in_flight_ = 0;
  std::vector<RequestRecord> records_;
};

// One GenerateStream call; deletes itself when gRPC is done with it.
class StreamCall final : public grpc::ClientReadReactor<v1::GenerateStreamResponse> {
 public:
  StreamCall(v1::GenerateRequest request, RequestRecord record, Clock::time_point origin, Collector& collector)
      : request_(std::move(request)), record_(std::move(record)), origin_(origin), collector_(collector) {}

  void Start(v1::Switchyard::Stub& stub) {
    record_.start = Since(origin_);
    stub.async()->GenerateStream(&ctx_, &request_, this);
    StartRead(&msg_);
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // the stream has ended: OnDone follows with the status
    const double at = Since(origin_);
    if (msg_.has_chunk()) record_.chunks.push_back({at, msg_.chunk().token_ids_size()});
    if (msg_.has_end()) record_.prompt_tokens = msg_.end().usage().prompt_tokens();
    StartRead(&msg_);
  }

  void OnDone(const grpc::Status& status) override {
    record_.end = Since(origin_);
    if (!status.ok()) {
      record_.status = cli::StatusCodeName(status.error_code());
      record_.error = status.error_message();
    }
    // Gone before the collector hears of it: once the last call is counted
    // the caller may destroy the stub and channel.
    Collector& collector = collector_;
    RequestRecord record = std::move(record_);
    delete this;
    collector.Finished(std::move(record));
  }

 private:
  grpc::ClientContext ctx_;
  const v1::GenerateRequest request_;
  RequestRecord record_;
  const Clock::time_point origin_;
  Collector& collector_;
  v1::GenerateStreamResponse msg_;
};

v1::GenerateRequest BuildRequest(const LoadgenConfig& config, const Prompt& prompt, int64_t index) {
  v1::GenerateRequest r;
  r.set_model(config.model);
  r.set_request_id(absl::StrCat("loadgen-", index));
  if (prompt.text.empty()) r.mutable_token_ids()->mutable_ids()->Add(prompt.ids.begin(), prompt.ids.end());
  else r.set_text(prompt.text);
  r.mutable_sampling()->set_temperature(config.sampling.temperature);
  r.mutable_stopping()->set_max_tokens(config.sampling.max_tokens);
  r.mutable_stopping()->set_ignore_eos(config.sampling.ignore_eos);
  return r;
}

}  // namespace

absl::StatusOr<v1::ModelInfo> FetchModelInfo(v1::Switchyard::Stub& stub, const std::string& model) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::GetModelInfoRequest request;
  request.set_model(model);
  v1::ModelInfo info;
  const grpc::Status status = stub.GetModelInfo(&ctx, request, &info);
  if (!status.ok()) {
    return absl::UnavailableError(
        absl::StrCat("GetModelInfo: ", cli::StatusCodeName(status.error_code()), ": ", status.error_message()));
  }
  return info;
}

RunResult RunLoad(v1::Switchyard::Stub& stub, const LoadgenConfig& config, const Workload& workload) {
  Collector collector;
  PoissonArrivals arrivals(config.mode == Mode::kOpen ? config.rate : 1.0, config.seed);
  const double duration = absl::ToDoubleSeconds(config.duration);  // 0: no limit
  const Clock::time_point origin = Clock::now();
  for (int64_t i = 0; config.num_requests == 0 || i < config.num_requests; ++i) {
    if (config.mode == Mode::kOpen) {
      const double at = arrivals.Next();
      if (duration > 0 && at >= duration) break;
      std::this_thread::sleep_until(origin + std::chrono::duration_cast<Clock::duration>(
                                                 std::chrono::duration<double>(at)));
    } else {
      collector.WaitUntilFewerThan(config.concurrency);
      if (duration > 0 && Since(origin) >= duration) break;
    }
    const Prompt prompt = workload.At(i);
    RequestRecord record;
    record.index = i;
    record.prompt_tokens = static_cast<int32_t>(prompt.ids.size());
    collector.Started();
    (new StreamCall(BuildRequest(config, prompt, i), std::move(record), origin, collector))->Start(stub);
  }
  collector.WaitUntilFewerThan(1);
  RunResult result;
  result.duration_s = Since(origin);
  result.records = collector.Take();
  return result;
}

}  // namespace switchyard::loadgen
