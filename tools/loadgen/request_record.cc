#include "tools/loadgen/request_record.h"

namespace switchyard::loadgen {

RequestMetrics ComputeMetrics(const RequestRecord& record) {
  RequestMetrics m;
  m.e2e = record.end - record.start;
  bool first = true;
  double previous = 0;
  for (const RequestRecord::Chunk& c : record.chunks) {
    if (c.tokens <= 0) continue;  // text held back and sent later carries no token
    if (first) {
      m.ttft = c.at - record.start;
      first = false;
    } else {
      m.itl.push_back(c.at - previous);
    }
    m.itl.insert(m.itl.end(), c.tokens - 1, 0.0);
    previous = c.at;
    m.output_tokens += c.tokens;
  }
  if (m.output_tokens > 1) m.tpot = (previous - record.start - m.ttft) / static_cast<double>(m.output_tokens - 1);
  return m;
}

}  // namespace switchyard::loadgen
