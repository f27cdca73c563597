#!/usr/bin/env bash
# What serving costs per generated token: the same workload through the
# offline engine (`switchyard generate --prompts-file`, every request
# submitted at once) and through `switchyard serve` + switchyard-loadgen in a
# closed loop, with the same scheduler settings on both sides. At concurrency
# C both sides run at most C sequences at a time (--max-num-seqs=C), so the
# difference is gRPC, the server's threads and the client, not batching:
#
#   overhead per token (µs) = 1e6 / server tokens/s - 1e6 / offline tokens/s
#
# Then a short open-loop run at each of RATES against one server.
#
#   bench/serving_overhead.sh [BUILD_DIR]      (default: build)
#
# Settings come from the environment (defaults in brackets): REQUESTS [64],
# PROMPT_TOKENS [32], MAX_TOKENS [32], CONCURRENCY ["1 8 32"], RATES
# ["50 200"], OPEN_REQUESTS [128], MODEL [tests/fixtures/mixtral], BACKEND
# [cpu], KV_CACHE_MB [64], MAX_NUM_BATCHED_TOKENS [512], OPEN_MAX_NUM_SEQS
# [64], SEED [0].
set -euo pipefail
cd "$(dirname "$0")/.."

build=${1:-build}
REQUESTS=${REQUESTS:-64}
PROMPT_TOKENS=${PROMPT_TOKENS:-32}
MAX_TOKENS=${MAX_TOKENS:-32}
CONCURRENCY=${CONCURRENCY:-1 8 32}
RATES=${RATES:-50 200}
OPEN_REQUESTS=${OPEN_REQUESTS:-128}
MODEL=${MODEL:-tests/fixtures/mixtral}
BACKEND=${BACKEND:-cpu}
KV_CACHE_MB=${KV_CACHE_MB:-64}
MAX_NUM_BATCHED_TOKENS=${MAX_NUM_BATCHED_TOKENS:-512}
OPEN_MAX_NUM_SEQS=${OPEN_MAX_NUM_SEQS:-64}
SEED=${SEED:-0}

for binary in switchyard switchyard-loadgen; do
  [[ -x $build/$binary ]] || { echo "serving_overhead: no $build/$binary; build it first" >&2; exit 2; }
done

source bench/serve_lib.sh

engine_flags=(--backend="$BACKEND" --model="$MODEL" --kv-cache-mb="$KV_CACHE_MB"
              --max-num-batched-tokens="$MAX_NUM_BATCHED_TOKENS")

loadgen() {
  "$build/switchyard-loadgen" --target="$address" --prompt-tokens="$PROMPT_TOKENS" --max-tokens="$MAX_TOKENS" \
    --seed="$SEED" --json "$@"
}

# field FILE KEY [SUBKEY]: a number from a report.
field() {
  python3 -c 'import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2:]: v = v[k]
print(v)' "$@"
}

echo "# $(date -u +%F) $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores," \
  "$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
echo "# $MODEL on $BACKEND, $REQUESTS requests x $PROMPT_TOKENS prompt + $MAX_TOKENS generated tokens" \
  "(greedy, ignore_eos), --max-num-batched-tokens=$MAX_NUM_BATCHED_TOKENS, --kv-cache-mb=$KV_CACHE_MB"
echo
echo "| concurrency | offline tokens/s | server tokens/s | overhead µs/token | offline/server | TTFT p50 ms | TPOT p50 ms | ITL p50 / p99 ms |"
echo "|---|---|---|---|---|---|---|---|"
for c in $CONCURRENCY; do
  start_server 10 "${engine_flags[@]}" --max-num-seqs="$c"
  loadgen --concurrency="$c" --num-requests="$c" --seed=$((SEED + 1)) >/dev/null  # warm-up, not measured
  loadgen --concurrency="$c" --num-requests="$REQUESTS" --save-prompts="$tmp/prompts.jsonl" >"$tmp/server.json"
  stop_server
  "$build/switchyard" generate "${engine_flags[@]}" --max-num-seqs="$c" --prompts-file="$tmp/prompts.jsonl" \
    >"$tmp/offline.jsonl" 2>"$tmp/offline.log"
  offline=$(sed -n 's/.*generated [0-9]* tokens for [0-9]* requests in [0-9.]* s (\([0-9.]*\) tokens\/s).*/\1/p' \
    "$tmp/offline.log")
  server=$(field "$tmp/server.json" output_tokens_per_s)
  [[ $(field "$tmp/server.json" output_tokens) == $((REQUESTS * MAX_TOKENS)) ]] ||
    { echo "serving_overhead: the server run did not generate every token" >&2; cat "$tmp/server.json" >&2; exit 1; }
  python3 -c 'import sys
c, offline, server, ttft, tpot, itl50, itl99 = sys.argv[1], *map(float, sys.argv[2:])
print(f"| {c} | {offline:.0f} | {server:.0f} | {1e6 / server - 1e6 / offline:.1f} | {offline / server:.2f} "
      f"| {ttft:.2f} | {tpot:.3f} | {itl50:.3f} / {itl99:.3f} |")' "$c" "$offline" "$server" \
    "$(field "$tmp/server.json" ttft_ms p50)" "$(field "$tmp/server.json" tpot_ms p50)" \
    "$(field "$tmp/server.json" itl_ms p50)" \
    "$(field "$tmp/server.json" itl_ms p99)"
done

[[ -z $RATES ]] && exit 0
echo
echo "Open loop, Poisson arrivals, $OPEN_REQUESTS requests per rate, --max-num-seqs=$OPEN_MAX_NUM_SEQS:"
echo
echo "| offered requests/s | achieved requests/s | tokens/s | TTFT p50 / p99 ms | TPOT p50 ms | ITL p50 / p99 ms | E2E p50 / p99 ms |"
echo "|---|---|---|---|---|---|---|"
start_server 10 "${engine_flags[@]}" --max-num-seqs="$OPEN_MAX_NUM_SEQS"
loadgen --concurrency=8 --num-requests=16 --seed=$((SEED + 1)) >/dev/null  # warm-up
for rate in $RATES; do
  loadgen --mode=open --rate="$rate" --num-requests="$OPEN_REQUESTS" >"$tmp/open.json"
  python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
print("| {:g} | {:.1f} | {:.0f} | {:.2f} / {:.2f} | {:.3f} | {:.3f} / {:.3f} | {:.1f} / {:.1f} |".format(
    r["rate"], r["requests_per_s"], r["output_tokens_per_s"], r["ttft_ms"]["p50"], r["ttft_ms"]["p99"],
    r["tpot_ms"]["p50"], r["itl_ms"]["p50"], r["itl_ms"]["p99"], r["e2e_ms"]["p50"], r["e2e_ms"]["p99"]))' \
    "$tmp/open.json"
done
stop_server
