#include "engine/cuda/sampling_inputs.h"

namespace switchyard::engine::cuda {

SamplingInputs PackSampling(const Batch& batch) {
  SamplingInputs in;
  int32_t row = 0;
  for (const SequenceSlice& seq : batch.sequences) {
    switch (seq.logits) {
      case LogitsMode::kNone:
        break;
      case LogitsMode::kLast:
        in.returned_rows.push_back(row++);
        break;
      case LogitsMode::kAll:
        for (int32_t i = 0; i < seq.num_tokens; ++i) in.returned_rows.push_back(row++);
        break;
      case LogitsMode::kSample: {
        const SamplingParams& p = *seq.sampling.params;
        DeviceRowSampling d;
        d.logits_row = row++;
        d.temperature = p.temperature;
        d.top_k = p.top_k;
        d.top_p = p.top_p;
        d.min_p = p.min_p;
        d.repetition_penalty = p.repetition_penalty;
        d.presence_penalty = p.presence_penalty;
        d.frequency_penalty = p.frequency_penalty;
        d.num_logprobs = p.logprobs;
        d.seen_begin = static_cast<int32_t>(in.seen.size());
        d.seen_count = static_cast<int32_t>(seq.sampling.seen.size());
        d.rng_state = seq.sampling.rng_state;
        in.seen.insert(in.seen.end(), seq.sampling.seen.begin(), seq.sampling.seen.end());
        in.rows.push_back(d);
        break;
      }
    }
  }
  return in;
}

}  // namespace switchyard::engine::cuda
