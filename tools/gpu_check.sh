#!/usr/bin/env bash
# The one GPU command of issue 15, run on the lent H200 with the bundle that
# tools/gpu_bundle.sh made here carried along (device tool: carry
# [".gpu_bundle"], timeout_s 600):
#
#   bash tools/gpu_check.sh
#
# Why prebuilt binaries and not a build there (the issue asks for a build on
# its 16 cores): the device lacks gRPC, protobuf, Abseil, prometheus-cpp,
# OpenBLAS, Oniguruma, spdlog, fmt, GoogleTest and google-benchmark, and
# nothing can be installed there. A build there would mean carrying all those
# -dev packages, unpacking them into a prefix and pointing CMake at it, then
# compiling 275 targets (the sm_90a kernels among them) inside the same 15
# minutes of device time, and none of that can be tried here. The device's
# nvcc is the same CUDA 13.0 as here, so it would compile the same code. The
# binaries built here with their library closure cost no device time, and
# every part of the route but the GPU itself is tested here (gpu_bundle.sh
# resolves the closure, this script runs from it on a machine without a GPU).
#
# Everything goes under $OUT (./gpu_check_out where OUT is unset), as the 8
# flat files that the device tool brings back:
#   01-nvidia-smi.txt     nvidia-smi, first
#   02-tests.log          every engine_cuda_* test (the cuBLAS one included),
#                         then `switchyard generate` on the demo model with
#                         the CPU and the CUDA backend
#   03-tests-xml.tar.gz   their gtest XML
#   04-sanitizer.log      memcheck over the op tests and one fixture's backend
#                         test, racecheck over the grouped GEMM and paged
#                         attention tests
#   05-moe_gpu_bench.md   build/bench/moe_gpu_bench, up to 4096 tokens first
#   06-moe_torch_peer.md  bench/moe_torch_peer.py on the same shapes
#   07-gpu_e2e.md         bench/gpu_e2e.sh (Qwen3-30B-A3B, dummy weights) at
#                         the copy bandwidth measured in 05; then, if time is
#                         left, the full token range in 05 and 06
#   summary.txt           how the binaries were run, then one line per stage
# Each stage runs under its own timeout inside GPU_CHECK_BUDGET_S (default
# 540 s; one run call may take 600 s), whatever the stages before it did, and
# the stages before gpu_e2e.sh leave it at least GPU_CHECK_E2E_RESERVE_S.
#
# Exit status: 0 every stage passed; 1 a stage failed or timed out; 3 no GPU
# here (the stages that need one skipped, the rest ran: how the route is
# tested on a machine without a GPU).
#
# Environment: OUT, GPU_CHECK_BUDGET_S [540], GPU_CHECK_E2E_RESERVE_S [240:
# what the stages before gpu_e2e.sh leave it at least], GPU_CHECK_LOADER [auto | host |
# host-cxx | carried] (how to run the carried binaries; auto probes),
# GPU_CHECK_FIXTURE [1: qwen3_moe, the index in backend_test.cc's fixture list;
# the backend test under memcheck], DECODE_TOKENS [64] and MODEL [the
# Qwen3-30B-A3B config with a stand-in tokenizer] for gpu_e2e.sh.
set -uo pipefail  # no -e: a failing stage must not stop the ones after it
cd "$(dirname "$0")/.." || exit 1
repo=$PWD
OUT=${OUT:-$repo/gpu_check_out}
mkdir -p "$OUT"
budget=${GPU_CHECK_BUDGET_S:-540}
fixture=${GPU_CHECK_FIXTURE:-1}
bundle=$repo/.gpu_bundle
summary=$OUT/summary.txt
work=$(mktemp -d)  # scratch outside $OUT: only 8 files come back from there
trap 'rm -rf "$work"' EXIT
failed=0
: >"$summary"

say() { echo "$*" | tee -a "$summary"; }
die() { say "gpu_check: $*"; exit 1; }
left() { echo $((budget - SECONDS)); }
manifest() { sed -n "s/^$1=//p" "$bundle/MANIFEST" | head -1; }
first_of() { local f; for f; do [[ -x $f ]] && { echo "$f"; return; }; done; }  # the first executable
version_ge() { [[ $(printf '%s\n%s\n' "$1" "$2" | sort -V | head -1) == "$2" ]]; }  # $1 >= $2

# --- the bundle, unpacked and laid out as the build tree it came from -------
[[ -f $bundle/MANIFEST && -f $bundle/bundle.tar.xz ]] ||
  die "no .gpu_bundle/: run tools/gpu_bundle.sh on the build machine and carry .gpu_bundle"
