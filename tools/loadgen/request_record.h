// What the client saw of one streamed request, and the latencies derived
// from it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace switchyard::loadgen {

// Times are seconds since the benchmark started, taken when the client
// library handed over each message.
struct RequestRecord {
  struct Chunk {
    double at = 0;
    int32_t tokens = 0;
  };
  int64_t index = 0;
  int32_t prompt_tokens = 0;  // the server's count (usage), else the ids sent
  double start = 0;           // the call was started
  std::vector<Chunk> chunks;  // GenerateChunk messages, in order
  double end = 0;             // the call's status arrived
  std::string status = "OK";  // gRPC status code name
  std::string error;          // its message when not OK
};

// The latencies of one successful request, in seconds.
//
// The server sends the tokens generated while its previous write was in
// flight together, so one chunk may carry several tokens. As in vLLM's
// benchmark_serving, there is one inter-token latency per token after the
// first: a chunk of n tokens gives the gap since the previous chunk, then
// n - 1 zero gaps (its tokens became visible at once). The gaps of a request
// thus sum to the time from its first to its last token, and their mean is
// its time per output token (TPOT).
struct RequestMetrics {
  int64_t output_tokens = 0;
  double ttft = 0;             // start to the first chunk with a token
  double e2e = 0;              // start to the call's status
  double tpot = 0;             // (last token - first token) / (output tokens - 1); 0 for one token
  std::vector<double> itl;     // output_tokens - 1 gaps
};

RequestMetrics ComputeMetrics(const RequestRecord& record);

}  // namespace switchyard::loadgen
