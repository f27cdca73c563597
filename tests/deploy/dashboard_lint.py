#!/usr/bin/env python3
"""Offline checks of the Grafana dashboard and of the rule unit tests
(tests/deploy/prometheus_rules.sh). Prints "PASS <what>" or "FAIL <what>:
<why>" per fact and exits 0; the caller counts them.

  dashboard_lint.py dashboard DASHBOARD.json
      valid JSON; the datasource, job and instance variables; every panel but
      a row has a query, on the ${datasource} variable; every selector of a
      Switchyard series filters on $job and $instance.
  dashboard_lint.py rule-tests RULES.yml TEST.yml...
      every alert of RULES.yml is shown firing in some unit test
      (an `alertname:` whose `exp_alerts:` lists alerts) and not firing in
      some other (`exp_alerts: []`).

Standard library only: the files are read as text where YAML would need a
parser, which is enough for the two line shapes looked for.
"""
import json
import re
import sys

# A Switchyard series (raw or recorded) and its label matchers, if any.
SERIES = re.compile(r"[a-z0-9_:]*switchyard_[a-z0-9_:]+(?P<matchers>\{[^}]*\})?")
FILTER = 'job=~"$job", instance=~"$instance"'


def report(ok: bool, what: str, why: str = "") -> None:
    print(f"PASS {what}" if ok else f"FAIL {what}: {why}")


def lint_dashboard(path: str) -> None:
    try:
        with open(path, encoding="utf-8") as f:
            dashboard = json.load(f)
    except (OSError, ValueError) as e:
        report(False, f"{path} is valid JSON", str(e))
        return
    report(True, f"{path} is valid JSON")
    variables = {v["name"]: v for v in dashboard.get("templating", {}).get("list", [])}
    report(variables.get("datasource", {}).get("type") == "datasource", "a datasource variable", str(variables))
    for name in ("job", "instance"):
        report(variables.get(name, {}).get("type") == "query", f"a {name} variable", str(variables.get(name)))
    panels = [p for p in dashboard.get("panels", []) if p.get("type") != "row"]
    panels += [p for row in dashboard.get("panels", []) for p in row.get("panels", [])]
    report(len(panels) > 0, "the dashboard has panels", "none")
    for panel in panels:
        title = panel.get("title", f'panel {panel.get("id")}')
        targets = panel.get("targets", [])
        exprs = [t.get("expr", "").strip() for t in targets]
        report(bool(exprs) and all(exprs), f'panel "{title}" has a query', f"targets: {targets}")
        sources = [panel.get("datasource")] + [t.get("datasource") for t in targets]
        report(all(s and s.get("uid") == "${datasource}" for s in sources),
               f'panel "{title}" uses the datasource variable', str(sources))
        for expr in exprs:
            unfiltered = [m.group(0) for m in SERIES.finditer(expr)
                          if FILTER not in (m.group("matchers") or "")]
            report(not unfiltered, f'panel "{title}" filters on $job and $instance', f"{unfiltered} in {expr}")


def lint_rule_tests(rules_path: str, test_paths: list[str]) -> None:
    with open(rules_path, encoding="utf-8") as f:
        alerts = re.findall(r"^\s*- alert:\s*(\S+)", f.read(), re.M)
    report(bool(alerts), f"{rules_path} has alerts", "none")
    firing, quiet = set(), set()
    for path in test_paths:
        current = None
        with open(path, encoding="utf-8") as f:
            for line in f:
                if m := re.match(r"^\s*(?:- )?alertname:\s*(\S+)", line):
                    current = m.group(1)
                elif m := re.match(r"^\s*exp_alerts:\s*(\S*)", line):
                    (quiet if m.group(1) == "[]" else firing).add(current)
    for alert in alerts:
        report(alert in firing, f"alert {alert} has a test where it fires", "no exp_alerts with an alert")
        report(alert in quiet, f"alert {alert} has a test where it does not fire", "no exp_alerts: []")


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "dashboard":
        lint_dashboard(sys.argv[2])
    elif len(sys.argv) >= 4 and sys.argv[1] == "rule-tests":
        lint_rule_tests(sys.argv[2], sys.argv[3:])
    else:
        sys.exit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main())
