#!/usr/bin/env bash
# Packs what tools/gpu_check.sh runs on the lent GPU machine (issue 15) into
# .gpu_bundle/ (ignored), for the device tool's `carry`:
#
#   tools/gpu_bundle.sh [BUILD_DIR]      (default: build, built with nvcc present)
#
# That machine has CUDA 13, cuBLAS and the driver but none of gRPC, protobuf,
# Abseil, prometheus-cpp, OpenBLAS, Oniguruma, spdlog or GoogleTest, and
# nothing can be installed there. So the binaries built here travel with
# their shared-library closure, everything `ldd` names:
#   build/  the binaries, laid out as in BUILD_DIR (switchyard,
#           switchyard-loadgen, libswitchyard_cuda.so, bench/moe_gpu_bench,
#           tests/engine_cuda_*_test without the emulated ones);
#   lib/    every library they load except glibc's, libstdc++/libgcc_s and
#           CUDA's (the device has its own CUDA 13; ours would clash with its
#           driver);
#   cxx/    libstdc++ and libgcc_s of this machine, and
#   sys/    glibc's libraries and loader: used there only where the device's
#           own are older than what the binaries need (gpu_check.sh probes);
#           glibc only through the carried loader, never on LD_LIBRARY_PATH.
# Packed as .gpu_bundle/bundle.tar.xz (xz: the working tree plus what is
# carried must stay under 64 MiB) with .gpu_bundle/MANIFEST beside it. Before
# packing, every binary's closure is resolved with only the bundle on the
# library path, both through this machine's loader and through the carried
# one, and nothing may resolve outside the bundle but the allowed system and
# CUDA libraries.
set -euo pipefail
cd "$(dirname "$0")/.."

build=${1:-build}
dest=.gpu_bundle
# Libraries the device provides (CUDA 13 with its driver) or that the bundle
# carries in sys/ rather than lib/ (glibc, the C++ runtime).
cuda_re='^lib(cuda|cudart|cublas|cublasLt|nvrtc|nvJitLink|nvidia-)[^/]*\.so'
glibc_re='^(ld-linux-x86-64\.so\.2|lib(c|m|dl|pthread|rt|resolv|util|mvec)\.so\.[0-9]+)$'
cxx_re='^(libstdc\+\+\.so\.6|libgcc_s\.so\.1)$'

die() { echo "gpu_bundle: $*" >&2; exit 1; }

binaries=(switchyard switchyard-loadgen libswitchyard_cuda.so bench/moe_gpu_bench)
for t in "$build"/tests/engine_cuda_*_test; do
  [[ -e $t ]] || continue
  case $t in *_emulated_test | */engine_cuda_emulator_test) continue ;; esac  # CPU-only, CI runs them
  binaries+=("tests/${t##*/}")
done
for b in "${binaries[@]}"; do
  [[ -f $build/$b ]] || die "no $build/$b: build with nvcc present first (cmake --build $build)"
done
compgen -G "$build/tests/engine_cuda_ops_test" >/dev/null || die "no CUDA tests in $build/tests"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/build/tests" "$stage/build/bench" "$stage/lib" "$stage/cxx" "$stage/sys"

# The binaries unstripped: a Release build's symbols add only about 3 MB
# (1 MB packed), and they name the host frames of compute-sanitizer's
# backtraces.
for b in "${binaries[@]}"; do
  cp "$build/$b" "$stage/build/$b"
done

