#!/usr/bin/env bash
# Prefix caching, measured (bench/RESULTS.md, "Prefix caching"): the same
# workloads against `switchyard serve` with the prefix cache on and off, in
# one run, on the demo model and on a random-weight OLMoE-shaped model.
#
#   bench/prefix_cache.sh [BUILD_DIR]
#
# REQUESTS (default 24) requests per run; WORKLOADS (default "shared
# unshared") and MODELS (default "demo olmoe") choose what runs. Nothing
# else should run on the machine: the two settings of one workload run back
# to back, and the OLMoE runs take ~4 minutes each on 2 cores.
#
# Workloads (switchyard-loadgen, closed loop, one request at a time so that
# TTFT is the prefill alone, greedy):
#   shared     every prompt = one long system prompt + a short unique suffix
#              (~90% of the tokens shared): TTFT should fall by the shared part
#   unshared   random prompts of the same length: caching must cost nothing
# Prints one line per (model, workload, cache) with TTFT p50/p90, E2E p50 and
# throughput, then the TTFT ratio off/on for each workload.
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(realpath "${1:-build}")
source bench/serve_lib.sh
REQUESTS=${REQUESTS:-24}
WORKLOADS=${WORKLOADS:-shared unshared}
MODELS=${MODELS:-demo olmoe}

# make_prompts FILE VOCAB SHARED UNIQUE SHARE: REQUESTS JSONL prompts; with
# SHARE=1 each is a common prefix of SHARED ids plus UNIQUE of its own, with
# SHARE=0 all SHARED + UNIQUE ids are its own.
make_prompts() {
  python3 - "$@" "$REQUESTS" <<'EOF'
import json, random, sys
path, vocab, shared, unique, share, n = sys.argv[1], *map(int, sys.argv[2:])
rng = random.Random(7)
common = [rng.randrange(3, vocab) for _ in range(shared)]
with open(path, "w") as f:
    for _ in range(n):
        head = common if share else [rng.randrange(3, vocab) for _ in range(shared)]
        f.write(json.dumps({"prompt_ids": head + [rng.randrange(3, vocab) for _ in range(unique)]}) + "\n")
EOF
}

# run NAME CACHE PROMPTS SERVE_FLAGS...: one loadgen run against a fresh server.
run() {
  local name=$1 cache=$2 prompts=$3
  shift 3
  start_server 600 --prefix-caching="$cache" "$@"
  "$build/switchyard-loadgen" --target="$address" --mode=closed --concurrency=1 --num-requests="$REQUESTS" \
    --prompts-file="$prompts" --max-tokens=4 --json >"$tmp/$name-$cache.json"
  stop_server
  python3 - "$tmp/$name-$cache.json" "$name" "$cache" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
failed = sum(r['failed'].values()) if isinstance(r['failed'], dict) else r['failed']
print(f"{sys.argv[2]:<22} cache={sys.argv[3]:<5} ok={r['completed']:>3} failed={failed} "
      f"TTFT p50 {r['ttft_ms']['p50']:8.1f} ms  p90 {r['ttft_ms']['p90']:8.1f} ms  "
      f"E2E p50 {r['e2e_ms']['p50']:8.1f} ms  {r['requests_per_s']:6.2f} req/s")
EOF
}

ratio() {  # ratio NAME: TTFT p50 off / on
  python3 - "$tmp/$1-false.json" "$tmp/$1-true.json" "$1" <<'EOF'
import json, sys
off, on = (json.load(open(p))["ttft_ms"]["p50"] for p in sys.argv[1:3])
print(f"{sys.argv[3]:<22} TTFT p50 without / with the prefix cache: {off / on:.2f}x")
EOF
}

# The demo model: a 512-token context, so 440 shared + 48 unique tokens.
demo_vocab=$(python3 -c "import json; print(json.load(open('tests/fixtures/mixtral/config.json'))['vocab_size'])")
make_prompts "$tmp/demo-shared.jsonl" "$demo_vocab" 440 48 1
make_prompts "$tmp/demo-unshared.jsonl" "$demo_vocab" 440 48 0
# OLMoE's shapes (hidden 2048, 64 experts, top-8; two layers, random
# weights): 1,024 shared + 112 unique tokens.
# The server needs a tokenizer beside the config (prompts are ids: any will do).
mkdir "$tmp/olmoe"
cp bench/configs/olmoe_layer.json "$tmp/olmoe/config.json"
cp tests/fixtures/olmoe/tokenizer.json tests/fixtures/olmoe/tokenizer_config.json "$tmp/olmoe/"
olmoe=(--model="$tmp/olmoe" --load-format=dummy --max-num-batched-tokens=2048)
make_prompts "$tmp/olmoe-shared.jsonl" 50304 1024 112 1
make_prompts "$tmp/olmoe-unshared.jsonl" 50304 1024 112 0

for workload in $WORKLOADS; do
  for model in $MODELS; do
    flags=()
    [[ $model == olmoe ]] && flags=("${olmoe[@]}")
    for cache in true false; do run "$model-$workload" "$cache" "$tmp/$model-$workload.jsonl" "${flags[@]}"; done
  done
done
for workload in $WORKLOADS; do
  for model in $MODELS; do ratio "$model-$workload"; done
done