[[ $(sha256sum "$bundle/bundle.tar.xz" | cut -d' ' -f1) == "$(manifest sha256)" ]] ||
  die ".gpu_bundle/bundle.tar.xz does not match its MANIFEST"
# A real CMake build tree stays untouched (this machine, here); on the device
# build/ holds nothing else, and its path is the one compiled into the tests.
# The bundle unpacks inside it, not in .gpu_bundle/: what is carried must stay
# the 14 MiB archive.
layout=$repo/build
[[ -e $layout/CMakeCache.txt ]] && layout=$repo/build-gpu
unpacked=$layout/.bundle
rm -rf "$unpacked"
mkdir -p "$unpacked"
tar -C "$unpacked" -xJf "$bundle/bundle.tar.xz" 2>/dev/null ||
  python3 -c 'import sys, tarfile
t = tarfile.open(sys.argv[1])
t.extractall(sys.argv[2], **({"filter": "fully_trusted"} if hasattr(tarfile, "fully_trusted_filter") else {}))' \
    "$bundle/bundle.tar.xz" "$unpacked" || die "cannot unpack .gpu_bundle/bundle.tar.xz"
cp -a "$unpacked/build/." "$layout/"

say "# tools/gpu_check.sh on $(uname -n) at $(date -u +%Y-%m-%dT%H:%M:%SZ); repository $repo"
# shellcheck source=/dev/null
say "# machine: $(nproc) cores, kernel $(uname -r), $( (. /etc/os-release && echo "$PRETTY_NAME") 2>/dev/null || echo "unknown distribution")"
say "# bundle: built from $(manifest built_from) on $(manifest packed_on), packed $(manifest packed_at); laid out in ${layout#"$repo"/}/"

# The tests read fixtures under the source path compiled into them and load
# the plugin from the build path; on the device the repository may sit
# elsewhere, so that path is made to point here.
src_dir=$(manifest source_dir)
if [[ $(cd "$src_dir" 2>/dev/null && pwd -P) != "$(pwd -P)" ]]; then
  if [[ ! -e $src_dir ]] && mkdir -p "$(dirname "$src_dir")" && ln -s "$repo" "$src_dir"; then
    say "# linked $src_dir -> $repo: the tests read their fixtures and the plugin there"
  else
    say "# WARNING: the tests read $src_dir/tests/fixtures and $(manifest binary_dir), not this repository's"
  fi
fi

# --- how to run the carried binaries -----------------------------------------
# CUDA 13's runtime, cuBLAS and the driver come from the device: their
# folders, from the loader's cache or the usual places (the CUDA toolkit, the
# driver's mount, PyTorch's nvidia wheels).
py_nvidia_dirs=$(python3 -c 'import glob, os, nvidia
print(" ".join(d for p in nvidia.__path__ for d in glob.glob(os.path.join(p, "*", "lib")) + glob.glob(os.path.join(p, "cu*", "lib*"))))' 2>/dev/null)
# ldconfig lives in sbin, which a plain user's PATH lacks.
ldconfig=$(command -v ldconfig || first_of /sbin/ldconfig /usr/sbin/ldconfig)
ldcache() { [[ -n $ldconfig ]] && "$ldconfig" -p 2>/dev/null; }
find_lib_dir() {  # SONAME: the folder that holds it here, or nothing
  local p d
  p=$(ldcache | awk -v n="$1" '$1 == n && /x86-64/ {print $NF; exit}')
  if [[ -z $p ]]; then
    # shellcheck disable=SC2086  # the python folders are a list
    for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/local/cuda/lib /usr/local/cuda-13*/lib64 /usr/local/cuda-13*/lib \
      /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu /usr/lib64 $py_nvidia_dirs; do
      [[ -e $d/$1 ]] && { p=$d/$1; break; }
    done
  fi
  [[ -n $p ]] && dirname "$(readlink -f "$p")"
}
device_dirs=""
for soname in libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcuda.so.1; do
  d=$(find_lib_dir "$soname")
  if [[ -z $d ]]; then
    say "# $soname: not found on this machine"
  elif [[ :$device_dirs: != *:$d:* ]]; then
    device_dirs+=:$d
  fi
done

# Three ways, tried in this order: the device's glibc and C++ runtime with
# lib/ on LD_LIBRARY_PATH; the same with the carried libstdc++/libgcc_s
# (cxx/); or everything through the carried glibc and its loader (sys/),
# invoked explicitly. The symbol versions put the likely one first; a probe
# (each binary started once) confirms it.
dev_glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}')
dev_stdcxx=$(ldcache | awk '$1 == "libstdc++.so.6" && /x86-64/ {print $NF; exit}')
stdcxx_ok=0
if [[ -n $dev_stdcxx ]] && grep -qaF "GLIBCXX_$(manifest glibcxx_max)" "$dev_stdcxx" &&
  grep -qaF "CXXABI_$(manifest cxxabi_max)" "$dev_stdcxx"; then
  stdcxx_ok=1
