#!/usr/bin/env bash
# The Prometheus rules and the Grafana dashboard against a real Prometheus:
# the Debian `prometheus`, on a loopback port, with a test copy of
# deploy/prometheus/prometheus.yml (the server's metrics port as target, 1 s
# scrape and evaluation intervals, storage in SCRATCH), scrapes a running
# server under load; then every rule and every dashboard query must work
# (tests/deploy/prometheus_queries.py says what that means).
#
# Alert expressions return nothing until they fire: each is checked to parse,
# and the series it compares must exist (`EXPR OP NUMBER` is run as
# `EXPR OP bool NUMBER`, `absent(EXPR)` as EXPR). For the series that only
# errors make, the load makes them: a small scheduler (--max-num-seqs 2,
# --max-waiting 2) refuses part of it with UNAVAILABLE, and calls with a
# deadline shorter than their generation end DEADLINE_EXCEEDED.
#
# Finally the checker is run on a copy of the dashboard with two broken
# queries (a misspelled metric, a syntax error), and must fail exactly those.
source "$(dirname "$0")/lib.sh"

PROMETHEUS=$(command -v prometheus) || die "prometheus is missing: apt-get install prometheus"
PROMTOOL=$(command -v promtool) || die "promtool is missing: apt-get install prometheus"
LOADGEN=$(need_binary switchyard-loadgen)
CLI=$(need_binary switchyard-cli)
QUERIES=(python3 tests/deploy/prometheus_queries.py)

start_server --max-num-seqs=2 --max-waiting=2

# The project's scrape config, pointed at this server and sped up. Each edit
# must hit, or the test would silently run some other configuration.
cp deploy/prometheus/prometheus.yml deploy/prometheus/switchyard-rules.yml "$SCRATCH/"
config=$SCRATCH/prometheus.yml
edit() {  # edit PATTERN REPLACEMENT: sed on the copy, which must change
  grep -q -- "$1" "$config" || die "deploy/prometheus/prometheus.yml has no '$1' to replace"
  sed -i "s|$1|$2|" "$config"
}
edit 'scrape_interval: 15s' 'scrape_interval: 1s'
edit 'evaluation_interval: 15s' 'evaluation_interval: 1s'
edit '"127.0.0.1:9090"' "\"127.0.0.1:$METRICS_PORT\""
"$PROMTOOL" check config "$config" >/dev/null || die "the test copy of prometheus.yml is invalid"

PROM_PORT=$(free_port)
PROM=http://127.0.0.1:$PROM_PORT
"$PROMETHEUS" --config.file="$config" --storage.tsdb.path="$SCRATCH/tsdb" \
  --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn 2>"$SCRATCH/prometheus.log" &
PROM_PID=$!
on_exit "kill -TERM $PROM_PID 2>/dev/null; wait $PROM_PID 2>/dev/null"

# http_get URL: the body (python3 rather than curl, which a bare Debian lacks).
http_get() {
  python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' "$1"
}
# value EXPR: the first sample's value of an instant query ("" if none).
value() {
  python3 - "$PROM" "$1" <<'PY'
import json, sys, urllib.parse, urllib.request
url = f"{sys.argv[1]}/api/v1/query?{urllib.parse.urlencode({'query': sys.argv[2]})}"
result = json.load(urllib.request.urlopen(url, timeout=10))["data"]["result"]
print(result[0]["value"][1] if result else "")
PY
}
deadline=$((SECONDS + 30))
until [[ $(value 'up{job="switchyard"}' 2>/dev/null) == 1 ]]; do
  ((SECONDS < deadline)) || { cat "$SCRATCH/prometheus.log" >&2; die "Prometheus did not scrape the server"; }
  sleep 0.5
done
pass "Prometheus scrapes the server (up == 1)"

