# shellcheck shell=bash disable=SC2154  # $build is set by the script that sources this
# Sourced by the bench scripts that drive a `switchyard serve`: a scratch
# folder ($tmp), a server started on a free loopback port and stopped on
# exit, whatever else the script leaves running killed too. The script sets
# $build (the build folder) first.

tmp=$(mktemp -d)
server_pid=""
background_pids=()  # the script's own background jobs, killed on exit
_serve_lib_cleanup() {
  for p in "${background_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [[ -n $server_pid ]]; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap _serve_lib_cleanup EXIT

# start_server SECONDS [COMMAND PREFIX --] FLAGS...: `switchyard serve FLAGS`
# on 127.0.0.1 (a free port, no metrics), its log in $tmp/server.log; sets
# $server_pid and $address ("127.0.0.1:PORT") once it serves, or exits 1
# with its log when it dies or does not serve within SECONDS. A prefix (e.g.
# `taskset -c 0 --`) runs the server under that command.
start_server() {
  local seconds=$1 prefix=()
  shift
  if [[ " $* " == *" -- "* ]]; then
    while [[ $1 != -- ]]; do prefix+=("$1"); shift; done
    shift
  fi
  "${prefix[@]}" "$build/switchyard" serve --host=127.0.0.1 --port=0 --metrics-port=0 "$@" 2>"$tmp/server.log" &
  server_pid=$!
  address=""
  local deadline=$((SECONDS + seconds))
  while ((SECONDS < deadline)); do
    address=$(sed -n 's/.*serving .* on \(127\.0\.0\.1:[0-9]*\).*/\1/p' "$tmp/server.log")
    [[ -n $address ]] && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "$(basename "$0"): the server did not start:" >&2
  cat "$tmp/server.log" >&2
  exit 1
}

# stop_server: SIGTERM, and its exit status (0 after a clean drain).
stop_server() {
  local rc=0
  kill -TERM "$server_pid"
  wait "$server_pid" || rc=$?
  server_pid=""
  return "$rc"
}