# ldd lists the whole closure (recursively), so one pass over the binaries
# is enough. The CUDA plugin is resolved with the CUDA toolkit's folder.
declare -A seen=()
for b in "${binaries[@]}"; do
  while read -r name path; do
    [[ -n $path && $path == /* ]] || continue
    [[ $name =~ $cuda_re ]] && continue
    [[ -n ${seen[$name]:-} ]] && continue
    seen[$name]=$path
    if [[ $name =~ $glibc_re ]]; then
      cp -L "$path" "$stage/sys/$name"
    elif [[ $name =~ $cxx_re ]]; then
      cp -L "$path" "$stage/cxx/$name"
    else
      cp -L "$path" "$stage/lib/$name"
      strip --strip-unneeded "$stage/lib/$name" 2>/dev/null || true
    fi
  done < <(ldd "$build/$b" | awk '$2 == "=>" {print $1, $3} $2 != "=>" && $1 ~ /^\// {n = $1; sub(".*/", "", n); print n, $1}')
done
[[ -e $stage/sys/ld-linux-x86-64.so.2 ]] || cp -L /lib64/ld-linux-x86-64.so.2 "$stage/sys/"
# libgomp may or may not be on the device; the closure carries it only if a
# binary loads it, and the CPU backend (the GPU tests' reference) does.
[[ -e $stage/lib/libgomp.so.1 ]] || die "libgomp.so.1 is not in the closure: expected from OpenBLAS/OpenMP"

# Highest symbol versions the binaries and carried libraries ask of glibc and
# of the C++ runtime: gpu_check.sh compares them with the device's.
max_version() {  # PREFIX FILE...: the highest PREFIX_x.y.z any of them needs
  local prefix=$1
  shift
  for f in "$@"; do objdump -T "$f" 2>/dev/null; done | grep -o "(\?${prefix}_[0-9][0-9.]*" | tr -d '(' |
    sed "s/^${prefix}_//" | sort -uV | tail -1
}
# The C++ runtime of cxx/ is counted apart: it defines the GLIBCXX versions
# rather than needing them, and needs a newer glibc than the binaries do.
needers=("$stage"/build/*.so "$stage"/build/switchyard "$stage"/build/switchyard-loadgen "$stage"/build/bench/* \
  "$stage"/build/tests/* "$stage"/lib/*)
glibc_max=$(max_version GLIBC "${needers[@]}")
glibcxx_max=$(max_version GLIBCXX "${needers[@]}")
cxxabi_max=$(max_version CXXABI "${needers[@]}")
cxx_glibc_max=$(max_version GLIBC "$stage"/cxx/*)

# The proof: with only the bundle on the path (and the CUDA toolkit for
# libcudart/libcublas, which the device has), every name resolves, and
# nothing resolves outside the bundle but glibc, the C++ runtime and CUDA.
cuda_dirs=""
for lib in libcudart.so.13 libcublas.so.13 libcublasLt.so.13; do
  p=$(ldd "$build/libswitchyard_cuda.so" | awk -v n="$lib" '$1 == n {print $3}')
  [[ -n $p ]] && cuda_dirs+=":$(dirname "$p")"
done
check_closure() {  # MODE: host (this loader, bundle lib/) or carried (bundle's loader, sys/ cxx/ lib/)
  local mode=$1 bad=0 out f
  for f in "$stage"/build/switchyard "$stage"/build/switchyard-loadgen "$stage"/build/*.so "$stage"/build/bench/* \
    "$stage"/build/tests/*; do
    if [[ $mode == host ]]; then
      out=$(env -i PATH=/usr/bin:/bin LD_LIBRARY_PATH="$stage/lib:$stage/build${cuda_dirs}" ldd "$f")
    else
      out=$("$stage/sys/ld-linux-x86-64.so.2" --list --library-path "$stage/sys:$stage/cxx:$stage/lib:$stage/build${cuda_dirs}" "$f")
    fi
    if grep -q "not found" <<<"$out"; then
      echo "gpu_bundle: $mode: ${f#"$stage"/}: $(grep "not found" <<<"$out" | tr -s ' \t\n' ' ')" >&2
      bad=1
    fi
    while read -r name path; do
      [[ $path == "$stage"/* || $name =~ $cuda_re ]] && continue
      if [[ $mode == carried || ! ($name =~ $glibc_re || $name =~ $cxx_re) ]]; then
        echo "gpu_bundle: $mode: ${f#"$stage"/}: $name resolves outside the bundle ($path)" >&2
        bad=1
      fi
    done < <(awk '$2 == "=>" {print $1, $3}' <<<"$out")
  done
  return $bad
}
check_closure host || die "the closure is incomplete with this machine's loader"
check_closure carried || die "the closure is incomplete with the carried loader"

rm -rf "$dest"
mkdir -p "$dest"
# xz -9: the binaries' CUDA fatbins and the libraries compress about 4x.
tar -C "$stage" -cf - build lib cxx sys | xz -9 -T0 >"$dest/bundle.tar.xz"
{
  echo "# tools/gpu_bundle.sh output; read by tools/gpu_check.sh"
  echo "built_from=$(git rev-parse HEAD 2>/dev/null || echo unknown)$( [[ -z $(git status --porcelain 2>/dev/null) ]] || echo "+dirty")"
  echo "packed_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  # shellcheck source=/dev/null
  echo "packed_on=$(. /etc/os-release && echo "$PRETTY_NAME"), glibc $(getconf GNU_LIBC_VERSION | cut -d' ' -f2)"
  # The paths compiled into the tests (fixtures, the plugin); gpu_check.sh
  # links the source path to the repository where they differ.
  echo "source_dir=$PWD"
  echo "binary_dir=$(cd "$build" && pwd -P)"
  echo "glibc_max=$glibc_max"
  echo "glibcxx_max=$glibcxx_max"
  echo "cxxabi_max=$cxxabi_max"
  echo "cxx_glibc_max=$cxx_glibc_max"
  echo "sha256=$(sha256sum "$dest/bundle.tar.xz" | cut -d' ' -f1)"
  echo "bytes_unpacked=$(du -sb "$stage" | cut -f1)"
  echo "bytes_packed=$(stat -c %s "$dest/bundle.tar.xz")"
  (cd "$stage" && find build lib cxx sys -type f | sort | sed 's/^/file=/')
} >"$dest/MANIFEST"

tracked=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
packed=$(du -cb "$dest" | tail -1 | cut -f1)
echo "gpu_bundle: $dest: $(grep -c '^file=' "$dest/MANIFEST") files, $(($(grep '^bytes_unpacked=' "$dest/MANIFEST" | cut -d= -f2) / 1048576)) MiB unpacked, $((packed / 1048576)) MiB packed"
echo "gpu_bundle: the binaries and lib/ need GLIBC_$glibc_max, GLIBCXX_$glibcxx_max, CXXABI_$cxxabi_max; cxx/ needs GLIBC_$cxx_glibc_max"
echo "gpu_bundle: tracked files $((tracked / 1048576)) MiB + bundle $((packed / 1048576)) MiB = $(((tracked + packed) / 1048576)) MiB of the 64 MiB that may travel"
((tracked + packed < 60 * 1048576)) || die "tracked files plus the bundle leave under 4 MiB of the 64 MiB limit"
