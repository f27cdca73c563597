#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang, AddressSanitizer and
# UBSan in ./build-fuzz, then runs each over its seed corpus,
# tests/fuzz/corpus/<target>. Installs what a bare Debian 12 machine lacks
# (clang, libFuzzer, and the libraries the configure step looks for).
#
#   tools/fuzz.sh                          CI: each target for a fixed number of
#                                          runs (all five in under 2 minutes)
#   tools/fuzz.sh --long SECONDS           each target for SECONDS
#   tools/fuzz.sh [--long SECONDS] TARGET...   only these targets
#
# The committed corpus is only read: inputs that reach new code go to a
# temporary directory (kept, and named at the end, after --long). Exits 1 if
# any target crashed, leaked, hung (60 s on one input) or ran out of memory,
# printing the reproducer, which `$BUILD_DIR/tests/fuzz/<target> <file>` replays.
# BUILD_DIR (default build-fuzz) overrides the build directory.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGETS_ALL=(fuzz_generate_request fuzz_model_config fuzz_safetensors fuzz_tokenizer fuzz_tokenizer_json)
# CI runs per target, sized from the measured speeds (tests/fuzz/README.md) so
# that the five take about a minute together (57 s measured, the corpus load
# and the configure step included).
declare -A CI_RUNS=(
  [fuzz_generate_request]=200000
  [fuzz_model_config]=100000
  [fuzz_safetensors]=100000
  [fuzz_tokenizer]=5000
  [fuzz_tokenizer_json]=30000
)

LONG_SECONDS=""
TARGETS=()
while (($#)); do
  case "$1" in
    --long)
      [[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || { echo "fuzz: --long takes a number of seconds" >&2; exit 2; }
      LONG_SECONDS=$2; shift 2 ;;
    fuzz_*)
      [[ -v CI_RUNS[$1] ]] || { echo "fuzz: unknown target '$1' (${TARGETS_ALL[*]})" >&2; exit 2; }
      TARGETS+=("$1"); shift ;;
    *) echo "fuzz: unknown option '$1' (--long SECONDS, or target names)" >&2; exit 2 ;;
  esac
done
((${#TARGETS[@]})) || TARGETS=("${TARGETS_ALL[@]}")

# clang's runtimes: libFuzzer and the sanitizers (libclang-rt-14-dev), and
# OpenMP (libomp-dev; the engine's kernels use it). The rest is what the
# top-level configure finds; tools/setup.sh installs the same and more.
DEBIAN_PACKAGES=(
  clang libclang-rt-14-dev libomp-dev
  cmake ninja-build pkg-config
  libabsl-dev nlohmann-json3-dev libspdlog-dev libonig-dev libopenblas-openmp-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler prometheus-cpp-dev libssl-dev
)
missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true) == "install ok installed" ]] || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "fuzz: installing ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

BUILD_DIR=${BUILD_DIR:-build-fuzz}
# Every project object gets libFuzzer's coverage instrumentation and the
# sanitizers; the fuzz executables alone link libFuzzer's main.
cmake -S . -B "$BUILD_DIR" -G Ninja \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSWITCHYARD_SANITIZE=fuzzer-no-link,address,undefined -DSWITCHYARD_BUILD_FUZZERS=ON \
  -DSWITCHYARD_BUILD_TESTS=OFF -DSWITCHYARD_BUILD_BENCH=OFF -DSWITCHYARD_CUDA=OFF >/dev/null
cmake --build "$BUILD_DIR" --target "${TARGETS[@]}" --parallel "$(nproc)"

ARTIFACTS="$BUILD_DIR/fuzz-artifacts"   # crash-*, leak-*, timeout-*, oom-*
LOGS="$BUILD_DIR/fuzz-logs"
mkdir -p "$ARTIFACTS" "$LOGS"
NEW_CORPUS=$(mktemp -d -t switchyard-fuzz.XXXXXX)
if [[ -z $LONG_SECONDS ]]; then
  trap 'rm -rf "$NEW_CORPUS"' EXIT
fi
# UBSan's findings abort (-fno-sanitize-recover) with a stack, as ASan's do.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

failed=()
for target in "${TARGETS[@]}"; do
  log="$LOGS/$target.log"
  args=(-artifact_prefix="$ARTIFACTS/$target-" -timeout=60 -print_final_stats=1)
  if [[ -n $LONG_SECONDS ]]; then
    args+=(-max_total_time="$LONG_SECONDS")
    echo "fuzz: $target for ${LONG_SECONDS} s (log: $log)"
  else
    args+=(-runs="${CI_RUNS[$target]}")
    echo "fuzz: $target, ${CI_RUNS[$target]} runs (log: $log)"
  fi
  mkdir -p "$NEW_CORPUS/$target"
  # libFuzzer writes new inputs to the first directory and only reads the others.
  if "$BUILD_DIR/tests/fuzz/$target" "${args[@]}" "$NEW_CORPUS/$target" "tests/fuzz/corpus/$target" \
      >"$log" 2>&1; then
    # The final status line: executions, coverage (cov, ft), corpus, exec/s.
    grep -E '^#[0-9]+[[:space:]]+DONE' "$log" || true
    grep -E '^Done [0-9]+ runs' "$log" || true
  else
    failed+=("$target")
    echo "fuzz: $target FAILED; the end of its log:" >&2
    tail -n 40 "$log" >&2
    grep -E 'Test unit written to' "$log" >&2 || true
  fi
done

if [[ -n $LONG_SECONDS ]]; then
  echo "fuzz: new inputs in $NEW_CORPUS/<target> (merge into the corpus with -merge=1 if worth keeping)"
fi
if ((${#failed[@]})); then
  echo "fuzz: FAILED: ${failed[*]}; reproducers in $ARTIFACTS" >&2
  exit 1
fi
echo "fuzz: all ${#TARGETS[@]} targets passed"
