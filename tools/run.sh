#!/usr/bin/env bash
# Sets up (tools/setup.sh) and runs switchyard. With no arguments: the gRPC
# server on the built-in demo model, port 50051. Otherwise the arguments go to
# the switchyard binary, e.g. tools/run.sh generate --model DIR --prompt "Hello"
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh >&2
if (($# == 0)); then
  set -- serve --port 50051
fi
exec "${BUILD_DIR:-build}/switchyard" "$@"
