#!/usr/bin/env bash
# Sets up (tools/setup.sh) and runs switchyard. With no arguments: greedy
# generation on the built-in demo model. Otherwise the arguments go to the
# switchyard binary, e.g. tools/run.sh generate --model DIR --prompt "Hello"
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh >&2
if (($# == 0)); then
  set -- generate --prompt "The yard master walked the length of the platform" --max-tokens 32
fi
exec "${BUILD_DIR:-build}/switchyard" "$@"
