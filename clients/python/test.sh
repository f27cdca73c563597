#!/usr/bin/env bash
# Builds the Python client's wheel (and sdist) with `python -m build`,
# installs the wheel into a fresh venv, runs its tests there against the real
# server, and runs `mypy --strict` on the installed package and the example.
#
#   clients/python/test.sh [pytest args...]
#
# SWITCHYARD_BIN: the server binary (default build/switchyard).
# BUILD_DIR: where the venvs and the wheel go (default build/).
# PYTHON: the interpreter (default python3, 3.10 or newer).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
BUILD_DIR="$(mkdir -p "${BUILD_DIR:-$REPO/build}" && cd "${BUILD_DIR:-$REPO/build}" && pwd)"
SWITCHYARD_BIN="$(realpath "${SWITCHYARD_BIN:-$REPO/build/switchyard}")"
PYTHON="${PYTHON:-python3}"
DEV_VENV="$BUILD_DIR/client-venv"        # build tools, kept between runs
WHEELS="$BUILD_DIR/client-wheels"        # the pinned wheels, downloaded with the dev venv
TEST_VENV="$BUILD_DIR/client-test-venv"  # made anew each run: only the wheel and the test tools
DIST="$BUILD_DIR/client-dist"
export PIP_DISABLE_PIP_VERSION_CHECK=1

start=$EPOCHREALTIME
phase_start=$start
since() {  # seconds from $1 (an $EPOCHREALTIME) to now; its radix may be a comma
  local now=$EPOCHREALTIME
  awk -v a="${1/,/.}" -v b="${now/,/.}" 'BEGIN { printf "%6.1f s", b - a }'
}
phase() {  # how long the phase that just ended took
  printf 'client test.sh: %-28s %s\n' "$1" "$(since "$phase_start")"
  phase_start=$EPOCHREALTIME
}

if [[ ! -x "$SWITCHYARD_BIN" ]]; then
  echo "client test.sh: no server binary at $SWITCHYARD_BIN (set SWITCHYARD_BIN)" >&2
  exit 1
fi

# The dev venv and a wheelhouse of every pin, remade only when the pins
# changed; the rest of the run installs from the wheelhouse alone, so it
# needs no package index.
stamp="$DEV_VENV/.requirements-dev.sha256"
want="$(sha256sum "$HERE/requirements-dev.txt" | cut -d' ' -f1)"
if [[ ! -x "$DEV_VENV/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  rm -rf "$DEV_VENV" "$WHEELS"
  "$PYTHON" -m venv "$DEV_VENV"
  "$DEV_VENV/bin/pip" download -q --only-binary=:all: -d "$WHEELS" -r "$HERE/requirements-dev.txt"
  "$DEV_VENV/bin/pip" install -q --no-index --find-links "$WHEELS" -r "$HERE/requirements-dev.txt"
  echo "$want" > "$stamp"
fi
export PIP_NO_INDEX=1 PIP_FIND_LINKS="$WHEELS"  # also for the isolated build environments
phase "dev venv"

# sdist, then the wheel from the sdist, each in an isolated environment with
# the build requirements pinned in pyproject.toml: the stubs are generated
# from proto/ there.
rm -rf "$DIST"
"$DEV_VENV/bin/python" -m build --outdir "$DIST" "$HERE" > "$BUILD_DIR/client-build.log" 2>&1 \
  || { cat "$BUILD_DIR/client-build.log" >&2; exit 1; }
wheel=("$DIST"/switchyard_client-*.whl)
phase "python -m build"

# A fresh venv (no pip of its own: the dev venv's pip installs into it) with
# the wheel, its dependencies and the test and type-checking tools, all
# pinned by requirements-dev.txt as constraints.
rm -rf "$TEST_VENV"
"$PYTHON" -m venv --without-pip "$TEST_VENV"
"$DEV_VENV/bin/pip" --python "$TEST_VENV/bin/python" install -q --no-compile -c "$HERE/requirements-dev.txt" \
  "${wheel[0]}" pytest pytest-asyncio cryptography mypy types-grpcio types-protobuf
phase "fresh venv with the wheel"

# From HERE, whose src/ is not on the path: the tests import the wheel.
cd "$HERE"
SWITCHYARD_BIN="$SWITCHYARD_BIN" SWITCHYARD_CLIENT_FROM_WHEEL=1 \
  "$TEST_VENV/bin/python" -m pytest -p no:cacheprovider -q tests "$@"
phase "pytest"

# The installed package (generated stubs included), then the example as a
# user's code that imports it; mypy takes a package or files, not both.
mypy=("$TEST_VENV/bin/mypy" --strict --cache-dir "$BUILD_DIR/client-mypy-cache")
"${mypy[@]}" -p switchyard_client
"${mypy[@]}" examples/generate.py
phase "mypy --strict"

printf 'client test.sh: %-28s %s\n' "total" "$(since "$start")"
