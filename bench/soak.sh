#!/usr/bin/env bash
# Soak test (Triton's L0_memory_growth and L0_long_running_stress, here): one
# `switchyard serve` under mixed traffic for DURATION, its resident memory,
# threads and open file descriptors printed every INTERVAL. The traffic:
# switchyard-loadgen's closed loop (random prompts, greedy and sampled
# halves), calls cut short by deadlines, and the small RPCs (tokenize,
# model-info, expert-load, health) in a loop beside them.
#
#   bench/soak.sh [BUILD_DIR]      (default: build)
#
# Environment (defaults in brackets): DURATION [30m], INTERVAL [1m], WARMUP
# [the first INTERVAL: growth is measured from the end of it], MAX_RSS_GROWTH_MB
# [20], CONCURRENCY [8], MODEL [the demo model], KV_CACHE_MB [64].
# Exits 1 when RSS grew by more than MAX_RSS_GROWTH_MB after the warm-up, open
# file descriptors by more than 16 (sockets of calls just ended may linger
# for a moment; a leak grows without bound), or the server died or did not
# drain cleanly. Threads are reported only: gRPC's thread pool grows and
# shrinks with the load by design.
set -euo pipefail
cd "$(dirname "$0")/.."

build=${1:-build}
DURATION=${DURATION:-30m}
INTERVAL=${INTERVAL:-1m}
MAX_RSS_GROWTH_MB=${MAX_RSS_GROWTH_MB:-20}
CONCURRENCY=${CONCURRENCY:-8}
KV_CACHE_MB=${KV_CACHE_MB:-64}

seconds() {  # 90s, 2m, 1h -> seconds
  local v=$1
  case $v in
    *h) echo $((${v%h} * 3600)) ;; *m) echo $((${v%m} * 60)) ;; *s) echo "${v%s}" ;; *) echo "$v" ;;
  esac
}
duration_s=$(seconds "$DURATION")
interval_s=$(seconds "$INTERVAL")
warmup_s=$(seconds "${WARMUP:-$INTERVAL}")
((duration_s > warmup_s)) || { echo "soak: DURATION must exceed WARMUP" >&2; exit 2; }
for binary in switchyard switchyard-cli switchyard-loadgen; do
  [[ -x $build/$binary ]] || { echo "soak: no $build/$binary; build it first" >&2; exit 2; }
done

source bench/serve_lib.sh
model_flags=()
[[ -n ${MODEL:-} ]] && model_flags=(--model="$MODEL")
start_server 60 --backend=cpu "${model_flags[@]}" --kv-cache-mb="$KV_CACHE_MB" --max-num-seqs="$CONCURRENCY"

# Traffic until the end: the load generator's closed loop (greedy and sampled),
# and a loop of small RPCs and of generations cut short by deadlines.
for temperature in 0 0.8; do
  "$build/switchyard-loadgen" --target="$address" --mode=closed --concurrency=$((CONCURRENCY / 2 + 1)) \
    --num_requests=0 --duration="${duration_s}s" --prompt_tokens=48 --max_tokens=32 --temperature="$temperature" \
    --seed=$RANDOM >"$tmp/loadgen-$temperature.txt" 2>&1 &
  background_pids+=($!)
done
(
  end=$((SECONDS + duration_s))
  while ((SECONDS < end)); do
    cli=("$build/switchyard-cli" --addr="$address")
    "${cli[@]}" tokenize --text "The yard master walked the length of the platform" >/dev/null
    "${cli[@]}" model-info >/dev/null
    "${cli[@]}" expert-load --window=recent >/dev/null
    "${cli[@]}" health >/dev/null
    "${cli[@]}" generate --prompt "The yard master" --max-tokens 64 --timeout=$((RANDOM % 20 + 1))ms \
      >/dev/null 2>&1 || true  # DEADLINE_EXCEEDED is the point
  done
) &
background_pids+=($!)

sample() {  # RSS in KiB, threads, open file descriptors of the server
  local rss threads fds
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status")
  threads=$(awk '/^Threads:/ {print $2}' "/proc/$server_pid/status")
  fds=$(find "/proc/$server_pid/fd" -mindepth 1 -maxdepth 1 | wc -l)
  echo "$rss $threads $fds"
}

printf '| minute | RSS (MB) | threads | open fds |\n|---:|---:|---:|---:|\n'
start=$SECONDS
read -r rss0 threads0 fds0 < <(sample)
base_rss="" base_threads="" base_fds=""
while ((SECONDS - start < duration_s)); do
  sleep "$interval_s"
  kill -0 "$server_pid" 2>/dev/null || { echo "soak: the server died" >&2; cat "$tmp/server.log" >&2; exit 1; }
  read -r rss threads fds < <(sample)
  printf '| %.1f | %.1f | %d | %d |\n' "$(echo "($SECONDS - $start) / 60" | bc -l)" "$(echo "$rss / 1024" | bc -l)" \
    "$threads" "$fds"
  if [[ -z $base_rss ]] && ((SECONDS - start >= warmup_s)); then
    base_rss=$rss base_threads=$threads base_fds=$fds
  fi
done
for p in "${background_pids[@]}"; do wait "$p" || true; done
background_pids=()
sleep 1  # the last calls' threads and sockets close
read -r rss threads fds < <(sample)
[[ -n $base_rss ]] || { base_rss=$rss0 base_threads=$threads0 base_fds=$fds0; }
growth_mb=$(echo "($rss - $base_rss) / 1024" | bc -l)
echo
grep -hE "^(completed|throughput|requests)" "$tmp"/loadgen-*.txt | sed 's/^/loadgen: /' || true
printf 'after warm-up: RSS %.1f -> %.1f MB (%+.1f MB, limit %s), threads %d -> %d, open fds %d -> %d (idle)\n' \
  "$(echo "$base_rss / 1024" | bc -l)" "$(echo "$rss / 1024" | bc -l)" "$growth_mb" "$MAX_RSS_GROWTH_MB" \
  "$base_threads" "$threads" "$base_fds" "$fds"

failed=0
if (($(echo "$growth_mb > $MAX_RSS_GROWTH_MB" | bc -l))); then echo "soak: RSS grew too much" >&2; failed=1; fi
if ((fds > base_fds + 16)); then echo "soak: open file descriptors grew" >&2; failed=1; fi
if ! stop_server; then echo "soak: the server did not exit 0" >&2; failed=1; fi
exit "$failed"
