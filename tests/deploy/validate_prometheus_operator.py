"""Validates Prometheus Operator resources (PodMonitor, ServiceMonitor,
PrometheusRule, ...) in rendered manifests against the operator's CRD
schemas, which kubernetes-validate does not know.

The schemas come as pydantic models (PyPI cloudcoil-models-prometheus-operator,
generated from the operator's CRDs). Those models ignore fields they do not
know, so on top of the models' own checks this compares every document with
what the model kept: a field the schema does not have (a typo, a field at
the wrong level) is an error, as with `kubernetes-validate --strict`.

usage: validate_prometheus_operator.py FILE...   (multi-document YAML)
Prints one line per resource checked and exits 1 on any error, or when no
operator resource was found at all (a render that lost them is a failure).
"""
import sys

import pydantic
import yaml
from cloudcoil.models.prometheus_operator import v1, v1alpha1

GROUP = "monitoring.coreos.com"
MODULES = {f"{GROUP}/v1": v1, f"{GROUP}/v1alpha1": v1alpha1}


def unknown_fields(given, kept, path):
    """Paths in `given` (the document) that the validated model dropped."""
    if isinstance(given, dict):
        if not isinstance(kept, dict):
            return [path or "/"]
        out = []
        for key, value in given.items():
            if key not in kept:
                out.append(f"{path}/{key}")
            else:
                out.extend(unknown_fields(value, kept[key], f"{path}/{key}"))
        return out
    if isinstance(given, list) and isinstance(kept, list):
        out = []
        for i, (g, k) in enumerate(zip(given, kept)):
            out.extend(unknown_fields(g, k, f"{path}/{i}"))
        return out
    return []


def validate(doc):
    """Errors of one operator resource (empty when it is valid)."""
    module = MODULES.get(doc.get("apiVersion"))
    model = getattr(module, doc.get("kind", ""), None) if module else None
    if model is None:
        return [f"no schema for {doc.get('apiVersion')} {doc.get('kind')}"]
    try:
        obj = model.model_validate(doc)
    except pydantic.ValidationError as e:
        return [str(e)]
    kept = obj.model_dump(by_alias=True, exclude_unset=True, mode="json")
    return [f"unknown field {p}" for p in unknown_fields(doc, kept, "")]


def main(paths):
    checked = failed = 0
    for path in paths:
        with open(path, encoding="utf-8") as f:
            docs = [d for d in yaml.safe_load_all(f) if d]
        for doc in docs:
            if not str(doc.get("apiVersion", "")).startswith(GROUP + "/"):
                continue
            checked += 1
            name = f"{path}: {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
            errors = validate(doc)
            if errors:
                failed += 1
                print(f"INVALID {name}")
                for error in errors:
                    print(f"  {error}")
            else:
                print(f"valid {name}")
    if checked == 0:
        print(f"no {GROUP} resources in {' '.join(paths)}")
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