fi
say "# device: glibc ${dev_glibc:-unknown}, libstdc++ ${dev_stdcxx:-not in the loader cache} ($( ((stdcxx_ok)) && echo has || echo lacks) GLIBCXX_$(manifest glibcxx_max)); the binaries need GLIBC_$(manifest glibc_max), the carried libstdc++ GLIBC_$(manifest cxx_glibc_max)"
case ${GPU_CHECK_LOADER:-auto} in
  auto)
    candidates=()
    if [[ -n $dev_glibc ]] && version_ge "$dev_glibc" "$(manifest glibc_max)"; then
      ((stdcxx_ok)) && candidates+=(host)
      version_ge "$dev_glibc" "$(manifest cxx_glibc_max)" && candidates+=(host-cxx)
    fi
    candidates+=(carried)
    ;;
  host | host-cxx | carried) candidates=("$GPU_CHECK_LOADER") ;;
  *) die "GPU_CHECK_LOADER must be auto, host, host-cxx or carried" ;;
esac

set_mode() {  # MODE: sets libpath and run_prefix (what to put before a binary)
  mode=$1
  case $mode in
    host) libpath=$unpacked/lib:$layout$device_dirs ;;
    host-cxx) libpath=$unpacked/cxx:$unpacked/lib:$layout$device_dirs ;;
    carried) libpath=$unpacked/sys:$unpacked/cxx:$unpacked/lib:$layout$device_dirs ;;
  esac
  if [[ $mode == carried ]]; then
    run_prefix=("$unpacked/sys/ld-linux-x86-64.so.2" --library-path "$libpath")
  else
    run_prefix=(env "LD_LIBRARY_PATH=$libpath")
  fi
}
probe() {  # the current mode starts every carried binary, and resolves the plugin
  local f out bad=0
  for f in "$layout"/tests/engine_cuda_*_test "$layout"/bench/moe_gpu_bench "$layout"/switchyard \
    "$layout"/switchyard-loadgen; do
    case $f in */tests/*) out=$(timeout 30 "${run_prefix[@]}" "$f" --gtest_list_tests 2>&1) ;;
      *) out=$(timeout 30 "${run_prefix[@]}" "$f" --help 2>&1) ;; esac
    if grep -qE "error while loading shared libraries|symbol lookup error" <<<"$out"; then
      say "#   $mode: ${f#"$layout"/}: $(grep -m1 -E "error while loading|symbol lookup" <<<"$out")"
      bad=1
    fi
  done
  if [[ $mode == carried ]]; then
    out=$("${run_prefix[@]}" --list "$layout/libswitchyard_cuda.so" 2>&1)
  else
    out=$(env "LD_LIBRARY_PATH=$libpath" /lib64/ld-linux-x86-64.so.2 --list "$layout/libswitchyard_cuda.so" 2>&1)
  fi
  if grep -qE "not found|error while loading|symbol lookup error" <<<"$out"; then
    say "#   $mode: libswitchyard_cuda.so: $(grep -m1 -E "not found|error while loading|symbol lookup" <<<"$out" | tr -s ' \t' ' ')"
    bad=1
  fi
  return $bad
}
chosen=""
for m in "${candidates[@]}"; do
  set_mode "$m"
  if probe; then chosen=$m; break; fi
done
if [[ -z $chosen ]]; then
  set_mode "${candidates[0]}"
  say "# WARNING: no way of running the carried binaries passed the probe; going on with '$mode' (stages will fail)"
  failed=1
fi
say "# running the carried binaries: mode '$mode' (tried: ${candidates[*]}); library path $libpath"

# switchyard and switchyard-loadgen as gpu_e2e.sh calls them (BUILD_DIR/NAME):
# wrappers that run the real ones the same way, beside the plugin's name.
mkdir -p "$layout/run"
for b in switchyard switchyard-loadgen; do
  printf '#!/usr/bin/env bash\n# made by tools/gpu_check.sh: %s from the carried bundle\nexec%s %q "$@"\n' \
    "$b" "$(printf ' %q' "${run_prefix[@]}")" "$layout/$b" >"$layout/run/$b"
  chmod +x "$layout/run/$b"
done
ln -sfn ../libswitchyard_cuda.so "$layout/run/libswitchyard_cuda.so"

# --- stages ------------------------------------------------------------------
record() {  # NAME RC SECONDS [NOTE]: one summary line; a failure or timeout marks the run failed
  local status
  case $2 in
    0) status=ok ;;
    skip) status=skipped ;;
    no-time) status=NOT-RUN failed=1 ;;  # the run is incomplete
    partial) status=partial ;;           # an optional stage cut short by the budget
    124 | 137) status=TIMEOUT failed=1 ;;
    *) status=FAILED failed=1 ;;
  esac
  printf '%-34s %-8s rc=%-4s %5ss  %s\n' "$1" "$status" "$2" "$3" "${4:-}" | tee -a "$summary"
}
# A stage's timeout is the least of its cap, the end of its group of stages
# (stage_end) and what the budget leaves once `reserve` seconds are kept for
# the stages after it (the end-to-end run: its server alone takes minutes to
# make 61 GB of random weights on the host).
stage_end=$budget
reserve=0
run_stage() {  # NAME CAP_S LOG CMD...: CMD under a timeout of CAP_S (less if the budget is short), output to LOG
  local name=$1 cap=$2 log=$3 t t0 rc
  shift 3
  t=$cap
  (($(left) - reserve < t)) && t=$(($(left) - reserve))
  ((stage_end - SECONDS < t)) && t=$((stage_end - SECONDS))
  if ((t < 5)); then
    record "$name" no-time 0 "no time left in the ${budget} s budget"
    return 0
  fi
  printf '\n### %s (timeout %s s)\n$ %s\n' "$name" "$t" "$*" >>"$log"
  stage_from=$(stat -c %s "$log")  # where this stage's output starts
  t0=$SECONDS
  timeout -k 10 "$t" "$@" >>"$log" 2>&1
  rc=$?
  stage_rc=$rc stage_s=$((SECONDS - t0))
  return 0
}

# 1. nvidia-smi, first
smi=$(command -v nvidia-smi || first_of /usr/local/nvidia/bin/nvidia-smi /usr/bin/nvidia-smi)
has_gpu=0
t0=$SECONDS
if [[ -n $smi ]]; then
  {
    timeout 30 "$smi"
    echo
    timeout 30 "$smi" -L
    echo
    timeout 30 "$smi" --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.memory,power.limit \
      --format=csv
  } >"$OUT/01-nvidia-smi.txt" 2>&1
  grep -q '^GPU 0' "$OUT/01-nvidia-smi.txt" && has_gpu=1
  record nvidia-smi "$( ((has_gpu)) && echo 0 || echo 1)" $((SECONDS - t0)) "$(grep -m1 '^GPU 0' "$OUT/01-nvidia-smi.txt")"
else
  echo "nvidia-smi: not found on this machine (no NVIDIA driver): no GPU here" >"$OUT/01-nvidia-smi.txt"
  record nvidia-smi skip 0 "not found: no GPU here; the stages that need one are skipped"
fi

reserve=${GPU_CHECK_E2E_RESERVE_S:-240}

# 2. every engine_cuda_* test, the cuBLAS one among them (gtest XML to 03),
# and switchyard itself: 120 s for all of it
stage_end=$((SECONDS + 120))
mkdir -p "$work/xml"
for t in "$layout"/tests/engine_cuda_*_test; do
  name=${t##*/}
  cap=30
  case $name in *backend_test) cap=120 ;; *ops_test | *cublas*) cap=60 ;; esac
  stage_rc=skip stage_s=0
  run_stage "$name" "$cap" "$OUT/02-tests.log" "${run_prefix[@]}" "$t" --gtest_color=no \
    "--gtest_output=xml:$work/xml/$name.xml"
  [[ $stage_rc == skip ]] && continue
  note=""
  if [[ -f $work/xml/$name.xml ]]; then
    skipped=$(grep -c 'result="skipped"' "$work/xml/$name.xml")
    note="$(grep -c '<testcase ' "$work/xml/$name.xml") tests, $(grep -c '<failure' "$work/xml/$name.xml") failures, $skipped skipped"
    # These skip only without a device: skipping beside a GPU means the CUDA
    # runtime does not see it, which no passing status may hide.
    if ((has_gpu && skipped > 0)) && [[ $name == *_ops_test || $name == *_backend_test || $name == *_sampling_test || $name == *cublas* ]]; then
      stage_rc=1 note+=" (skipped although nvidia-smi lists a GPU)"
    fi
  fi
  record "$name" "$stage_rc" "$stage_s" "$note"
