#!/usr/bin/env bash
# Switchyard's CPU backend next to llama.cpp, on one random-weight Qwen3-MoE
# model (1.56 B parameters, 64 experts top-8, bf16, ~3.1 GB), in one run.
#
#   bench/llama_cpp_peer.sh [--reps N] [--threads "1 2"] [--omp-wait-policy passive] [--setup-only]
#
# Measures, per thread count and repetition, alternating the engines so that
# drift hits both:
#   prefill 512   llama-bench -p 512 -n 0 (one 512-token ubatch)  |  engine_bench --prefill 512
#   decode N      llama-batched-bench -npp 128 -ntg 32 -npl 1,8,32, S_TG (tokens generated
#                 over all sequences per second)                 |  engine_bench --decode-seqs 1,8,32
# Both get the same OpenMP environment: OMP_NUM_THREADS=T and nothing else
# (--omp-wait-policy sets OMP_WAIT_POLICY for both). Without it Switchyard bounds
# its own spin (GOMP_SPINCOUNT=10000, README) and llama.cpp keeps libgomp's
# default; llama.cpp measured the same either way. Results go as JSON lines
# to $PEER_DIR/results-<time>.jsonl and bench/peer/table.py prints the tables
# (medians with min–max, the ratio, the single-sequence bandwidth use, peak RSS).
#
# Needs: build/switchyard and build/bench/engine_bench (the repository's build),
# python3 with venv, a C/C++ compiler with OpenMP, cmake >= 3.14, network access
# to PyPI, /usr/bin/time (Debian package `time`) for the RSS table, ~12 GB disk.
# Everything downloaded or built lives outside the repository in PEER_DIR
# (${SWITCHYARD_PEER_DIR:-~/.cache/switchyard-peer}); each setup step is skipped
# when its output exists. First run on 2 cores: ~4 min venv (torch), ~9 min
# llama.cpp build, ~1 min model, ~1 min GGUF. The benchmark itself: ~2 min
# per repetition at 2 threads, about twice that at 1, so the default
# (--reps 3 --threads "1 2") takes ~20 min. Nothing else should run: the
# load average goes into the log next to every run.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
build=${BUILD_DIR:-$repo/build}
peer=${SWITCHYARD_PEER_DIR:-$HOME/.cache/switchyard-peer}
llama_py_version=0.3.36  # llama-cpp-python sdist, which vendors llama.cpp
reps=3 threads="1 2" setup_only=0 wait_policy=""
# The workloads; llama-batched-bench needs a context of npl * (npp + ntg).
prefill=512 npp=128 ntg=32 npl=1,8,32 max_npl=32

while (($#)); do
  case $1 in
    --reps) reps=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --omp-wait-policy) wait_policy=$2; shift 2 ;;
    --setup-only) setup_only=1; shift ;;
    *) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2 ;;
  esac
done

mkdir -p "$peer"
venv=$peer/venv py=$peer/venv/bin/python
model=$peer/qwen3moe-3b gguf=$peer/qwen3moe-3b-bf16.gguf
src=$peer/src/llama_cpp_python-$llama_py_version
llama=$src/vendor/llama.cpp llama_build=$peer/llama-build
step() { echo "== $* ($(date +%T))" >&2; }

# 1. Python: torch + transformers (to make the checkpoint), the converter's deps.
if ! cmp -s bench/peer/requirements.txt "$venv/requirements.txt"; then
  step "venv $venv"
  python3 -m venv "$venv"
  nice -n 10 "$venv/bin/pip" install -q -r bench/peer/requirements.txt
  cp bench/peer/requirements.txt "$venv/requirements.txt"
fi

# 2. llama.cpp, from the llama-cpp-python sdist (PyPI is all this needs to reach).
if [[ ! -d $llama ]]; then
  step "llama-cpp-python $llama_py_version sdist"
  "$venv/bin/pip" download -q --no-binary :all: --no-deps -d "$peer/src" "llama-cpp-python==$llama_py_version"
  tar xzf "$peer/src/llama_cpp_python-$llama_py_version.tar.gz" -C "$peer/src"
fi
# The sdist has no .git: its CHANGELOG names the llama.cpp commit it vendors.
commit=$(sed -n "/^## \[$llama_py_version\]/,/^## /p" "$src/CHANGELOG.md" | grep -om1 'llama.cpp@[0-9a-f]*' | cut -d@ -f2)
if [[ $(cat "$llama_build/built-from" 2>/dev/null) != "$llama" ]]; then
  step "build llama.cpp $commit (two targets, ~9 min on 2 cores)"
  rm -rf "$llama_build"
  command -v cmake >/dev/null || { "$venv/bin/pip" install -q cmake; PATH=$venv/bin:$PATH; }
  # Native: this host's AVX-512 / bf16 kernels, as Switchyard's build gets them.
  cmake -S "$llama" -B "$llama_build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
    -DGGML_OPENMP=ON -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF \
    -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF \
    -DLLAMA_BUILD_COMMIT="$commit" >/dev/null
  nice -n 10 cmake --build "$llama_build" -j2 --target llama-bench llama-batched-bench >/dev/null
  echo "$llama" >"$llama_build/built-from"
