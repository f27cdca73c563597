#include "scheduler/scheduler.h"

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/check.h"
#include "engine/sampling_params.h"

namespace switchyard::scheduler {

absl::StatusOr<std::unique_ptr<Scheduler>> Scheduler::Create(const SchedulerConfig& config, KvCacheShape kv,
                                                             int32_t max_model_len, Clock clock) {
  if (absl::Status s = config.Validate(); !s.ok()) return s;
  if (kv.num_blocks < 1 || kv.block_size < 1) {
    return absl::InvalidArgumentError(absl::StrCat("KV cache of ", kv.num_blocks, " blocks of ", kv.block_size,
                                                   " tokens; both must be >= 1"));
  }
  if (max_model_len < 1) {
    return absl::InvalidArgumentError(absl::StrCat("max_model_len is ", max_model_len, "; must be >= 1"));
  }
  if (!clock) clock = [] { return absl::Now(); };
  return std::unique_ptr<Scheduler>(new Scheduler(config, kv, max_model_len, std::move(clock)));
}

Scheduler::Scheduler(const SchedulerConfig& config, KvCacheShape kv, int32_t max_model_len, Clock clock)
    : config_(config),
      blocks_(kv, config.enable_prefix_caching),
      max_model_len_(max_model_len),
      clock_(std::move(clock)) {
  running_.reserve(config.max_num_seqs);
}

absl::Status Scheduler::Submit(SequenceRequest request) {
  const int64_t prompt = static_cast<int64_t>(request.prompt_ids.size());
  if (prompt == 0) return absl::InvalidArgumentError("prompt is empty");
  if (request.max_tokens < 1) {
    return absl::InvalidArgumentError(absl::StrCat("max_tokens is ", request.max_tokens, "; must be >= 1"));
  }
  if (live_.contains(request.id)) {
    return absl::AlreadyExistsError(absl::StrCat("request ", request.id, " is already queued or running"));
  }
  if (absl::Status s = engine::CheckFitsContext(prompt, request.max_tokens, max_model_len_); !s.ok()) return s;
  const int64_t total = prompt + request.max_tokens;
  if (blocks_.BlocksFor(total) > blocks_.num_blocks()) {
    return absl::ResourceExhaustedError(
        absl::StrCat("prompt (", prompt, " tokens) plus max_tokens (", request.max_tokens, ") needs ",
                     blocks_.BlocksFor(total), " KV blocks of ", blocks_.shape().block_size,
                     " tokens; the whole cache has ", blocks_.num_blocks()));
  }
  if (const int64_t waiting = num_really_waiting(); waiting >= config_.max_waiting) {
    return absl::UnavailableError(absl::StrCat("overloaded: ", waiting,
                                               " requests are waiting for a running slot (max_waiting); retry later"));
  }
  auto seq = std::make_unique<Sequence>();
  seq->id = request.id;
  seq->num_prompt_tokens = static_cast<int32_t>(prompt);
  seq->tokens = std::move(request.prompt_ids);
  seq->tokens.reserve(total);
  seq->max_tokens = request.max_tokens;
  seq->deadline = request.deadline;
  seq->cache_salt = std::move(request.cache_salt);
  waiting_.push_back(seq.get());
  live_.emplace(request.id, std::move(seq));
  return absl::OkStatus();
}

absl::Status Scheduler::Cancel(RequestId id) {
  auto it = live_.find(id);
  if (it == live_.end()) return absl::NotFoundError(absl::StrCat("no live request ", id));
  it->second->cancelled = true;
  return absl::OkStatus();
}

void Scheduler::Remove(Sequence* seq) {
  blocks_.Release(seq->block_table);
  live_.erase(seq->id);
}

void Scheduler::Preempt(Sequence* seq) {
  blocks_.Release(seq->block_table);
  seq->num_computed = 0;
  seq->prefix_chain = {};
  ++num_preemptions_;
  waiting_.push_front(seq);
}

void Scheduler::RemoveAborted(StepPlan& plan) {
  const absl::Time now = clock_();
  auto sweep = [&](auto& sequences) {
    auto keep = sequences.begin();
    for (auto it = sequences.begin(); it != sequences.end(); ++it) {
      Sequence* seq = *it;
      std::optional<FinishReason> reason;
      if (seq->cancelled) reason = FinishReason::kCancelled;
      else if (seq->deadline <= now) reason = FinishReason::kDeadlineExceeded;
      if (!reason) {
        *keep++ = seq;
        continue;
      }
      plan.aborted.push_back({seq->id, *reason});
      Remove(seq);
    }
    sequences.erase(keep, sequences.end());
  };
  sweep(running_);
  sweep(waiting_);
}

StepPlan Scheduler::Step() {
  StepPlan plan;
  scheduled_.clear();
  RemoveAborted(plan);
  auto schedule = [&](Sequence* seq, int32_t n) {
    plan.chunks.push_back({seq, n, seq->num_computed, n == seq->num_uncomputed()});
    plan.num_tokens += n;
    scheduled_.push_back(seq);
  };

  // Every decode is counted before any prefill chunk is sized, so that
  // prefills only ever take what the decodes leave.
  int32_t prefill_budget = config_.max_num_batched_tokens -
                           static_cast<int32_t>(std::count_if(running_.begin(), running_.end(),
                                                              [](const Sequence* s) { return s->is_decode(); }));
  for (size_t i = 0; i < running_.size(); ++i) {
    Sequence* seq = running_[i];
    const bool decode = seq->is_decode();
    const int32_t n = decode ? 1 : std::min(seq->num_uncomputed(), prefill_budget);
    if (n == 0) continue;
    bool preempted_self = false;
    while (!blocks_.Grow(seq->block_table, seq->num_computed + n)) {
      // The victim is the newest running sequence: not planned yet (it comes
      // after `seq` in admission order), unless it is `seq` itself.
      Sequence* victim = running_.back();
      running_.pop_back();
      preempted_self = victim == seq;
      if (!preempted_self && victim->is_decode()) ++prefill_budget;  // its reserved token is free again
      Preempt(victim);
      ++plan.num_preempted;
      if (preempted_self) break;
    }
    if (preempted_self) break;  // it was the last running sequence
    if (!decode) prefill_budget -= n;
    schedule(seq, n);
  }

  // A preemption means the cache is full: admitting more would only preempt
  // again, so the preempted sequences wait until blocks free up.
  if (plan.num_preempted > 0) return plan;
  while (!waiting_.empty() && static_cast<int32_t>(running_.size()) < config_.max_num_seqs && prefill_budget > 0) {
    Sequence* seq = waiting_.front();
    if (!Admit(seq, prefill_budget)) break;  // first come, first served: no overtaking
    const int32_t n = std::min(seq->num_uncomputed(), prefill_budget);
    waiting_.pop_front();
    running_.push_back(seq);
    prefill_budget -= n;
    schedule(seq, n);
  }
  return plan;
}

bool Scheduler::Admit(Sequence* seq, int32_t prefill_budget) {
  // The cached prefix first: only what is left needs blocks and budget. The
  // last token is always computed, because its logits are needed.
  seq->prefix_chain = blocks_.TakeCachedPrefix(seq->tokens, (seq->num_tokens() - 1) / blocks_.shape().block_size,
                                               seq->cache_salt, seq->block_table);
  seq->num_computed = seq->prefix_chain.num_blocks * blocks_.shape().block_size;
  const int32_t n = std::min(seq->num_uncomputed(), prefill_budget);
  if (!blocks_.Grow(seq->block_table, seq->num_computed + n)) {
    blocks_.Release(seq->block_table);  // the cached blocks stay cached for the next try
    seq->num_computed = 0;
    seq->prefix_chain = {};
    return false;
  }
  seq->num_cached_prompt_tokens = std::min(seq->num_computed, seq->num_prompt_tokens);
  prefix_cache_queries_ += seq->num_tokens() - 1;
  prefix_cache_hits_ += seq->num_computed;
  return true;
}

void Scheduler::Update(const StepPlan& plan, absl::Span<const SampledToken> sampled) {
  SWITCHYARD_CHECK(plan.chunks.size() == scheduled_.size());
  std::vector<Sequence*> finished;
  size_t next = 0;
  for (size_t i = 0; i < scheduled_.size(); ++i) {
    Sequence* seq = scheduled_[i];
    const ScheduledChunk& chunk = plan.chunks[i];
    SWITCHYARD_CHECK(chunk.seq == seq && chunk.num_cached == seq->num_computed);
    seq->num_computed += chunk.num_tokens;
    // Full blocks now computed join the prefix cache.
    blocks_.CacheFullBlocks(seq->tokens, seq->num_computed, seq->cache_salt, seq->block_table,
                            seq->prefix_chain);
    if (!chunk.samples) continue;
    SWITCHYARD_CHECK(next < sampled.size());
    const SampledToken& s = sampled[next++];
    seq->tokens.push_back(s.token);
    SWITCHYARD_CHECK(seq->num_generated() <= seq->max_tokens);
    if (s.finished) {
      seq->finished = true;
      finished.push_back(seq);
    }
  }
  SWITCHYARD_CHECK(next == sampled.size());
  scheduled_.clear();
  if (finished.empty()) return;
  std::erase_if(running_, [](const Sequence* s) { return s->finished; });
  for (Sequence* seq : finished) Remove(seq);
}

// The queue's front takes the running slots free now (left by requests that
// finished in the last step) at the very next step; only those behind them
// really wait.
int64_t Scheduler::num_really_waiting() const {
  const int64_t free_slots = std::max<int64_t>(0, config_.max_num_seqs - static_cast<int64_t>(running_.size()));
  return std::max<int64_t>(0, static_cast<int64_t>(waiting_.size()) - free_slots);
}

std::vector<RequestId> Scheduler::FailStep(const StepPlan& plan) {
  SWITCHYARD_CHECK(plan.chunks.size() == scheduled_.size());
  (void)plan;
  std::vector<RequestId> ids;
  ids.reserve(scheduled_.size());
  for (Sequence* seq : scheduled_) {
    ids.push_back(seq->id);
    seq->finished = true;
  }
  std::erase_if(running_, [](const Sequence* s) { return s->finished; });
  for (Sequence* seq : scheduled_) Remove(seq);
  scheduled_.clear();
  return ids;
}

SchedulerStats Scheduler::stats() const {
  return {static_cast<int32_t>(running_.size()),
          static_cast<int32_t>(waiting_.size()),
          blocks_.num_free(),
          blocks_.num_blocks(),
          blocks_.usage(),
          num_preemptions_,
          prefix_cache_queries_,
          prefix_cache_hits_,
          blocks_.num_cached(),
          blocks_.num_evictable()};
}

absl::Status Scheduler::CheckInvariants() const {
  if (static_cast<int32_t>(running_.size()) > config_.max_num_seqs) {
    return absl::InternalError(absl::StrCat(running_.size(), " running sequences; max_num_seqs is ", config_.max_num_seqs));
  }
  if (running_.size() + waiting_.size() != live_.size()) {
    return absl::InternalError(absl::StrCat(running_.size(), " running + ", waiting_.size(), " waiting != ",
                                            live_.size(), " live"));
  }
  // A block is shared only as a cached prefix block; its reference count is
  // the number of tables holding it.
  std::vector<int32_t> refs(blocks_.num_blocks(), 0);
  for (const auto& [id, seq] : live_) {
    for (size_t i = 0; i < seq->block_table.size(); ++i) {
      const int32_t b = seq->block_table[i];
      if (b < 0 || b >= blocks_.num_blocks()) return absl::InternalError(absl::StrCat("request ", id, " holds block ", b));
      if (refs[b]++ > 0 && !blocks_.is_cached(b)) {
        return absl::InternalError(absl::StrCat("block ", b, " is shared (request ", id, ") but holds no cached prefix"));
      }
      if (std::find(seq->block_table.begin(), seq->block_table.begin() + i, b) != seq->block_table.begin() + i) {
        return absl::InternalError(absl::StrCat("request ", id, " holds block ", b, " twice"));
      }
    }
    // The blocks it writes next are its own.
    const int64_t first_written = seq->num_computed / blocks_.shape().block_size;
    for (size_t i = first_written; i < seq->block_table.size(); ++i) {
      if (blocks_.ref_count(seq->block_table[i]) != 1) {
        return absl::InternalError(absl::StrCat("request ", id, " will write block ", seq->block_table[i],
                                                " which others share"));
      }
    }
    if (blocks_.BlocksFor(seq->num_computed) > static_cast<int64_t>(seq->block_table.size()) ||
        static_cast<int64_t>(seq->block_table.size()) > blocks_.BlocksFor(seq->num_tokens())) {
      return absl::InternalError(absl::StrCat("request ", id, " holds ", seq->block_table.size(), " blocks for ",
                                              seq->num_computed, " computed of ", seq->num_tokens(), " tokens"));
    }
  }
  for (int32_t b = 0; b < blocks_.num_blocks(); ++b) {
    if (refs[b] != blocks_.ref_count(b)) {
      return absl::InternalError(absl::StrCat("block ", b, " is in ", refs[b], " tables but has ",
                                              blocks_.ref_count(b), " references", refs[b] == 0 ? " (leaked)" : ""));
    }
  }
  if (absl::Status s = blocks_.CheckInvariants(); !s.ok()) return s;
  for (const Sequence* seq : waiting_) {
    if (!seq->block_table.empty() || seq->num_computed != 0) {
      return absl::InternalError(absl::StrCat("waiting request ", seq->id, " holds KV state"));
    }
  }
  return absl::OkStatus();
}

}  // namespace switchyard::scheduler