# Calls that cannot finish in time (the whole context takes the demo model
# about 30 ms), before the load (which would refuse them). Whether the engine
# sees the deadline first or the client's reset reaches the server first, the
# server counts DEADLINE_EXCEEDED; a deadline that passes before the server
# reads the call (a busy machine) leaves gRPC to end it uncounted. Tried, with
# a few deadlines, until the server has counted one (it counts a moment after
# the client gave up).
deadline_exceeded() {
  [[ $(http_get "http://127.0.0.1:$METRICS_PORT/metrics") == *'code="DEADLINE_EXCEEDED"'* ]]
}
for timeout in 10 15 20 10 15 20 10 15 20 10 15 20 10 15 20; do
  "$CLI" generate --addr="$GRPC_ADDR" --prompt "The yard master" --max-tokens 500 --ignore-eos \
    --timeout="${timeout}ms" >/dev/null 2>&1 || true
  sleep 0.3
  deadline_exceeded && break
done
deadline_exceeded && pass "a call ended DEADLINE_EXCEEDED" || fail "no call ended DEADLINE_EXCEEDED in 15 tries"

# Load long enough for the rates: 20 s of 1 s scrapes. Five calls at a
# time for 2 running and 2 waiting places: the fifth is refused.
"$LOADGEN" --target="$GRPC_ADDR" --concurrency=5 --duration=20s --num-requests=0 --max-tokens=24 \
  >"$SCRATCH/loadgen.txt" 2>&1 &
LOAD_PID=$!
wait "$LOAD_PID" || true  # it exits 1 because some calls were refused, as intended
grep -q '^completed: *[1-9]' "$SCRATCH/loadgen.txt" && pass "the load completed requests" ||
  fail "the load completed nothing: $(cat "$SCRATCH/loadgen.txt")"
grep -q 'UNAVAILABLE' "$SCRATCH/loadgen.txt" && pass "the load was partly shed with UNAVAILABLE" ||
  fail "nothing was shed: $(cat "$SCRATCH/loadgen.txt")"
sleep 3  # the last scrape and rule evaluation

[[ $(value 'switchyard_engine_loaded') == 1 ]] && pass "switchyard_engine_loaded is 1" ||
  fail "switchyard_engine_loaded is '$(value switchyard_engine_loaded)'"
[[ $(value 'switchyard_engine_stalled_seconds') == 0 ]] && pass "switchyard_engine_stalled_seconds is 0 (idle)" ||
  fail "switchyard_engine_stalled_seconds is '$(value switchyard_engine_stalled_seconds)'"

# Grafana's values for the variables: this server, and a rate window of a
# few scrapes (Grafana: at least 4 scrape intervals).
vars=(--var job=switchyard --var "instance=127.0.0.1:$METRICS_PORT" --var __rate_interval=10s
      --var __interval=2s --var __range=1m)
facts "${QUERIES[@]}" --prometheus "$PROM" --rules --dashboard deploy/grafana/switchyard.json "${vars[@]}"

# The checker must catch a broken panel: a misspelled metric returns no data,
# a syntax error does not run. Exactly those two queries must fail.
python3 - deploy/grafana/switchyard.json "$SCRATCH/broken.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
panels = [p for p in d["panels"] if p.get("targets")]
panels[0]["targets"][0]["expr"] = "sum(up_misspelled{job=~\"$job\"})"
panels[1]["targets"][0]["expr"] = "sum(rate(switchyard_requests_total[$__rate_interval])"
json.dump(d, open(sys.argv[2], "w"))
PY
broken=$("${QUERIES[@]}" --prometheus "$PROM" --dashboard "$SCRATCH/broken.json" "${vars[@]}" | grep '^FAIL' || true)
log "the broken copy gave: $broken"
if [[ $(grep -c . <<<"$broken") == 2 && $broken == *"returns no data"* && $broken == *"does not run"* ]]; then
  pass "the checker fails a misspelled metric and a syntax error, and only those"
else
  fail "the checker did not catch the two broken queries exactly: $broken"
fi

finish
