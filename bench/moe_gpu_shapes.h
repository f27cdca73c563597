// The CPU side of the GPU MoE layer benchmark (issue 7, bench/moe_gpu_bench.cu):
// the layer shapes of four published MoE models, the token counts, seeded
// routings (uniform and Zipf-skewed), the grouped layout they produce
// (per-group row offsets and the token each sorted row reads), and the bytes
// and FLOPs that the bandwidth and TFLOP/s columns divide by. Plain C++, so
// that it is tested on machines without a GPU.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace switchyard::bench {

struct MoeShape {
  std::string name;
  int experts = 0;         // routed experts
  int top_k = 0;           // routed experts per token
  int hidden = 0;          // H
  int intermediate = 0;    // I, per expert
  int shared_experts = 0;  // experts every token goes through (DeepSeek), each of I
};

// Mixtral-8x7B, Qwen3-30B-A3B, OLMoE, DeepSeek-V2-Lite (its MoE layers).
const std::vector<MoeShape>& MoeShapes();
// 1, 8, 32, 128, 512, 4096, 32768.
const std::vector<int>& TokenCounts();

enum class Routing { kUniform, kZipf };
const char* RoutingName(Routing routing);  // "uniform", "zipf1.2"
inline constexpr double kZipfExponent = 1.2;

// One routing laid out for a grouped GEMM. Groups are the routed experts
// followed by the shared experts; a shared group holds every token.
struct RoutingPlan {
  int tokens = 0;
  int groups = 0;                     // experts + shared_experts
  std::vector<int32_t> choices;       // [tokens * top_k], token-major: the routed experts of each token
  std::vector<int32_t> counts;        // [groups]: rows per group
  std::vector<int32_t> offsets;       // [groups + 1]: exclusive prefix sum of counts
  std::vector<int32_t> a_rows;        // [rows]: the token each grouped row reads
  int rows() const { return offsets.empty() ? 0 : offsets.back(); }
};

// Each token picks top_k distinct experts: uniformly, or by a Zipf law of
// exponent kZipfExponent over a random permutation of the experts (which
// experts are hot depends on the seed). Deterministic for a seed.
RoutingPlan MakeRouting(const MoeShape& shape, int tokens, Routing routing, uint64_t seed);

// Routed experts that received at least one row.
int DistinctRoutedExperts(const MoeShape& shape, const RoutingPlan& plan);
// Experts whose weights the layer reads: the distinct routed ones plus the shared ones.
int ExpertsRead(const MoeShape& shape, const RoutingPlan& plan);
// bf16 bytes of one expert: gate and up (2·I·H) and down (H·I).
int64_t ExpertWeightBytes(const MoeShape& shape);
// Weight bytes the layer reads: ExpertsRead × ExpertWeightBytes.
int64_t WeightBytesRead(const MoeShape& shape, const RoutingPlan& plan);
// FLOPs of the expert GEMMs: 2 · rows · (2I·H + H·I), summed over groups.
double ExpertFlops(const MoeShape& shape, const RoutingPlan& plan);

// One row of the result table.
struct CaseResult {
  std::string model;
  int tokens = 0;
  std::string routing;
  int experts_read = 0;
  double own_us = 0;            // own grouped GEMM: gate/up (SiLU·mul fused) + down
  double gbps = 0;              // WeightBytesRead / own time
  double copy_fraction = 0;     // gbps / D2D cudaMemcpy bandwidth
  double tflops = 0;            // ExpertFlops / own time
  double dense_fraction = 0;    // tflops / dense cuBLAS bf16 GEMM of the same FLOPs
  double cublas_grouped_us = 0; // cublasGemmGroupedBatchedEx: the two GEMMs
};

std::string TableHeader();  // the markdown header and separator lines, newline-terminated
std::string FormatRow(const CaseResult& r);  // one markdown line, newline-terminated

}  // namespace switchyard::bench