done
tar -C "$work" -czf "$OUT/03-tests-xml.tar.gz" xml

# switchyard itself through the wrapper gpu_e2e.sh uses: the CPU backend on
# the built-in demo model, then the CUDA one, whose plugin must load and
# answer (without a GPU: "no CUDA device", not a loader error).
stage_rc=skip stage_s=0
run_stage "switchyard generate cpu" 30 "$OUT/02-tests.log" "$layout/run/switchyard" generate --backend=cpu \
  --prompt-ids=1,20,30 --max-tokens=4 --temperature=0
[[ $stage_rc != skip ]] && record "switchyard generate cpu" "$stage_rc" "$stage_s" \
  "$(tail -c +$((stage_from + 1)) "$OUT/02-tests.log" | tail -1)"
stage_rc=skip stage_s=0
run_stage "switchyard generate cuda" 60 "$OUT/02-tests.log" "$layout/run/switchyard" generate --backend=cuda \
  --prompt-ids=1,20,30 --max-tokens=4 --temperature=0
if [[ $stage_rc != skip ]]; then
  if ((!has_gpu)); then
    # Expected to fail here, and only for want of a device.
    last=$(tail -c +$((stage_from + 1)) "$OUT/02-tests.log" | tail -1)
    if [[ $stage_rc != 0 && $last == *"no CUDA device"* ]]; then stage_rc=0; else stage_rc=1; fi
    record "switchyard generate cuda" "$stage_rc" "$stage_s" "(no GPU: the plugin must load and say so) $last"
  else
    record "switchyard generate cuda" "$stage_rc" "$stage_s" "$(tail -c +$((stage_from + 1)) "$OUT/02-tests.log" | tail -1)"
  fi
