# shellcheck shell=bash
# Shared helpers of the deployment checks (tests/deploy/*.sh), sourced by
# each. ctest sets SWITCHYARD_BUILD_DIR and SWITCHYARD_DEPLOY_VENV; a check run
# by hand from the source tree falls back to build/ and build/deploy-venv.
set -euo pipefail

BUILD_DIR=${SWITCHYARD_BUILD_DIR:-$PWD/build}
DEPLOY_VENV=${SWITCHYARD_DEPLOY_VENV:-$BUILD_DIR/deploy-venv}
CHECK_NAME=$(basename "${BASH_SOURCE[1]:-$0}" .sh)
CHECKS_PASSED=0
CHECKS_FAILED=0
SCRATCH=$(mktemp -d)
_cleanups=()

# on_exit CMD: runs CMD (a string) when the check exits, last registered first.
on_exit() { _cleanups=("$1" "${_cleanups[@]}"); }
_run_cleanups() {
  local rc=$?
  for c in "${_cleanups[@]}"; do eval "$c" || true; done
  rm -rf "$SCRATCH"
  return $rc
}
trap _run_cleanups EXIT

log() { echo "[$CHECK_NAME] $*" >&2; }
die() { log "FATAL: $*"; exit 1; }

# pass MESSAGE / fail MESSAGE: one checked fact each; finish prints the tally
# and fails the check when any fact failed or none was checked.
pass() { CHECKS_PASSED=$((CHECKS_PASSED + 1)); log "ok: $*"; }
fail() { CHECKS_FAILED=$((CHECKS_FAILED + 1)); log "FAILED: $*"; }
finish() {
  echo "$CHECK_NAME: $CHECKS_PASSED passed, $CHECKS_FAILED failed"
  ((CHECKS_PASSED > 0)) || die "nothing was checked"
  ((CHECKS_FAILED == 0))
}

# facts COMMAND...: runs a checker that prints "PASS what" and "FAIL what"
# lines (tests/deploy/*.py); each line becomes one fact of this check.
facts() {
  local line
  while IFS= read -r line; do
    case $line in
      PASS\ *) pass "${line#PASS }" ;;
      FAIL\ *) fail "${line#FAIL }" ;;
      *) fail "unexpected checker output: $line" ;;
    esac
  done < <("$@" || echo "FAIL $* crashed")
}

# venv_tool NAME: the path of a tool installed from deploy/requirements.txt.
venv_tool() {
  local tool="$DEPLOY_VENV/bin/$1"
  [[ -x $tool ]] || die "$tool is missing: run tools/setup.sh --deploy"
  echo "$tool"
}

# need_binary NAME: the path of a built binary (switchyard, switchyard-cli, ...).
need_binary() {
  local binary="$BUILD_DIR/$1"
  [[ -x $binary ]] || die "$binary is missing: build it first (tools/setup.sh)"
  echo "$binary"
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_healthy ADDR [SECONDS]: waits until `switchyard-cli health` says SERVING.
wait_healthy() {
  local addr=$1 deadline=$((SECONDS + ${2:-60})) cli
  cli=$(need_binary switchyard-cli)
  until "$cli" health --addr="$addr" --timeout=2s >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# start_server [SERVE FLAGS...]: `switchyard serve` on the demo model (unless
# flags name another) on free loopback ports, waits until it is SERVING and
# sets SERVER_PID, GRPC_ADDR, METRICS_PORT and SERVER_LOG. Stopped on exit.
start_server() {
  local grpc_port
  grpc_port=$(free_port)
  METRICS_PORT=$(free_port)
  GRPC_ADDR=127.0.0.1:$grpc_port
  SERVER_LOG=$SCRATCH/server.log
  "$(need_binary switchyard)" serve --backend=cpu --host=127.0.0.1 --port="$grpc_port" \
    --metrics-port="$METRICS_PORT" "$@" 2>"$SERVER_LOG" &
  SERVER_PID=$!
  on_exit "kill -TERM $SERVER_PID 2>/dev/null; wait $SERVER_PID 2>/dev/null"
  wait_healthy "$GRPC_ADDR" 120 || { cat "$SERVER_LOG" >&2; die "the server did not become SERVING"; }
}