fi

# 3. The checkpoint, written under a temporary name so a killed run leaves none.
if [[ ! -f $model/model.safetensors ]]; then
  step "model $model"
  rm -rf "$model.tmp"
  nice -n 10 "$py" bench/peer/make_model.py "$model.tmp"
  mv "$model.tmp" "$model"
  "$build/switchyard" generate --model "$model" --backend cpu --prompt-ids 1,2,3 --max-tokens 2 --json >&2
fi

# 4. The same weights as GGUF bf16.
if [[ ! -f $gguf ]]; then
  step "convert to $gguf"
  nice -n 10 "$py" bench/peer/convert.py "$llama" "$model" --outfile "$gguf.tmp" --outtype bf16 \
    2>"$peer/convert.log" || { tail "$peer/convert.log"; exit 1; }
  mv "$gguf.tmp" "$gguf"
fi
((setup_only)) && { step "setup done"; exit 0; }

engine_bench=$build/bench/engine_bench
[[ -x $engine_bench ]] || { echo "no $engine_bench: build the engine_bench target first" >&2; exit 1; }
stamp=$(date +%Y%m%d-%H%M%S)
results=$peer/results-$stamp.jsonl log=$peer/results-$stamp.log
set -E  # the ERR trap also in run()
trap 'echo "failed: see $log" >&2' ERR
load=$(cut -d' ' -f1 /proc/loadavg)
awk "BEGIN { exit !($load > 0.5) }" && echo "warning: load average $load: something else is running" >&2
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
python3 -c 'import json, sys; print(json.dumps({"meta": dict(zip(sys.argv[1::2], sys.argv[2::2]))}))' \
  cpu "$cpu, $(nproc) cores" date "$(date -u '+%F %H:%M UTC')" omp_wait_policy "$wait_policy" reps "$reps" \
  llama_cpp "ggml-org/llama.cpp@$commit (llama-cpp-python $llama_py_version, GGML_NATIVE, OpenMP)" \
  switchyard "$(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ' + local changes')" \
  model "Qwen3-MoE 1.56 B random bf16 ($(du -BM "$gguf" | cut -f1) GGUF)" >"$results"

# run ENGINE T REP CMD...: CMD under the common OpenMP environment, its output
# tagged into the results, its peak RSS recorded when it is a decode run.
run() {
  local engine=$1 t=$2 rep=$3 rss=$peer/.rss; shift 3
  local env=(env OMP_NUM_THREADS="$t" ${wait_policy:+OMP_WAIT_POLICY="$wait_policy"})
  echo "-- $engine T=$t rep=$rep, load $(cut -d' ' -f1-3 /proc/loadavg): $*" >>"$log"
  if [[ $1 != */llama-bench && -x /usr/bin/time ]]; then
    /usr/bin/time -v -o "$rss" "${env[@]}" "$@" 2>>"$log" | "$py" bench/peer/table.py tag "$engine" "$t" "$rep" >>"$results"
    sed -n 's/.*Maximum resident set size (kbytes): //p' "$rss" |
      xargs -r printf '{"engine": "%s", "threads": %s, "rep": %s, "max_rss_kb": %s}\n' "$engine" "$t" "$rep" >>"$results"
  else
    "${env[@]}" "$@" 2>>"$log" | "$py" bench/peer/table.py tag "$engine" "$t" "$rep" >>"$results"
  fi
}

for t in $threads; do
  for ((rep = 1; rep <= reps; rep++)); do
    step "threads $t, rep $rep/$reps"
    run llama.cpp "$t" "$rep" "$llama_build/bin/llama-bench" -m "$gguf" -t "$t" -p "$prefill" -n 0 -r 1 -o json
    run llama.cpp "$t" "$rep" "$llama_build/bin/llama-batched-bench" -m "$gguf" -t "$t" \
      -c $((max_npl * (npp + ntg))) -b 2048 -ub 512 -npp "$npp" -ntg "$ntg" -npl "$npl" --output-format jsonl
    run switchyard "$t" "$rep" "$engine_bench" --model "$model" --prefill "$prefill" \
      --context "$npp" --decode-steps "$ntg" --decode-seqs "$npl"
  done
done
echo "results: $results" >&2
"$py" bench/peer/table.py "$results"
