"""deploy/manifests and the generated part of values.schema.json must match what `make manifests` makes."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from chart_rendering import ROOT, manifests_script


def test_the_static_manifests_match_the_chart(helm: str) -> None:
    committed = Path(manifests_script.MANIFESTS).read_text(encoding="utf-8")
    assert committed == manifests_script.render_manifests(helm), (
        "deploy/manifests is stale: run `make manifests`"
    )


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
    committed = json.loads(Path(manifests_script.SCHEMA).read_text(encoding="utf-8"))
    assert committed == json.loads(manifests_script.render_values_schema()), (
        "values.schema.json's rules schema is stale: run `make manifests`"
    )
