"""deploy/manifests and the generated part of values.schema.json must match what `make manifests` makes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from chart_rendering import ROOT, Render, manifests_script, one


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


def _static_docs() -> list[dict[str, Any]]:
    text = (ROOT / "deploy/manifests/netpol-guard.yaml").read_text(encoding="utf-8")
    return [doc for doc in yaml.safe_load_all(text) if doc]


def test_the_static_manifests_carry_no_helm_only_labels_or_annotations() -> None:
    for doc in _static_docs():
        metadata = doc["metadata"]
        keys = [*metadata.get("labels", {}), *metadata.get("annotations", {})]
        assert not [key for key in keys if key.startswith("helm.sh/")], (doc["kind"], metadata["name"])
        assert metadata.get("labels", {}).get("app.kubernetes.io/managed-by") is None
        assert metadata.get("annotations", "absent") != {}  # an emptied annotations: goes entirely


def test_stripping_keeps_comments_and_other_annotations() -> None:
    rendered = (
        "kind: Job\nmetadata:\n  name: j\n  labels:\n    helm.sh/chart: c-1\n    app: a\n"
        "  annotations:\n    # why\n    helm.sh/hook: post-install\n    keep.example.com/x: y\n---\n"
        "kind: ServiceAccount\nmetadata:\n  name: s\n  annotations:\n    # only for Helm\n"
        "    helm.sh/hook-weight: '-1'\nspec: {}\n"
    )
    stripped = manifests_script.strip_helm_only(rendered)
    assert "# why" in stripped and "# only for Helm" not in stripped
    docs = list(yaml.safe_load_all(stripped))
    assert docs[0]["metadata"] == {
        "name": "j",
        "labels": {"app": "a"},
        "annotations": {"keep.example.com/x": "y"},
    }
    assert docs[1]["metadata"] == {"name": "s"} and docs[1]["spec"] == {}


def _certs_job(render: Render, *set_values: str) -> dict[str, Any]:
    return one(render(set_values=set_values), "Job")


def test_the_certs_job_is_reappliable_and_a_changed_job_gets_a_new_name(render: Render) -> None:
    """kubectl apply cannot change a Job's pod template: the name carries a hash of it."""
    job = _certs_job(render)
    # A separate render whose change does not touch the Job (replicas): the same Job, so re-applying is
    # a no-op.
    assert _certs_job(render, "replicaCount=3")["metadata"]["name"] == job["metadata"]["name"]
    upgraded = _certs_job(render, "image.tag=0.2.0")
    assert upgraded["metadata"]["name"] != job["metadata"]["name"]
    assert job["metadata"]["name"].startswith("netpol-guard-certs-")
    assert job["spec"]["ttlSecondsAfterFinished"] > 0  # finished Jobs do not pile up across upgrades
    long_name = _certs_job(render, "fullnameOverride=" + "x" * 52)["metadata"]["name"]  # the schema maximum
    assert len(long_name) <= 63
