"""deploy/manifests and the generated part of values.schema.json must match what `make manifests` makes."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import yaml
from chart_rendering import ROOT


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "render_manifests", ROOT / "scripts" / "render_manifests.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("render_manifests", module)
    spec.loader.exec_module(module)
    return module


def test_the_static_manifests_match_the_chart(helm: str) -> None:
    script = _script()
    committed = Path(script.MANIFESTS).read_text(encoding="utf-8")
    assert committed == script.render_manifests(helm), "deploy/manifests is stale: run `make manifests`"


def test_the_static_manifests_bring_their_namespace_with_restricted_pod_security() -> None:
    docs = [
        doc for doc in yaml.safe_load_all((ROOT / "deploy/manifests/netpol-guard.yaml").read_text()) if doc
    ]
    assert docs[0]["kind"] == "Namespace"
    assert docs[0]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    kinds = [doc["kind"] for doc in docs]
    # kubectl applies in file order: the certs Job must find the webhook configuration to patch.
    assert kinds.index("ValidatingWebhookConfiguration") < kinds.index("Job")
    assert "Pod" not in kinds  # the helm test pod is not a deployable object


def test_the_values_schema_rules_part_matches_the_rules_loader() -> None:
    script = _script()
    committed = json.loads(Path(script.SCHEMA).read_text(encoding="utf-8"))
    assert committed == json.loads(script.render_values_schema()), (
        "values.schema.json's rules schema is stale: run `make manifests`"
    )
