#!/usr/bin/env bash
# Overload: one server with room for CAPACITY requests (--max-num-seqs plus
# --max-waiting, half each), driven by switchyard-loadgen's closed loop at
# exactly that concurrency and then at OVERLOAD times it, for DURATION each.
# Beyond capacity the server must refuse at once with UNAVAILABLE and keep
# its goodput (OK responses per second); a closed-loop client retries a
# refused call at once, so the overloaded run is a refusal storm.
#
#   bench/overload.sh [BUILD_DIR]     (default: build)
#
# Environment: CAPACITY [16], OVERLOAD [10], DURATION [30s], PROMPT_TOKENS
# [32], MAX_TOKENS [32], REQUEST_THREADS_NICE [the server's default, 10; 0 to
# run gRPC's threads at the engine's priority]. With 2 or more cores the server runs on core 0 and
# the load generator on the others (taskset), so that the server's share is
# what is measured. Prints goodput at full load and overloaded, their ratio
# (goal >= 0.9), and the mean time a refused call took, derived from the
# closed loop: (clients x duration - time spent in OK calls) / refusals.
set -euo pipefail
cd "$(dirname "$0")/.."

build=${1:-build}
CAPACITY=${CAPACITY:-16}
OVERLOAD=${OVERLOAD:-10}
DURATION=${DURATION:-30s}
PROMPT_TOKENS=${PROMPT_TOKENS:-32}
MAX_TOKENS=${MAX_TOKENS:-32}
for binary in switchyard switchyard-loadgen; do
  [[ -x $build/$binary ]] || { echo "overload: no $build/$binary; build it first" >&2; exit 2; }
done

server_cpus=(env) client_cpus=()
if (($(nproc) >= 2)); then
  server_cpus=(taskset -c 0)
  client_cpus=(taskset -c "1-$(($(nproc) - 1))")
fi
source bench/serve_lib.sh

running=$((CAPACITY / 2))
OMP_NUM_THREADS=1 start_server 60 "${server_cpus[@]}" -- --backend=cpu --max-num-seqs="$running" \
  --max-waiting=$((CAPACITY - running)) ${REQUEST_THREADS_NICE:+--request-threads-nice="$REQUEST_THREADS_NICE"}

# run CONCURRENCY: prints "goodput_per_s ok refused mean_refusal_ms"
run() {
  "${client_cpus[@]}" "$build/switchyard-loadgen" --target="$address" --mode=closed --concurrency="$1" \
    --num_requests=0 --duration="$DURATION" --prompt_tokens="$PROMPT_TOKENS" --max_tokens="$MAX_TOKENS" \
    --json >"$tmp/run.json" 2>/dev/null || true
  python3 - "$tmp/run.json" "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
clients = int(sys.argv[2])
ok = r["completed"]
refused = r["failed"].get("UNAVAILABLE", 0)
duration = r["duration_s"]
ok_time = r["e2e_ms"]["mean"] / 1e3 * ok if ok else 0.0
refusal_ms = (clients * duration - ok_time) / refused * 1e3 if refused else float("nan")
print(f"{ok / duration:.2f} {ok} {refused} {refusal_ms:.3f}")
PY
}

read -r full_goodput full_ok full_refused _ < <(run "$CAPACITY")
read -r over_goodput over_ok over_refused refusal_ms < <(run $((CAPACITY * OVERLOAD)))
echo "| clients | OK/s (goodput) | OK | UNAVAILABLE | mean refusal (ms) |"
echo "|---:|---:|---:|---:|---:|"
echo "| $CAPACITY (full) | $full_goodput | $full_ok | $full_refused | - |"
echo "| $((CAPACITY * OVERLOAD)) (${OVERLOAD}x) | $over_goodput | $over_ok | $over_refused | $refusal_ms |"
python3 -c "import sys; print(f'goodput overloaded / full load: {float(sys.argv[2]) / float(sys.argv[1]):.3f} (goal >= 0.9)')" \
  "$full_goodput" "$over_goodput"
