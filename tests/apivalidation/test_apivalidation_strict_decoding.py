"""api-validation refuses what kubectl's strict decoding refuses: unknown and duplicate fields, removed or
unknown apiVersions, a mis-cased kind; field knowledge from the recorded v1 schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from apivalidation_cases import manifest, ruleset_with_only_api_validation

from app.apischema import field_tree, is_policy_like, schema_version
from app.manifests import parse_manifest
from app.report.results import check_manifest

ROOT = Path(__file__).resolve().parents[2]


def denials(obj: dict[str, Any]) -> list[tuple[str, str, str]]:
    text = json.dumps(obj)
    (policy,) = parse_manifest(text.encode(), "policy.json").policies
    result = check_manifest(parse_manifest(text.encode(), "policy.json"), ruleset_with_only_api_validation())
    assert policy.obj == obj
    return [(f.violation.path, f.violation.problem, f.violation.fix) for f in result.policies[0].findings]


@pytest.mark.parametrize(
    ("spec", "path", "suggestion"),
    [
        ({"podSelector": {}, "policyType": ["Ingress"]}, "spec.policyType", '"policyTypes"'),
        ({"podSelector": {}, "ingress": [{"form": []}]}, "spec.ingress[0].form", '"from"'),
        ({"podselector": {}}, "spec.podselector", '"podSelector"'),  # keys are case-sensitive
        (
            {"egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "exept": []}}]}]},
            "spec.egress[0].to[0].ipBlock.exept",
            '"except"',
        ),
        ({"ingress": [{"ports": [{"prot": 80}]}]}, "spec.ingress[0].ports[0].prot", '"port"'),
        ({"zzz": 1}, "spec.zzz", "remove it (fields known here: egress, ingress, podSelector, policyTypes)"),
    ],
    ids=["policyType", "form", "podselector-case", "exept", "prot", "no-close-match"],
)
def test_an_unknown_field_is_refused_with_a_did_you_mean_fix(spec: Any, path: str, suggestion: str) -> None:
    (found,) = denials(manifest(spec))
    assert found[0] == path
    assert found[1] == f'strict decoding error: unknown field "{path}"'
    assert suggestion in found[2]


def test_known_fields_and_free_form_maps_are_not_unknown() -> None:
    obj = manifest(
        {
            "podSelector": {"matchLabels": {"anything": "goes"}},
            "ingress": [{"from": [{"namespaceSelector": {"matchExpressions": []}}], "ports": [{"port": 80}]}],
            "policyTypes": ["Ingress"],
        },
        labels={"free": "keys"},
        annotations={"also": "free"},
    )
    assert denials(obj) == []


def test_an_old_status_stanza_is_an_unknown_field_since_the_type_has_none() -> None:
    obj = manifest({"podSelector": {}})
    obj["status"] = {}
    ((path, _, fix),) = denials(obj)
    assert path == "status" and "no status since Kubernetes 1.27" in fix


@pytest.mark.parametrize(
    ("api_version", "kind", "path", "expected"),
    [
        (
            "extensions/v1beta1",
            "NetworkPolicy",
            "apiVersion",
            "was removed from extensions/v1beta1 in Kubernetes 1.16",
        ),
        ("networking.k8s.io/v1beta1", "NetworkPolicy", "apiVersion", "served only as networking.k8s.io/v1"),
        ("networking.k8s.io/v1", "Networkpolicy", "kind", "kinds are case-sensitive"),
        ("networking.k8s.io/v1", "networkpolicy", "kind", 'no matches for kind "networkpolicy"'),
    ],
    ids=["extensions-v1beta1", "networking-v1beta1", "Networkpolicy", "lower-case"],
)
def test_a_policy_under_a_wrong_type_is_refused_not_skipped(
    api_version: str, kind: str, path: str, expected: str
) -> None:
    obj = {**manifest({"podSelector": {}}), "apiVersion": api_version, "kind": kind}
    (found,) = denials(obj)
    assert found[0] == path and expected in found[1]


@pytest.mark.parametrize(
    ("obj", "judged"),
    [
        ({"apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy"}, False),
        ({"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy"}, False),
        ({"apiVersion": "v1", "kind": "ConfigMap"}, False),
        ({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy"}, True),
        ({"apiVersion": "extensions/v1beta1", "kind": "NetworkPolicy"}, True),
    ],
    ids=["calico", "cilium", "configmap", "v1", "extensions"],
)
def test_only_kubernetes_own_network_policy_groups_are_judged(obj: dict[str, Any], judged: bool) -> None:
    assert is_policy_like(obj) is judged


def test_a_repeated_key_is_refused_at_the_duplicate_line() -> None:
    text = (
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: a, namespace: b}\n"
        "spec:\n  podSelector: {}\n  ingress:\n  - ports:\n    - port: 80\n    ports:\n    - port: 443\n"
    )
    result = check_manifest(parse_manifest(text.encode(), "dup.yaml"), ruleset_with_only_api_validation())
    (finding,) = result.policies[0].findings
    assert finding.violation.problem == 'strict decoding error: duplicate field "spec.ingress[0].ports"'
    assert (finding.line, finding.column) == (9, 5)


def test_a_repeated_key_in_json_is_found_too() -> None:
    text = (
        '{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",\n'
        ' "metadata": {"name": "a", "name": "b"}}'
    )
    manifest_file = parse_manifest(text.encode(), "dup.json")
    assert manifest_file.policies[0].duplicates == ("metadata.name",)


def test_merge_keys_are_not_duplicates() -> None:
    text = (
        "base: &base {name: a}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        "metadata: {namespace: b, name: a}\nspec: {podSelector: {}}\n"
    )
    assert parse_manifest(text.encode(), "m.yaml").policies[0].duplicates == ()


def test_the_recorded_field_tree_is_the_newest_chart_supported_kubernetes_schema() -> None:
    pytest.importorskip("kubernetes_validate")
    import importlib.util

    spec = importlib.util.spec_from_file_location("record", ROOT / "scripts" / "record_netpol_schema.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    chart_test = (ROOT / "tests" / "chart" / "test_chart_render.py").read_text()
    newest = max(
        (
            version
            for version in chart_test.split("KUBE_VERSIONS = [", 1)[1]
            .split("]", 1)[0]
            .replace('"', "")
            .split(", ")
        ),
        key=lambda v: tuple(int(part) for part in v.split(".")),
    )
    assert schema_version() == newest == script.KUBERNETES_VERSION
    assert script.field_tree()["fields"] == field_tree()
