#!/usr/bin/env bash
# The test suite under the sanitizers, each in its own build directory:
#
#   tools/sanitize.sh address   AddressSanitizer + UndefinedBehaviorSanitizer
#                               (build-asan): every unit and integration test
#   tools/sanitize.sh thread    ThreadSanitizer (build-tsan): the scheduler and
#                               server tests, where the threads are
#   tools/sanitize.sh           both, one after the other (what CI runs)
#
# Left out: the deployment checks, the soak and the emulated CUDA kernels
# (ctest labels deploy, soak, emulated), which run in the Release build.
# Extra arguments after the mode go to ctest. The system libraries (gRPC,
# protobuf, Abseil, OpenBLAS, libgomp) are not instrumented:
# tools/sanitizers/README.md says what that costs and how each sanitizer is told.
set -euo pipefail
cd "$(dirname "$0")/.."
MODES=(address thread)
if (($#)) && [[ "$1" != -* ]]; then
  case "$1" in
    address|thread) MODES=("$1") ;;
    *) echo "sanitize: unknown mode '$1' (address, thread)" >&2; exit 2 ;;
  esac
  shift
fi

configure_and_build() {  # DIR SANITIZERS TARGET...
  local dir=$1 sanitizers=$2
  shift 2
  if [[ ! -f "$dir/build.ninja" ]]; then
    # -O1 keeps the stacks readable and the golden tests fast enough; no
    # NDEBUG, so every assert runs too. No CUDA: the emulated kernels are
    # tested in the Release build.
    cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" \
      -DSWITCHYARD_SANITIZE="$sanitizers" -DSWITCHYARD_CUDA=OFF -DSWITCHYARD_BUILD_BENCH=OFF
  fi
  cmake --build "$dir" --parallel "$(nproc)" ${1:+--target "$@"}
}

for mode in "${MODES[@]}"; do
  if [[ "$mode" == address ]]; then
    dir=${ASAN_BUILD_DIR:-build-asan}
    echo "sanitize: AddressSanitizer + UndefinedBehaviorSanitizer in $dir"
    configure_and_build "$dir" address,undefined
    ASAN_OPTIONS="detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1" \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
      ctest --test-dir "$dir" --output-on-failure --parallel "$(nproc)" --timeout 600 \
        --label-exclude 'deploy|emulated|soak' "$@"
  else
    dir=${TSAN_BUILD_DIR:-build-tsan}
    echo "sanitize: ThreadSanitizer in $dir"
    # Only the test binaries of those folders (tests/CMakeLists.txt names
    # tests/server/service/x_test.cc server_service_x_test).
    targets=()
    while IFS= read -r src; do
      rel=${src#tests/}
      rel=${rel%.cc}
      targets+=("${rel//\//_}")
    done < <(find tests/scheduler tests/server -name '*_test.cc' | sort)
    configure_and_build "$dir" thread "${targets[@]}"
    # One OpenMP thread: libgomp is not instrumented, so its barriers would be
    # invisible to TSan and every parallel region would read as a race. The
    # threads under test are the engine thread and gRPC's.
    # Interceptors called from the uninstrumented libraries are ignored; the
    # tests that run a gRPC server (labels server-grpc, tools-grpc) are left
    # out: tools/sanitizers/README.md.
    TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:ignore_noninstrumented_modules=1" \
    OMP_NUM_THREADS=1 \
      ctest --test-dir "$dir" --output-on-failure --parallel "$(nproc)" --timeout 600 \
        --label-regex '^(scheduler|server)$' "$@"
  fi
done
