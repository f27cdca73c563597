#include "server/service/kserve_stream_reactor.h"

#include <algorithm>
#include <utility>

#include "server/service/grpc_status.h"
#include "server/service/kserve_response.h"

namespace switchyard::server {
namespace {

// Failed requests' responses waiting to be written; with this many the
// stream reads no further request until they are out, so that a client that
// sends without reading cannot make the server buffer without bound.
constexpr size_t kMaxQueuedErrors = 16;

}  // namespace

KServeStreamReactor::KServeStreamReactor(const GenerateEnv& env, std::string model_name, AdmitFn admit,
                                         absl::Time deadline, absl::Status opened)
    : env_(env), model_name_(std::move(model_name)), admit_(std::move(admit)), deadline_(deadline) {
  Actions actions;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!opened.ok()) {
      finishing_ = true;
      final_status_ = opened;
      actions.finish = true;
    } else {
      actions = NextLocked();  // the first read
    }
  }
  Act(actions);
}

void KServeStreamReactor::OnReadDone(bool ok) {
  bool handle = false;
  Actions actions;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (ok && !broken_ && !finishing_) {
      handle = true;  // reading_ stays set until the request is handled
    } else {
      reading_ = false;
      reads_done_ = true;
      actions = NextLocked();
    }
  }
  if (!handle) {
    Act(actions);
    return;
  }
  Handle(request_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    reading_ = false;
    actions = NextLocked();
  }
  Act(actions);
}

void KServeStreamReactor::Handle(const inference::ModelInferRequest& request) {
  absl::Status admission = admit_(request.model_name(), request.model_version());
  absl::StatusOr<KServeRequest> translated = admission.ok() ? TranslateInferRequest(request) : admission;
  if (!translated.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    errors_.push_back(StreamError(request.id(), model_name_, translated.status()));
    return;
  }
  auto owned = std::make_unique<Job>();
  Job* job = owned.get();
  job->request = std::move(*translated);
  absl::Time deadline = deadline_;
  if (job->request.timeout) deadline = std::min(deadline, absl::Now() + *job->request.timeout);
  uint64_t key;
  {
    std::lock_guard<std::mutex> lock(mu_);
    key = next_key_++;
    jobs_.emplace(key, std::move(owned));
  }
  env_.calls.Enter();
  refs_.fetch_add(1);  // for the engine's terminal event
  // Tokenizing and validating happen here, outside the lock.
  absl::StatusOr<scheduler::RequestId> id =
      StartGeneration(env_, job->request.generate, deadline, absl::OkStatus(), job->generation,
                      [this, job](const EngineOutput& o) { OnEngineOutput(job, o); });
  bool refused = false;
  bool cancel = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!id.ok()) {
      refused = true;
      errors_.push_back(StreamError(job->request.id, model_name_, id.status()));
      jobs_.erase(key);
    } else {
      job->engine_id = *id;
      job->submitted = true;
      cancel = broken_;  // the stream broke while this was being submitted
    }
  }
  if (refused) {
    refs_.fetch_sub(1);  // never the last: OnDone has not run
    env_.calls.Exit();
  }
  if (cancel) env_.engine.Cancel(*id);
}

void KServeStreamReactor::OnEngineOutput(Job* job, const EngineOutput& output) {
  const bool terminal = output.output.finish.has_value() || !output.error.ok();
  Actions actions;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (job->generation->Add(output, job->pending)) {
      job->ended = true;
      job->status = job->generation->status();
    }
    actions = NextLocked();  // may write the job's last response and delete it
  }
  Act(actions);
  if (terminal) Unref();
}

void KServeStreamReactor::OnWriteDone(bool ok) {
  bool ended_job;
  std::vector<scheduler::RequestId> cancel;
  Actions actions;
  {
    std::lock_guard<std::mutex> lock(mu_);
    writing_ = false;
    ended_job = msg_ends_job_;
    msg_ends_job_ = false;
    if (!ok && !broken_) {
      broken_ = true;
      cancel = CancelAllLocked();
    }
    actions = NextLocked();
  }
  if (ended_job) env_.calls.Exit();
  for (scheduler::RequestId id : cancel) env_.engine.Cancel(id);
  Act(actions);
}

