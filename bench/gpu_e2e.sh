#!/usr/bin/env bash
# End to end on the GPU (issue 7): Qwen3-30B-A3B's configuration with random
# bf16 weights (--load-format dummy; all 128 experts of all 48 layers resident),
# served by `switchyard serve --backend=cuda` and driven by switchyard-loadgen:
#   - decode: time per output token (TPOT p50) at batch 1, 8, 32 and 64, each
#     sequence with a 1024-token prompt, beside the bandwidth roofline of
#     bench/roofline.py (weights of the distinct experts + the dense part + the
#     KV cache over BANDWIDTH_GBPS, the device-to-device figure that
#     bench/moe_gpu_bench prints) and vLLM's published H100 figures for this
#     model (median inter-token latency 12.85 ms at batch 8, 22.57 at 32,
#     28.94 at 64);
#   - prefill: time to first token of one 512-, 2048- and 8192-token prompt.
#
#   bench/gpu_e2e.sh [BUILD_DIR]     (default: build; needs a GPU and the CUDA build)
#
# Environment: BANDWIDTH_GBPS [3000], DECODE_TOKENS [128], MODEL
# [bench/configs/qwen3_30b_a3b], GPU_MEMORY_FRACTION [0.9].
set -euo pipefail
cd "$(dirname "$0")/.."

build=${1:-build}
BANDWIDTH_GBPS=${BANDWIDTH_GBPS:-3000}
DECODE_TOKENS=${DECODE_TOKENS:-128}
MODEL=${MODEL:-bench/configs/qwen3_30b_a3b}
GPU_MEMORY_FRACTION=${GPU_MEMORY_FRACTION:-0.9}

for binary in switchyard switchyard-loadgen libswitchyard_cuda.so; do
  [[ -e $build/$binary ]] || { echo "gpu_e2e: no $build/$binary; build with nvcc present first" >&2; exit 2; }
done
if ! nvidia-smi -L >/dev/null 2>&1; then
  echo "gpu_e2e: no GPU here; nothing to measure"
  exit 0
fi

source bench/serve_lib.sh

# A config.json alone (bench/configs/) has no tokenizer.json, which `serve`
# needs at start. The Qwen3-MoE fixture's small tokenizer stands in: the load
# generator sends token ids, and ids outside its vocabulary decode to no text,
# which changes nothing that is timed.
if [[ ! -e $MODEL/tokenizer.json ]]; then
  mkdir "$tmp/model"
  cp "$MODEL"/* tests/fixtures/qwen3_moe/tokenizer.json tests/fixtures/qwen3_moe/tokenizer_config.json "$tmp/model/"
  MODEL=$tmp/model
fi

# Loading 60 GB of random weights takes a while.
start_server 600 --backend=cuda --load-format=dummy --model="$MODEL" \
  --gpu-memory-fraction="$GPU_MEMORY_FRACTION" --max-num-seqs=64 --max-num-batched-tokens=8192
grep -E "memory|KV" "$tmp/server.log" || true

loadgen() {
  "$build/switchyard-loadgen" --target="$address" --mode=closed --json "$@"
}
field() {
  python3 -c 'import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2:]: v = v[k]
print(v)' "$@"
}

echo "## decode, 1024-token prompts, $DECODE_TOKENS tokens each"
echo "| batch | TPOT p50 ms | ITL p50 ms | tokens/s |"
echo "|---|---|---|---|"
for b in 1 8 32 64; do
  loadgen --concurrency="$b" --num-requests="$b" --prompt-tokens=1024 --max-tokens=8 >/dev/null  # warm-up
  loadgen --concurrency="$b" --num-requests="$((2 * b))" --prompt-tokens=1024 --max-tokens="$DECODE_TOKENS" \
    >"$tmp/decode.json"
  echo "| $b | $(field "$tmp/decode.json" tpot_ms p50) | $(field "$tmp/decode.json" itl_ms p50) | $(field "$tmp/decode.json" output_tokens_per_s) |"
done
echo
echo "## roofline at ${BANDWIDTH_GBPS} GB/s (context 1024)"
python3 bench/roofline.py "$MODEL" --bandwidth-gbps "$BANDWIDTH_GBPS" --batch 1 8 32 64 --context 1024
echo
echo "## prefill, one prompt"
echo "| prompt tokens | TTFT p50 ms |"
echo "|---|---|"
for n in 512 2048 8192; do
  loadgen --concurrency=1 --num-requests=3 --prompt-tokens="$n" --max-tokens=1 >"$tmp/prefill.json"
  echo "| $n | $(field "$tmp/prefill.json" ttft_ms p50) |"
done