fi
stage_end=$budget

# 3. compute-sanitizer: memcheck over the op tests and one fixture's backend
# test, racecheck over the grouped GEMM and paged attention tests. Exit 99:
# the sanitizer found errors; another non-zero status: a test failed.
sanitizer=$(command -v compute-sanitizer ||
  first_of /usr/local/cuda/bin/compute-sanitizer /usr/local/cuda/compute-sanitizer/compute-sanitizer \
    /usr/local/cuda-*/bin/compute-sanitizer /usr/local/cuda-*/compute-sanitizer/compute-sanitizer \
    /opt/nvidia/*/compute-sanitizer)
sanitize() {  # NAME CAP TOOL BINARY ARGS...
  local name=$1 cap=$2 tool=$3
  shift 3
  if ((!has_gpu)) || [[ -z $sanitizer ]]; then
    record "$name" skip 0 "$( ((has_gpu)) && echo "compute-sanitizer not found" || echo "no GPU")"
    return
  fi
  stage_rc=skip stage_s=0
  if [[ $mode == carried ]]; then
    run_stage "$name" "$cap" "$OUT/04-sanitizer.log" "$sanitizer" --tool "$tool" --error-exitcode 99 \
      --print-limit 50 "${run_prefix[@]}" "$@" --gtest_color=no
  else
    run_stage "$name" "$cap" "$OUT/04-sanitizer.log" env "LD_LIBRARY_PATH=$libpath" "$sanitizer" --tool "$tool" \
      --error-exitcode 99 --print-limit 50 "$@" --gtest_color=no
  fi
  [[ $stage_rc == skip ]] && return
  record "$name" "$stage_rc" "$stage_s" \
    "$(tail -c +$((stage_from + 1)) "$OUT/04-sanitizer.log" | grep -E '(ERROR|RACECHECK) SUMMARY' | tail -1 |
      sed 's/^=* *//')"
}
stage_end=$((SECONDS + 150))  # for the three
sanitize "memcheck ops_test" 60 memcheck "$layout/tests/engine_cuda_ops_test"
sanitize "memcheck backend_test /$fixture" 60 memcheck "$layout/tests/engine_cuda_backend_test" \
  "--gtest_filter=*CudaBackendTest.*/$fixture"
sanitize "racecheck GEMM+attention" 45 racecheck "$layout/tests/engine_cuda_ops_test" \
  "--gtest_filter=GroupedGemmTest.*:PagedAttentionTest.*"
stage_end=$budget

