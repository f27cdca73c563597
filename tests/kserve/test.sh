#!/usr/bin/env bash
# The KServe v2 / Triton gRPC protocol tested with the official
# tritonclient[grpc] from PyPI against the built server (build/switchyard
# serve on the built-in demo model) and, for the reference text,
# switchyard-cli. Makes the virtual environment build/kserve-venv from the
# pinned tests/kserve/requirements.txt (again whenever they change), runs
# pytest, and reports the time. Arguments go to pytest.
#   SWITCHYARD_BUILD_DIR   the build directory (default: ./build)
#   SWITCHYARD_KSERVE_VENV the virtual environment (default: $BUILD_DIR/kserve-venv)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${SWITCHYARD_BUILD_DIR:-$root/build}
venv=${SWITCHYARD_KSERVE_VENV:-$build/kserve-venv}
requirements=$root/tests/kserve/requirements.txt
started=$(date +%s%N)

for binary in switchyard switchyard-cli; do
  if [[ ! -x $build/$binary ]]; then
    echo "tests/kserve: $build/$binary is missing: build it first" >&2
    exit 1
  fi
done

stamp=$venv/.requirements.sha256
want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [[ ! -f $stamp || "$(cat "$stamp")" != "$want" ]]; then
  echo "tests/kserve: installing $requirements into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
  echo "$want" > "$stamp"
fi

set +e
SWITCHYARD_BUILD_DIR=$build "$venv/bin/python" -m pytest -p no:cacheprovider -q "$root/tests/kserve" "$@"
rc=$?
set -e
elapsed_ms=$((($(date +%s%N) - started) / 1000000))
printf 'tests/kserve: %d.%03d s\n' $((elapsed_ms / 1000)) $((elapsed_ms % 1000))
exit $rc
