#!/usr/bin/env python3
"""Writes deploy/grafana/switchyard.json, Switchyard's Grafana dashboard, and
deploy/kubernetes/monitoring/grafana-dashboard-configmap.yaml, the same
dashboard as a ConfigMap for Grafana's dashboard sidecar.

Built with grafana-foundation-sdk (deploy/requirements.txt pins its Grafana 11
build): typed builders whose output follows Grafana's own schema, so a panel
option cannot be misspelled into a field Grafana ignores.

  make_dashboard.py           rewrite both files
  make_dashboard.py --check   exit 1, with a diff, if either is out of date

Every query filters on the dashboard's $job and $instance variables; rates use
$__rate_interval, which Grafana sets from the data source's scrape interval.
Thresholds drawn on the panels are the alerts' (deploy/prometheus/
switchyard-rules.yml): change them in both places.
"""
import argparse
import difflib
import json
import pathlib
import sys

from grafana_foundation_sdk.builders import common as common_builder
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import gauge, heatmap, prometheus, stat, table, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models import heatmap as heatmap_model
from grafana_foundation_sdk.models import prometheus as prometheus_model

HERE = pathlib.Path(__file__).resolve().parent
DASHBOARD_JSON = HERE / "switchyard.json"
CONFIGMAP = HERE.parent / "kubernetes" / "monitoring" / "grafana-dashboard-configmap.yaml"

DATASOURCE = model.DataSourceRef(type_val="prometheus", uid="${datasource}")
SEL = 'job=~"$job", instance=~"$instance"'
# Health checks (KServe's ServerLive, ServerReady and ModelReady too) and
# reflection would swamp the API's calls; as in the rules' recorded rates.
API_CALLS = (f'switchyard_requests_total{{{SEL}, '
             f'rpc!~"Check|Watch|ServerReflectionInfo|ServerLive|ServerReady|ModelReady"}}')

# The alerts' thresholds, drawn on the panels that show their series.
TTFT_OBJECTIVE_S = 2.5
INTER_TOKEN_OBJECTIVE_S = 0.1
KV_NEAR_FULL = 0.95
ERROR_RATIO = 0.05
IMBALANCE = 2


def query(expr: str, legend: str, ref: str = "A", instant: bool = False) -> prometheus.Dataquery:
    q = prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(ref).datasource(DATASOURCE)
    return q.instant() if instant else q.range()


def quantile(q: float, histogram: str, by: str = "le") -> str:
    return (f"histogram_quantile({q}, sum by ({by}) "
            f"(rate({histogram}_bucket{{{SEL}}}[$__rate_interval])))")


def thresholds(*steps: tuple[float | None, str]) -> dash.ThresholdsConfig:
    return (dash.ThresholdsConfig().mode(model.ThresholdsMode.ABSOLUTE)
            .steps([model.Threshold(value=v, color=c) for v, c in steps]))


def graph(title: str, description: str, unit: str, targets: list, limit: float | None = None):
    """A time series panel; `limit` draws the alert's threshold as a dashed line."""
    panel = (timeseries.Panel().title(title).description(description).datasource(DATASOURCE)
             .unit(unit).height(8).span(12).fill_opacity(10).line_width(1).targets(targets)
             .legend(common_builder.VizLegendOptions().display_mode(common.LegendDisplayMode.LIST)
                     .placement(common.LegendPlacement.BOTTOM).show_legend(True)))
    if limit is not None:
        panel = (panel.thresholds(thresholds((None, "transparent"), (limit, "red")))
                 .thresholds_style(common_builder.GraphThresholdsStyleConfig()
                                   .mode(common.GraphThresholdsStyleMode.DASHED)))
    return panel


def percentiles(title: str, description: str, histogram: str, limit: float | None = None,
                recorded_p99: str | None = None):
    targets = [query(quantile(q, histogram), f"p{round(q * 100)}", ref)
               for q, ref in ((0.5, "A"), (0.9, "B"), (0.99, "C"))]
    if recorded_p99:
        # The series the alert compares with its objective (per instance, 5m).
        targets.append(query(f"{recorded_p99}{{{SEL}}}", "p99 5m {{instance}} (alert)", "D"))
    return graph(title, description, "s", targets, limit)


