"""Prints parts of the switchyard container of a rendered manifest, for
tests/deploy/kubernetes.sh to run them against a real server.

usage: k8s_container.py RENDERED.yaml args
           the container's args, one per line
       k8s_container.py RENDERED.yaml probe startupProbe|readinessProbe|livenessProbe
           "grpc" and the service asked for (an empty line for ""), or
           "exec" and the command, one item per line
"""
import sys

import yaml


def container(path):
    with open(path, encoding="utf-8") as f:
        for doc in yaml.safe_load_all(f):
            if doc and doc.get("kind") == "Deployment":
                for c in doc["spec"]["template"]["spec"]["containers"]:
                    if c["name"] == "switchyard":
                        return c
    sys.exit(f"{path}: no switchyard container")


def main(path, what, *rest):
    c = container(path)
    if what == "args":
        lines = c.get("args", [])
    elif what == "probe":
        probe = c[rest[0]]
        if "grpc" in probe:
            lines = ["grpc", probe["grpc"].get("service", "")]
        else:
            lines = ["exec"] + probe["exec"]["command"]
    else:
        sys.exit(f"unknown request {what}")
    print("\n".join(lines))


if __name__ == "__main__":
    main(*sys.argv[1:])
