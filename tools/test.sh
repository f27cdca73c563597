#!/usr/bin/env bash
# Sets up (tools/setup.sh) and runs every test. This is the README's test
# command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure --parallel "$(nproc)" --timeout 300