void KServeStreamReactor::OnCancel() {
  std::vector<scheduler::RequestId> cancel;
  Actions actions;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!broken_) {
      broken_ = true;
      cancel = CancelAllLocked();
    }
    actions = NextLocked();
  }
  for (scheduler::RequestId id : cancel) env_.engine.Cancel(id);
  Act(actions);
}

void KServeStreamReactor::OnDone() {
  size_t unfinished;
  {
    std::lock_guard<std::mutex> lock(mu_);
    unfinished = jobs_.size();  // their last responses were never written
  }
  for (size_t i = 0; i < unfinished; ++i) env_.calls.Exit();
  Unref();
}

std::vector<scheduler::RequestId> KServeStreamReactor::CancelAllLocked() {
  std::vector<scheduler::RequestId> ids;
  for (const auto& [key, job] : jobs_) {
    if (job->submitted && !job->ended) ids.push_back(job->engine_id);
  }
  return ids;
}

bool KServeStreamReactor::ReadyLocked(const Job& job) const {
  if (!job.submitted) return false;
  return job.ended || (job.request.stream && !job.pending.text().empty());
}

KServeStreamReactor::Actions KServeStreamReactor::NextLocked() {
  Actions a;
  if (finishing_) return a;
  if (broken_) {
    if (!writing_) {
      finishing_ = true;
      final_status_ = absl::CancelledError("the call was cancelled");
      a.finish = true;
    }
    return a;
  }
  if (!writing_) {
    if (!errors_.empty()) {
      msg_ = std::move(errors_.front());
      errors_.pop_front();
      writing_ = a.write = true;
    } else {
      // The first ready job after the one written last, wrapping around.
      auto ready = [this](const auto& entry) { return ReadyLocked(*entry.second); };
      auto it = std::find_if(jobs_.upper_bound(last_written_), jobs_.end(), ready);
      if (it == jobs_.end()) it = std::find_if(jobs_.begin(), jobs_.upper_bound(last_written_), ready);
      if (it != jobs_.end() && ReadyLocked(*it->second)) {
        WriteJobLocked(it->first);
        writing_ = a.write = true;
      } else if (reads_done_ && !reading_ && jobs_.empty()) {
        finishing_ = true;
        final_status_ = absl::OkStatus();
        a.finish = true;
        return a;
      }
    }
  }
  if (!reading_ && !reads_done_ && errors_.size() < kMaxQueuedErrors) reading_ = a.read = true;
  return a;
}

void KServeStreamReactor::WriteJobLocked(uint64_t key) {
  auto it = jobs_.find(key);
  Job& job = *it->second;
  last_written_ = key;
  msg_.Clear();
  msg_ends_job_ = job.ended;
  if (job.ended && !job.status.ok()) {
    msg_ = StreamError(job.request.id, model_name_, job.status);
  } else {
    v1::GenerationEnd end;
    job.generation->FillEnd(end);
    KServeOutput out;
    out.text = std::move(*job.pending.mutable_text());
    out.with_prompt = !job.prompt_sent;
    out.prompt_tokens = end.usage().prompt_tokens();
    out.completion_tokens = job.pending.token_ids_size();
    if (job.ended) out.finish = end.finish_reason();
    job.pending.Clear();
    job.prompt_sent = true;
    inference::ModelInferResponse& r = *msg_.mutable_infer_response();
    FillInferResponse(job.request, model_name_, out, r);
    MarkFinal(job.ended, r);
  }
  if (job.ended) jobs_.erase(it);  // the engine is done with it
}

void KServeStreamReactor::Act(const Actions& actions) {
  // request_, msg_ and final_status_ are stable here: reading_, writing_ or
  // finishing_ was set under the lock, and nothing touches them until the
  // read or write completes.
  if (actions.read) StartRead(&request_);
  if (actions.write) StartWrite(&msg_);
  if (actions.finish) Finish(ToGrpcStatus(final_status_));
}

void KServeStreamReactor::Unref() {
  if (refs_.fetch_sub(1) == 1) delete this;
}

}  // namespace switchyard::server