# 4. the MoE layer benchmark, decode and mid-sized prefill shapes first
# (line-buffered: a timeout keeps the rows printed so far)
stage_rc=skip stage_s=0
run_stage "moe_gpu_bench <=4096 tokens" 60 "$OUT/05-moe_gpu_bench.md" stdbuf -oL "${run_prefix[@]}" \
  "$layout/bench/moe_gpu_bench" --max-tokens=4096 --reps=10
[[ $stage_rc != skip ]] && record "moe_gpu_bench <=4096 tokens" "$stage_rc" "$stage_s" \
  "$(grep -m1 'D2D cudaMemcpy' "$OUT/05-moe_gpu_bench.md")"
bandwidth=$(sed -n 's/.*D2D cudaMemcpy bandwidth (read + write): \([0-9][0-9]*\) GB\/s.*/\1/p' \
  "$OUT/05-moe_gpu_bench.md" 2>/dev/null | head -1)

# 5. the PyTorch peer on the same shapes (the device's python3 holds torch)
stage_rc=skip stage_s=0
run_stage "moe_torch_peer <=4096 tokens" 50 "$OUT/06-moe_torch_peer.md" env PYTHONUNBUFFERED=1 \
  python3 bench/moe_torch_peer.py --max-tokens 4096 --reps 10
[[ $stage_rc != skip ]] && record "moe_torch_peer <=4096 tokens" "$stage_rc" "$stage_s" \
  "$(grep -m1 -E 'D2D copy|nothing to measure' "$OUT/06-moe_torch_peer.md")"

# 6. end to end: Qwen3-30B-A3B with dummy weights, the roofline at the copy
# bandwidth just measured; gets the time the stages above did not use
# (gpu_e2e.sh supplies a stand-in tokenizer for the bare config).
e2e_model=${MODEL:-bench/configs/qwen3_30b_a3b}
stage_rc=skip stage_s=0
reserve=0
run_stage "gpu_e2e qwen3_30b_a3b" 420 "$OUT/07-gpu_e2e.md" env "BANDWIDTH_GBPS=${bandwidth:-3000}" \
  "DECODE_TOKENS=${DECODE_TOKENS:-64}" "MODEL=$e2e_model" bash bench/gpu_e2e.sh "$layout/run"
[[ $stage_rc != skip ]] && record "gpu_e2e qwen3_30b_a3b" "$stage_rc" "$stage_s" \
  "roofline at ${bandwidth:-3000 (none measured)} GB/s"

# 7. the full token range (32768-token prefill too), if time is left; rows
# come line by line, so a cut run still adds what it measured ("partial")
if ((has_gpu && $(left) > 60)); then
  stage_rc=skip stage_s=0
  run_stage "moe_gpu_bench full" $(($(left) - 45)) "$OUT/05-moe_gpu_bench.md" stdbuf -oL "${run_prefix[@]}" \
    "$layout/bench/moe_gpu_bench" --reps=10
  [[ $stage_rc == 124 || $stage_rc == 137 ]] && stage_rc=partial
  [[ $stage_rc != skip ]] && record "moe_gpu_bench full" "$stage_rc" "$stage_s"
fi
if ((has_gpu && $(left) > 40)); then
  stage_rc=skip stage_s=0
  run_stage "moe_torch_peer full" $(($(left) - 5)) "$OUT/06-moe_torch_peer.md" env PYTHONUNBUFFERED=1 \
    python3 bench/moe_torch_peer.py --reps 10
  [[ $stage_rc == 124 || $stage_rc == 137 ]] && stage_rc=partial
  [[ $stage_rc != skip ]] && record "moe_torch_peer full" "$stage_rc" "$stage_s"
fi

# Each file comes back only under 16 MiB: keep the start and the end.
for f in "$OUT"/*; do
  if (($(stat -c %s "$f") > 15 * 1048576)); then
    { head -c $((7 * 1048576)) "$f"; printf '\n[... cut by gpu_check.sh ...]\n'; tail -c $((7 * 1048576)) "$f"; } >"$work/cut"
    mv "$work/cut" "$f"
  fi
done

if ((failed)); then
  rc=1
elif ((!has_gpu)); then
  rc=3
else
  rc=0
fi
case $rc in
  0) verdict="every stage passed" ;;
  1) verdict="a stage failed or timed out" ;;
  3) verdict="no GPU here: the stages that need one were skipped" ;;
esac
say "# done in ${SECONDS} s of the ${budget} s budget; exit status $rc: $verdict"
exit $rc
