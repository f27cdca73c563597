#!/usr/bin/env python3
"""Runs the Grafana dashboard's queries and the loaded rules' expressions
against a live Prometheus (tests/deploy/prometheus_live.sh). Prints one line
per checked fact, "PASS <what>" or "FAIL <what>: <why>", and exits 0; the
caller counts them.

What "works" means:
- Rules: Prometheus loaded them (/api/v1/rules), each with health "ok". A
  recording rule's expression returns at least one series. An alerting
  rule's expression must parse (it returns nothing until it fires), and the
  series it compares must exist: its expression must be `EXPR OP NUMBER`
  (OP a comparison), evaluated as `EXPR OP bool NUMBER`, which keeps every
  series of EXPR; or `absent(EXPR)`, where EXPR must return data.
- Dashboard: every panel but a row has at least one query, and every query,
  with Grafana's variables replaced ($job, $instance, $__rate_interval, ...),
  parses and returns at least one series. The job and instance variables'
  label_values() queries find the server.

Standard library only, so that it runs without the deploy venv.
"""
import argparse
import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

COMPARISON = re.compile(r"^(?P<lhs>.*\S)\s*(?P<op>==|!=|>=|<=|>|<)\s*(?P<num>-?[0-9.]+(?:e[+-]?[0-9]+)?)$", re.S)
ABSENT = re.compile(r"^absent\((?P<inner>.*)\)$", re.S)
LABEL_VALUES = re.compile(r"^label_values\((?P<match>.+),\s*(?P<label>\w+)\)$")
# A Grafana variable left in a query: $name or ${name}. (label_replace's "$1" is PromQL's own.)
LEFTOVER_VARIABLE = re.compile(r"\$(\{|[A-Za-z_])")


class Prometheus:
    def __init__(self, url: str):
        self.url = url.rstrip("/")

    def get(self, path: str, **params) -> dict:
        url = f"{self.url}{path}?{urllib.parse.urlencode(params, doseq=True)}"
        try:
            with urllib.request.urlopen(url, timeout=10) as reply:
                return json.load(reply)
        except urllib.error.HTTPError as e:  # a bad query is a 400 with a JSON body
            return json.load(e)

    def query(self, expr: str) -> tuple[list | None, str]:
        """The instant vector's series, or None and Prometheus' error."""
        reply = self.get("/api/v1/query", query=expr)
        if reply.get("status") != "success":
            return None, f'{reply.get("errorType")}: {reply.get("error")}'
        data = reply["data"]
        result = data["result"]
        if data["resultType"] == "scalar":
            result = [result]
        return result, ""


def report(ok: bool, what: str, why: str = "") -> None:
    print(f"PASS {what}" if ok else f"FAIL {what}: {why}", flush=True)


def check_returns_data(prom: Prometheus, what: str, expr: str) -> None:
    result, error = prom.query(expr)
    if result is None:
        report(False, what, f"does not run ({error}): {expr}")
    else:
        report(bool(result), what, f"returns no data: {expr}")


def check_rules(prom: Prometheus) -> None:
    reply = prom.get("/api/v1/rules")
    groups = reply.get("data", {}).get("groups", [])
    rules = [rule for group in groups for rule in group["rules"]]
    report(bool(rules), "rules are loaded", f"/api/v1/rules lists none: {reply}")
    for rule in rules:
        name = rule["name"]
        report(rule["health"] == "ok" and not rule.get("lastError"), f"rule {name} is healthy",
               f'health {rule["health"]}, last error {rule.get("lastError")!r}')
        expr = rule["query"].strip()
        if rule["type"] == "recording":
            check_returns_data(prom, f"recording rule {name} returns data", expr)
            continue
        result, error = prom.query(expr)
        report(result is not None, f"alert {name}'s expression parses", f"{error}: {expr}")
        if m := ABSENT.match(expr):
            inner = m["inner"]
        elif m := COMPARISON.match(expr):
            inner = f'{m["lhs"]} {m["op"]} bool {m["num"]}'
        else:
            report(False, f"alert {name}'s series exist", f"not EXPR OP NUMBER nor absent(EXPR): {expr}")
            continue
        check_returns_data(prom, f"alert {name}'s series exist", inner)


def substitute(expr: str, variables: dict[str, str]) -> str:
    # Longest names first: $__rate_interval before $__range and so on.
    for name in sorted(variables, key=len, reverse=True):
        expr = expr.replace("${" + name + "}", variables[name]).replace("$" + name, variables[name])
    return expr


def check_dashboard(prom: Prometheus, path: str, variables: dict[str, str]) -> None:
    with open(path, encoding="utf-8") as f:
        dashboard = json.load(f)
    panels = [p for p in dashboard["panels"] if p.get("type") != "row"]
    panels += [p for row in dashboard["panels"] for p in row.get("panels", [])]  # collapsed rows
    report(bool(panels), f"{path} has panels", "none")
    for panel in panels:
        title = panel.get("title", f'panel {panel.get("id")}')
        exprs = [t.get("expr", "") for t in panel.get("targets", [])]
        report(bool(exprs) and all(e.strip() for e in exprs), f'panel "{title}" has queries',
               f"targets {panel.get('targets')}")
        for expr in exprs:
            query = substitute(expr, variables)
            if LEFTOVER_VARIABLE.search(query):
                report(False, f'panel "{title}" query', f"an unknown Grafana variable is left in {query}")
                continue
            check_returns_data(prom, f'panel "{title}" query returns data', query)
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") != "query":
            continue
        m = LABEL_VALUES.match(substitute(variable["query"], variables))
        if not m:
            report(False, f'variable {variable["name"]}', f'not label_values(MATCH, LABEL): {variable["query"]}')
            continue
        reply = prom.get(f'/api/v1/label/{m["label"]}/values', **{"match[]": m["match"]})
        values = reply.get("data") or []
        report(variables.get(variable["name"]) in values, f'variable {variable["name"]} finds the server',
               f'{m["label"]} values {values}')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prometheus", required=True, help="base URL, e.g. http://127.0.0.1:9091")
    parser.add_argument("--dashboard", help="the dashboard JSON whose panels to query")
    parser.add_argument("--rules", action="store_true", help="check the loaded rules")
    parser.add_argument("--var", action="append", default=[], metavar="NAME=VALUE",
                        help="a Grafana variable's value (job, instance, __rate_interval, ...)")
    args = parser.parse_args()
    prom = Prometheus(args.prometheus)
    variables = dict(v.split("=", 1) for v in args.var)
    if args.rules:
        check_rules(prom)
    if args.dashboard:
        check_dashboard(prom, args.dashboard, variables)
    return 0


if __name__ == "__main__":
    sys.exit(main())
