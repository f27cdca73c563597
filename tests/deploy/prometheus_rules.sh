#!/usr/bin/env bash
# The Prometheus configuration, rules and Grafana dashboard, offline:
# promtool checks the scrape config and the rules and runs the rules' unit
# tests (deploy/prometheus/tests), each alert having a test where it fires
# and one where it does not; the generated PrometheusRule and dashboard are
# what their generators make now; the dashboard is valid, every panel has a
# query on the datasource variable filtered by $job and $instance.
# prometheus_live.sh runs all of it against a real Prometheus.
source "$(dirname "$0")/lib.sh"

PROMTOOL=$(command -v promtool) || die "promtool is missing: apt-get install prometheus"
PYTHON=$(venv_tool python)

# check WHAT COMMAND...: one fact, shown with the command's output on failure.
check() {
  local what=$1 out
  shift
  if out=$("$@" 2>&1); then pass "$what"; else fail "$what:"$'\n'"$out"; fi
}

check "promtool check config deploy/prometheus/prometheus.yml" \
  "$PROMTOOL" check config deploy/prometheus/prometheus.yml
check "promtool check rules deploy/prometheus/switchyard-rules.yml" \
  "$PROMTOOL" check rules deploy/prometheus/switchyard-rules.yml
check "promtool test rules deploy/prometheus/tests/*.yml" \
  "$PROMTOOL" test rules deploy/prometheus/tests/*.yml
facts python3 tests/deploy/dashboard_lint.py rule-tests deploy/prometheus/switchyard-rules.yml \
  deploy/prometheus/tests/*.yml

check "deploy/kubernetes/monitoring/prometheusrule.yaml is up to date with the rules" \
  python3 deploy/prometheus/make_prometheusrule.py --check
check "deploy/grafana/switchyard.json and its ConfigMap are up to date with make_dashboard.py" \
  "$PYTHON" deploy/grafana/make_dashboard.py --check
facts python3 tests/deploy/dashboard_lint.py dashboard deploy/grafana/switchyard.json

finish
