"""Facts about a rendered Switchyard Kubernetes variant that no schema or
generic policy checks: the shutdown timing adds up, the probes ask the
server's health services on its gRPC port, Services, budget and policy
select the pods, and the autoscaler scales on metrics that the server
exports and prometheus-adapter serves.

usage: check_k8s_manifests.py --metrics-source server/service/metrics.cc \
           --adapter-values deploy/kubernetes/prometheus-adapter/values.yaml RENDERED.yaml...
Prints each failed fact and exits 1 when any failed.
"""
import argparse
import re
import sys

import yaml

HEALTH_SERVICES = {"", "switchyard.v1.Switchyard"}
# Native gRPC probes do not speak TLS; the tls component runs the CLI instead.
CLI_PROBE_PREFIX = ["switchyard-cli", "health"]
MARGIN_SECONDS = 10  # for the last responses and the exit, beyond preStop + drain


def duration_seconds(text):
    """An absl duration flag value (30s, 1m30s, 500ms, 2h) in seconds."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {text!r}")
    return sum(float(n) * units[u] for n, u in parts)


def flag(args, name):
    """The last value of --name=value in args (absl keeps the last), or None."""
    values = [a.split("=", 1)[1] for a in args if a.startswith(f"--{name}=")]
    return values[-1] if values else None


def selects(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


class Checker:
    def __init__(self, name, docs, exported_metrics, adapter_metrics):
        self.name = name
        self.docs = docs
        self.exported = exported_metrics
        self.adapter = adapter_metrics
        self.errors = []

    def expect(self, fact, message):
        if not fact:
            self.errors.append(f"{self.name}: {message}")

    def of_kind(self, kind):
        return [d for d in self.docs if d.get("kind") == kind]

    def check(self):
        deployments = self.of_kind("Deployment")
        self.expect(len(deployments) == 1, f"expected one Deployment, found {len(deployments)}")
        if len(deployments) != 1:
            return self.errors
        dep = deployments[0]
        pod = dep["spec"]["template"]
        labels = pod["metadata"]["labels"]
        self.expect(selects(dep["spec"]["selector"]["matchLabels"], labels), "Deployment selector misses its pods")
        spec = pod["spec"]
        containers = [c for c in spec["containers"] if c["name"] == "switchyard"]
        self.expect(len(containers) == 1, "no container named switchyard")
        if not containers:
            return self.errors
        c = containers[0]
        args = c.get("args", [])
        self.check_ports(c, args)
        self.check_shutdown(spec, c, args)
        self.check_probes(c, args)
        self.check_files(spec, c, args)
        self.check_selectors(labels)
        self.check_autoscaler(dep)
        self.check_namespace(dep)
        return self.errors

    def check_namespace(self, dep):
        """Everything in the Deployment's namespace, which the render creates
        (a resource without one would land wherever kubectl points)."""
        ns = dep["metadata"].get("namespace")
        self.expect(ns, "the Deployment has no namespace")
        names = [d["metadata"]["name"] for d in self.of_kind("Namespace")]
        self.expect(names == [ns], f"Namespace objects {names}, expected [{ns}]")
        for d in self.docs:
            if d["kind"] != "Namespace":
                self.expect(d["metadata"].get("namespace") == ns,
                            f"{d['kind']}/{d['metadata']['name']} is not in namespace {ns}")

    def check_ports(self, c, args):
        ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
        self.expect(str(ports.get("grpc")) == flag(args, "port"), f"port grpc {ports.get('grpc')} != --port")
        self.expect(str(ports.get("metrics")) == flag(args, "metrics-port"),
                    f"port metrics {ports.get('metrics')} != --metrics-port")
        self.expect(flag(args, "host") == "0.0.0.0", "--host=0.0.0.0 missing: probes and Services could not connect")

    def check_shutdown(self, spec, c, args):
        drain = duration_seconds(flag(args, "drain-timeout") or "30s")
        pre_stop = c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
        grace = spec.get("terminationGracePeriodSeconds", 30)
        self.expect(pre_stop > 0, "no preStop sleep: endpoints would still route to a draining pod")
        self.expect(grace >= pre_stop + drain + MARGIN_SECONDS,
                    f"terminationGracePeriodSeconds {grace} < preStop {pre_stop} + drain {drain:g} + {MARGIN_SECONDS}")

    def probe_service(self, probe, args):
        """The health service a probe asks for, or None when it asks nothing valid."""
        if "grpc" in probe:
            self.expect(str(probe["grpc"].get("port")) == flag(args, "port"), "a gRPC probe misses --port")
            return probe["grpc"].get("service", "")
        command = probe.get("exec", {}).get("command", [])
        if command[:2] != CLI_PROBE_PREFIX:
            return None
        self.expect(flag(command, "addr") == f"127.0.0.1:{flag(args, 'port')}", "a CLI probe misses --port")
        tls_on = flag(args, "tls-cert-file") is not None
        self.expect(tls_on == (flag(command, "tls-ca-file") is not None), "a CLI probe's TLS differs from the server's")
        mtls_on = flag(args, "tls-client-ca-file") is not None
        self.expect(mtls_on == (flag(command, "tls-cert-file") is not None),
                    "a CLI probe's client certificate differs from the server's mutual TLS")
        return flag(command, "service") or ""

    def check_probes(self, c, args):
        services = {}
        for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
            probe = c.get(kind)
            self.expect(probe is not None, f"no {kind}")
            if probe is None:
                continue
            services[kind] = self.probe_service(probe, args)
            self.expect(services[kind] in HEALTH_SERVICES, f"{kind} asks for no health service of the server")
        if "readinessProbe" in c:
            r = c["readinessProbe"]
            # Readiness must fail soon after SIGTERM, within the preStop sleep
            # plus a little of the drain, for the pod to leave the endpoints.
            self.expect(r.get("periodSeconds", 10) * r.get("failureThreshold", 3) <= 15,
                        "readiness notices a drain later than 15s")
        if "livenessProbe" in c:
            lv = c["livenessProbe"]
            # A liveness probe as quick as readiness would restart a pod that is
            # merely slow; it waits for the watchdog, plus some failures.
            self.expect(lv.get("periodSeconds", 10) * lv.get("failureThreshold", 3) >= 20,
                        "liveness restarts after less than 20s of NOT_SERVING")

    def check_files(self, spec, c, args):
        mounts = {m["mountPath"]: m for m in c.get("volumeMounts", [])}
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        self.expect(c["securityContext"].get("readOnlyRootFilesystem") is True, "root filesystem not read-only")
        tmp = mounts.get("/tmp")
        self.expect(tmp is not None and "emptyDir" in volumes.get(tmp["name"], {}), "no emptyDir at /tmp")
        for m in mounts.values():
            self.expect(m["name"] in volumes, f"mount {m['mountPath']} has no volume")
            if m["mountPath"] != "/tmp":
                self.expect(m.get("readOnly") is True, f"{m['mountPath']} is mounted writable")
        # Every file flag points into a mounted volume, at a file the volume holds.
        for name in ("model", "tls-cert-file", "tls-key-file", "tls-client-ca-file", "api-key-file"):
            path = flag(args, name)
            if path is None:
                continue
            owner = [p for p in mounts if path.startswith(p.rstrip("/") + "/")]
            self.expect(owner, f"--{name}={path} is in no mounted volume")
            if not owner:
                continue
            volume = volumes.get(mounts[owner[0]]["name"], {})
            items = volume.get("secret", {}).get("items")
            if items is not None:
                rel = path[len(owner[0].rstrip("/")) + 1:]
                self.expect(rel in [i["path"] for i in items], f"--{name}={path}: the Secret volume has no {rel}")

    def check_selectors(self, labels):
        for svc in self.of_kind("Service"):
            self.expect(selects(svc["spec"]["selector"], labels), f"Service {svc['metadata']['name']} misses the pods")
        for pdb in self.of_kind("PodDisruptionBudget"):
            self.expect(selects(pdb["spec"]["selector"]["matchLabels"], labels), "PodDisruptionBudget misses the pods")
        for np in self.of_kind("NetworkPolicy"):
            self.expect(selects(np["spec"]["podSelector"]["matchLabels"], labels), "NetworkPolicy misses the pods")
        for pm in self.of_kind("PodMonitor"):
            self.expect(selects(pm["spec"]["selector"]["matchLabels"], labels), "PodMonitor misses the pods")

    def check_autoscaler(self, dep):
        hpas = self.of_kind("HorizontalPodAutoscaler")
        if not hpas:
            return
        self.expect("replicas" not in dep["spec"], "the autoscaler and the Deployment both set replicas")
        for hpa in hpas:
            ref = hpa["spec"]["scaleTargetRef"]
            self.expect((ref["kind"], ref["name"]) == ("Deployment", dep["metadata"]["name"]),
                        "the autoscaler scales something else")
            for m in hpa["spec"]["metrics"]:
                self.expect(m["type"] == "Pods", f"metric of type {m['type']}: per-pod custom metrics expected")
                name = m.get("pods", {}).get("metric", {}).get("name")
                self.expect(name in self.adapter, f"metric {name} is not served by the prometheus-adapter rules")
                source = self.adapter.get(name)
                self.expect(source in self.exported, f"metric {name} comes from {source}, which the server does not export")


def adapter_metrics(path):
    """{name served by the custom metrics API: the server metric it comes from}."""
    with open(path, encoding="utf-8") as f:
        values = yaml.safe_load(f)
    out = {}
    for rule in values["rules"]["custom"]:
        series = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", rule["seriesQuery"]).group(0)
        as_name = rule.get("name", {}).get("as") or series
        overrides = rule.get("resources", {}).get("overrides", {})
        # Per-pod metrics need the series' pod and namespace labels mapped.
        if overrides.get("pod", {}).get("resource") == "pod" and overrides.get("namespace", {}).get("resource") == "namespace":
            out[as_name] = series
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--metrics-source", required=True)
    parser.add_argument("--adapter-values", required=True)
    parser.add_argument("rendered", nargs="+")
    a = parser.parse_args()
    with open(a.metrics_source, encoding="utf-8") as f:
        exported = set(re.findall(r'"(switchyard_[a-z0-9_]+)"', f.read()))
    adapter = adapter_metrics(a.adapter_values)
    errors = []
    for path in a.rendered:
        with open(path, encoding="utf-8") as f:
            docs = [d for d in yaml.safe_load_all(f) if d]
        errors += Checker(path, docs, exported, adapter).check()
    for e in errors:
        print(e)
    print(f"{len(a.rendered)} variants checked, {len(errors)} problems")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
