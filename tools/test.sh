#!/usr/bin/env bash
# Sets up (tools/setup.sh) and runs every test. This is the README's test
# command and what CI runs.
#
#   tools/test.sh          everything: unit, integration, the emulated CUDA
#                          tests, a one-minute soak and the deployment checks
#                          (image build ~3-10 min); the Python client's tests
#                          (clients/python/test.sh) and the KServe v2 protocol
#                          with the official tritonclient (tests/kserve/test.sh)
#                          against the built server; then the suite under
#                          AddressSanitizer + UBSan and ThreadSanitizer
#                          (tools/sanitize.sh) and the fuzz targets over their
#                          corpora (tools/fuzz.sh)
#   tools/test.sh --fast   the development loop: no deployment checks, no
#                          emulated CUDA tests, no soak (ctest labels deploy,
#                          emulated, soak)
#
# Extra arguments after the options go to ctest, e.g. tools/test.sh --fast -R scheduler
set -euo pipefail
cd "$(dirname "$0")/.."
FAST=0
if [[ "${1:-}" == "--fast" ]]; then
  FAST=1
  shift
fi
if ((FAST)); then
  tools/setup.sh
  exec ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure --parallel "$(nproc)" --timeout 300 \
    --label-exclude 'deploy|emulated|soak' "$@"
fi
tools/setup.sh --deploy
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure --parallel "$(nproc)" --timeout 300 "$@"
BUILD_DIR="${BUILD_DIR:-build}" SWITCHYARD_BIN="${BUILD_DIR:-build}/switchyard" clients/python/test.sh
SWITCHYARD_BUILD_DIR="${BUILD_DIR:-build}" tests/kserve/test.sh
tools/sanitize.sh
tools/fuzz.sh