def stat_panel(title: str, description: str, expr: str, unit: str, steps, span: int = 6):
    return (stat.Panel().title(title).description(description).datasource(DATASOURCE).unit(unit)
            .height(4).span(span).thresholds(thresholds(*steps))
            .color_mode(common.BigValueColorMode.BACKGROUND)
            .reduce_options(common_builder.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
            .with_target(query(expr, "{{instance}}", instant=True)))


def padded(label: str, expr: str) -> str:
    """Zero-pads a numeric label to three digits, so that layers and experts
    sort as numbers (2 before 10) in the heat maps; "all" stays as it is."""
    once = f'label_replace({expr}, "{label}", "00$1", "{label}", "([0-9])")'
    return f'label_replace({once}, "{label}", "0$1", "{label}", "([0-9][0-9])")'


def expert_rate() -> str:
    rate = f"sum by (layer, expert) (rate(switchyard_expert_tokens_total{{{SEL}}}[$__rate_interval]))"
    return padded("expert", padded("layer", rate))


def overview_row(d: dash.Dashboard) -> dash.Dashboard:
    return (d.with_row(dash.Row("Overview"))
            .with_panel(stat_panel("Servers up", "Targets scraped successfully.",
                                   f"sum(up{{{SEL}}})", "none", [(None, "red"), (1, "green")]))
            .with_panel(stat_panel("Model loaded", "1 once the model is loaded and warmed up (health can be SERVING).",
                                   f"switchyard_engine_loaded{{{SEL}}}", "none",
                                   [(None, "red"), (1, "green")]))
            .with_panel(stat_panel("Engine stalled for",
                                   "How long the engine has had work but finished no step. The watchdog turns "
                                   "health NOT_SERVING at --watchdog-timeout (60 s by default).",
                                   f"max(switchyard_engine_stalled_seconds{{{SEL}}})", "s",
                                   [(None, "green"), (10, "orange"), (60, "red")]))
            .with_panel(stat_panel("Firing alerts", "Switchyard alerts firing now (deploy/prometheus).",
                                   'count(ALERTS{alertname=~"Switchyard.*", alertstate="firing"}) or vector(0)',
                                   "none", [(None, "green"), (1, "red")])))


def requests_row(d: dash.Dashboard) -> dash.Dashboard:
    by_code = f"sum by (rpc, code) (rate({API_CALLS}[$__rate_interval]))"
    failed_calls = API_CALLS.replace("}", ', code!="OK"}')
    errors = (f"sum by (code) (rate({failed_calls}[$__rate_interval]))"
              f" / ignoring (code) group_left sum(rate({API_CALLS}[$__rate_interval]))")
    return (d.with_row(dash.Row("Requests"))
            .with_panel(graph("Requests by RPC and code", "API calls ended per second (health checks left out).",
                              "reqps", [query(by_code, "{{rpc}} {{code}}")]))
            .with_panel(graph("Errors by code", "Share of the API calls that ended with each code other than OK. "
                              "The error alert fires above the dashed line for UNKNOWN, INTERNAL, DATA_LOSS and "
                              "DEADLINE_EXCEEDED; UNAVAILABLE (shedding) above 1%.",
                              "percentunit", [query(errors, "{{code}}")], ERROR_RATIO)))


def latency_row(d: dash.Dashboard) -> dash.Dashboard:
    return (d.with_row(dash.Row("Latency"))
            .with_panel(percentiles("Time to first token", "From receiving a generate call to its first token; "
                                    "the dashed line is the alert's objective.",
                                    "switchyard_time_to_first_token_seconds", TTFT_OBJECTIVE_S,
                                    "instance:switchyard_time_to_first_token_seconds:p99_5m"))
            .with_panel(percentiles("Inter-token latency", "Between consecutive tokens of a request; "
                                    "the dashed line is the alert's objective.",
                                    "switchyard_inter_token_latency_seconds", INTER_TOKEN_OBJECTIVE_S,
                                    "instance:switchyard_inter_token_latency_seconds:p99_5m"))
            .with_panel(percentiles("End-to-end latency", "From receiving a generate call to its last token.",
                                    "switchyard_e2e_request_latency_seconds"))
            .with_panel(percentiles("Queue time", "From receiving a generate call until the engine took it.",
                                    "switchyard_queue_time_seconds")))


def engine_row(d: dash.Dashboard) -> dash.Dashboard:
    return (d.with_row(dash.Row("Engine"))
            .with_panel(graph("Running and waiting requests",
                              "Requests generating now, and waiting for KV-cache admission.", "none",
                              [query(f"sum(switchyard_num_requests_running{{{SEL}}})", "running", "A"),
                               query(f"sum(switchyard_num_requests_waiting{{{SEL}}})", "waiting", "B")]))
            .with_panel(graph("KV-cache use", "Used KV-cache blocks over all blocks, per server.", "percentunit",
                              [query(f"switchyard_kv_cache_usage_ratio{{{SEL}}}", "{{instance}}")],
                              KV_NEAR_FULL).min(0).max(1))
            .with_panel(graph("Tokens per second", "Prompt tokens accepted and tokens generated.", "short",
                              [query(f"sum(rate(switchyard_prompt_tokens_total{{{SEL}}}[$__rate_interval]))",
                                     "prompt", "A"),
                               query(f"sum(rate(switchyard_generated_tokens_total{{{SEL}}}[$__rate_interval]))",
                                     "generated", "B")]))
            .with_panel(graph("Preemptions", "Sequences preempted per second to free KV-cache blocks "
                              "(they recompute their prompt later).", "short",
                              [query(f"sum by (instance) (rate(switchyard_preemptions_total{{{SEL}}}"
                                     "[$__rate_interval]))", "{{instance}}")]))
            .with_panel(graph("Step time", "Wall time of each engine step (one batched forward pass).", "s",
                              [query(quantile(0.5, "switchyard_step_duration_seconds"), "p50", "A"),
                               query(quantile(0.99, "switchyard_step_duration_seconds"), "p99", "B")]))
            .with_panel(graph("Tokens per step and per request",
                              "Tokens (prefill chunks and decodes) batched into each step, and the "
                              "median prompt and generated tokens of a request.", "short",
                              [query(quantile(0.5, "switchyard_step_tokens"), "per step p50", "A"),
                               query(quantile(0.5, "switchyard_request_prompt_tokens"), "prompt p50", "B"),
                               query(quantile(0.5, "switchyard_request_generated_tokens"), "generated p50",
                                     "C")])))


def experts_row(d: dash.Dashboard) -> dash.Dashboard:
    matrix = (table.Panel().title("Expert load: tokens routed per second, layer × expert")
              .description("Rows are layers, columns experts (layer \"all\": summed over layers, when the "
                           "model has more layers × experts than --max-expert-series). A hot cell is an "
                           "expert the router favours.")
              .datasource(DATASOURCE).height(10).span(12).unit("short").decimals(1)
              .color_scheme(dash.FieldColor().mode(model.FieldColorModeId.CONTINUOUS_YL_RD))
              .cell_options(common.TableColoredBackgroundCellOptions(
                  mode=common.TableCellBackgroundDisplayMode.GRADIENT))
              .with_target(query(expert_rate(), "", instant=True).format(prometheus_model.PromQueryFormat.TABLE))
              .with_transformation(model.DataTransformerConfig(
                  id_val="groupingToMatrix",
                  options={"rowField": "layer", "columnField": "expert", "valueField": "Value",
                           "emptyValue": "zero"})))
    imbalance = f"max by (layer) (switchyard_expert_imbalance_ratio{{{SEL}}})"
    gauges = (gauge.Panel().title("Expert imbalance per layer (max / mean)")
              .description("Tokens of the busiest expert over the mean per expert, over the server's "
                           "--expert-load-window: 1 is balanced, 0 idle. The alert fires above "
                           f"{IMBALANCE} for 15 minutes.")
              .datasource(DATASOURCE).height(10).span(12).unit("none").decimals(2).min(0).max(4)
              .thresholds(thresholds((None, "green"), (1.5, "orange"), (IMBALANCE, "red")))
              .reduce_options(common_builder.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
              .with_target(query(imbalance, "layer {{layer}}", instant=True)))
    over_time = (heatmap.Panel().title("Expert load over time")
                 .description("Tokens routed per second to each expert of each layer (one row each).")
                 .datasource(DATASOURCE).height(10).span(12).calculate(False)
                 .color(heatmap.HeatmapColorOptions().mode(heatmap_model.HeatmapColorMode.SCHEME)
                        .scheme("Oranges").scale(heatmap_model.HeatmapColorScale.EXPONENTIAL)
                        .exponent(0.5).steps(64))
                 .rows_frame(heatmap.RowsHeatmapOptions().layout(common.HeatmapCellLayout.UNKNOWN))
                 .cell_values(heatmap.CellValues().unit("short"))
                 .with_target(query(expert_rate(), "L{{layer}} E{{expert}}")))
    return (d.with_row(dash.Row("Mixture of experts"))
            .with_panel(matrix)
            .with_panel(gauges)
            .with_panel(over_time)
            .with_panel(graph("Expert imbalance over time", "Max over mean tokens per expert, per layer; "
                              "the dashed line is the alert's threshold.", "none",
                              [query(imbalance, "layer {{layer}}")], IMBALANCE).height(10)))


def prefix_cache_row(d: dash.Dashboard) -> dash.Dashboard:
    def per_instance_rate(counter: str) -> str:
        return f"sum by (instance) (rate({counter}{{{SEL}}}[$__rate_interval]))"
    # Counters in tokens, so that the ratio of their rates is the share of
    # prompt tokens served from the cache over any window.
    hit_rate = (f"{per_instance_rate('switchyard_prefix_cache_hits_tokens_total')}"
                f" / {per_instance_rate('switchyard_prefix_cache_queries_tokens_total')}")
    return (d.with_row(dash.Row("Prefix cache"))
            .with_panel(graph("Prefix cache hit rate",
                              "Share of the prompt tokens looked up at admission whose KV came from the "
                              "prefix cache instead of being computed (no data while no request is admitted; "
                              "0 with --no-prefix-caching).", "percentunit",
                              [query(hit_rate, "{{instance}}")]).min(0).max(1))
            .with_panel(graph("Cached KV-cache blocks",
                              "Blocks holding a cached prompt prefix, and of those the evictable ones: no "
                              "request uses them, so they count as free and are reused last.", "short",
                              [query(f"switchyard_kv_blocks_cached{{{SEL}}}", "cached {{instance}}", "A"),
                               query(f"switchyard_kv_blocks_evictable{{{SEL}}}", "evictable {{instance}}",
                                     "B")]).min(0)))


def build() -> dict:
    d = (dash.Dashboard("Switchyard").uid("switchyard")
         .description("Switchyard MoE inference servers: traffic, latency, engine, KV cache, expert load, "
                      "prefix cache.")
         .tags(["switchyard", "inference", "moe"]).editable().refresh("30s").time("now-1h", "now")
         .tooltip(model.DashboardCursorSync.CROSSHAIR)
         .with_variable(dash.DatasourceVariable("datasource").label("Data source").type("prometheus"))
         .with_variable(dash.QueryVariable("job").label("Job").datasource(DATASOURCE)
                        .query("label_values(switchyard_engine_steps_total, job)")
                        .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
                        .include_all(True).all_value(".*").multi(True).sort(model.VariableSort.ALPHABETICAL_ASC))
         .with_variable(dash.QueryVariable("instance").label("Instance").datasource(DATASOURCE)
                        .query('label_values(switchyard_engine_steps_total{job=~"$job"}, instance)')
                        .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
                        .include_all(True).all_value(".*").multi(True).sort(model.VariableSort.ALPHABETICAL_ASC)))
    # New rows go last: panel ids follow the order (below).
    for row in (overview_row, requests_row, latency_row, engine_row, experts_row, prefix_cache_row):
        d = row(d)
    built = json.loads(json.dumps(d.build(), cls=JSONEncoder))
    # Stable panel ids, so that links to a panel (viewPanel=N) survive a regeneration.
    for number, panel in enumerate(built["panels"], start=1):
        panel["id"] = number
    return built


def dashboard_json(dashboard: dict) -> str:
    return json.dumps(dashboard, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def configmap_yaml(dashboard: dict) -> str:
    # JSON inside a literal block scalar is YAML as it stands: no quoting.
    body = "".join(f"    {line}\n" for line in dashboard_json(dashboard).splitlines())
    return (
        "# Generated by deploy/grafana/make_dashboard.py: edit that script, then run it.\n"
        "# The dashboard for Grafana's sidecar (kube-prometheus-stack loads every\n"
        "# ConfigMap labelled grafana_dashboard=\"1\").\n"
        "# The JSON's PromQL strings cannot be broken across lines:\n"
        "# yamllint disable rule:line-length\n"
        "apiVersion: v1\n"
        "kind: ConfigMap\n"
        "metadata:\n"
        "  name: switchyard-grafana-dashboard\n"
        "  labels:\n"
        "    app.kubernetes.io/name: switchyard\n"
        "    app.kubernetes.io/instance: switchyard\n"
        "    app.kubernetes.io/part-of: switchyard\n"
        '    grafana_dashboard: "1"\n'
        "data:\n"
        "  switchyard.json: |\n" + body)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 if out of date")
    args = parser.parse_args()
    dashboard = build()
    outputs = {DASHBOARD_JSON: dashboard_json(dashboard), CONFIGMAP: configmap_yaml(dashboard)}
    stale = 0
    for path, want in outputs.items():
        if not args.check:
            path.write_text(want, encoding="utf-8")
            continue
        have = path.read_text(encoding="utf-8") if path.exists() else ""
        if have != want:
            sys.stdout.writelines(difflib.unified_diff(
                have.splitlines(True), want.splitlines(True), str(path), "regenerated"))
            print(f"{path} is out of date: run {pathlib.Path(__file__).name}", file=sys.stderr)
            stale = 1
    return stale


if __name__ == "__main__":
    sys.exit(main())
