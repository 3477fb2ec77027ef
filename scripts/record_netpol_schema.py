"""Record which fields the NetworkPolicy v1 schema knows into app/data/networkpolicy-v1-fields.json.

The field tree comes from the OpenAPI (JSON schema) of the newest Kubernetes the chart supports, as
shipped offline by the kubernetes-validate package (a test dependency; the server and `check` only read
the recorded JSON):

    .venv/bin/python scripts/record_netpol_schema.py

The tree: an object is a mapping field name -> subtree, a list of objects is a one-element list holding
the item's subtree, and ``0`` is a value whose inside is not checked (a scalar, or a map with free keys
such as ``labels``). `app.apischema` walks a manifest along it to find unknown fields.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "app" / "data" / "networkpolicy-v1-fields.json"
KUBERNETES_VERSION = "1.35.0"
"""The newest version the chart is validated against (tests/chart KUBE_VERSIONS)."""


def _schemas(version: str) -> tuple[dict[str, Any], dict[str, Any]]:
    import kubernetes_validate

    base = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / f"v{version}-local-strict"
    policy = json.loads((base / "networkpolicy-networking-v1.json").read_text(encoding="utf-8"))
    definitions = json.loads((base / "_definitions.json").read_text(encoding="utf-8"))
    return policy, definitions["$defs"] if "$defs" in definitions else definitions["definitions"]


def _tree(schema: dict[str, Any], definitions: dict[str, Any], seen: tuple[str, ...]) -> Any:
    ref = schema.get("$ref")
    if ref is not None:
        name = ref.rsplit("/", 1)[-1]
        if name in seen:
            return 0  # a recursive type: not checked below this point
        return _tree(definitions[name], definitions, (*seen, name))
    for combined in ("allOf", "oneOf", "anyOf"):
        if combined in schema and len(schema[combined]) == 1:
            return _tree(schema[combined][0], definitions, seen)
    properties = schema.get("properties")
    if properties:
        return {key: _tree(value, definitions, seen) for key, value in sorted(properties.items())}
    items = schema.get("items")
    if isinstance(items, dict):
        item = _tree(items, definitions, seen)
        return [item] if item != 0 else 0
    return 0


def field_tree(version: str = KUBERNETES_VERSION) -> dict[str, Any]:
    """The recorded document: the version and the field tree of a NetworkPolicy."""
    policy, definitions = _schemas(version)
    return {"kubernetesVersion": version, "fields": _tree(policy, definitions, ())}


def main() -> int:
    OUTPUT.write_text(json.dumps(field_tree(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{OUTPUT}: NetworkPolicy v1 fields of Kubernetes {KUBERNETES_VERSION}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
