"""The exported ValidatingAdmissionPolicies on the real API server: accepted, and answering like the webhook.

Every policy of ../shared/corpus/real and deploy/examples/policies is created with ``dryRun=All`` (what
``kubectl create --dry-run=server`` sends) three times: with only the webhook registered (the chart's
webhook configuration, pointed at a local `netpol-guard serve`), with only the exported policies bound,
and with the exported policies bound as Warn (the API server names only the first denial of a request).
For the exported rules, the rule ids denied and warned must be the same, policy by policy.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from controlplane.cluster import ControlPlane, start_control_plane
from controlplane.processes import Supervisor
from controlplane.webhook import LocalWebhook, find_helm
from dryrun import Answer, ApiServer, dry_run_all, dry_run_create, ensure_namespaces
from equivalence import Comparison, binding_actions, warn_only
from registration import chart_webhook_configuration, kubectl, wait_until

from app.export.bounds import BOUNDS, SIZE_POLICY
from app.export.vap import export_vap
from app.manifests import read_manifests
from app.ruleset import load_ruleset, parse_ruleset

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT.parent / "shared" / "corpus" / "real"
EXAMPLES = ROOT / "deploy" / "examples" / "policies"
RULES_FILES = {
    "default rules": None,
    "deploy/examples/rules.yaml": ROOT / "deploy" / "examples" / "rules.yaml",
    "tests/vap/rules-everything.yaml": ROOT / "tests" / "vap" / "rules-everything.yaml",
}
PROBE_NAMESPACE = "vap-probe"
SETTLE_SECONDS = 3.0


@pytest.fixture(scope="module")
def plane(kube_tools: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    # A control plane of its own: the suite's shared one has the chart's webhook registered, and these
    # tests need it absent while the policies are judged alone.
    supervisor = Supervisor()
    try:
        yield start_control_plane(tmp_path_factory.mktemp("vap-plane"), kube_tools, supervisor)
    finally:
        supervisor.stop_all()


@pytest.fixture(scope="module")
def server(plane: ControlPlane) -> ApiServer:
    pki = plane.pki
    api = ApiServer(plane.server, pki.ca_file, pki.admin_cert, pki.admin_key)
    ensure_namespaces(api, [PROBE_NAMESPACE])
    return api


def _kubectl_args(plane: ControlPlane) -> list[str]:
    return [str(plane.kubectl_binary), f"--kubeconfig={plane.kubeconfig}"]


def _probe() -> dict[str, Any]:
    """An allow-all that every rules file here denies (forbid-allow-all)."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": "probe",
            "namespace": PROBE_NAMESPACE,
            "labels": {"team": "probe", "tier": "web"},
        },
        "spec": {"podSelector": {"matchLabels": {"a": "b"}}, "policyTypes": ["Ingress"], "ingress": [{}]},
    }


def _probe_answer(server: ApiServer) -> Answer:
    with server.client() as client:
        return dry_run_create(client, _probe())


def _wait_for(server: ApiServer, what: str, condition: Any) -> None:
    wait_until(lambda: condition(_probe_answer(server)), what, timeout=90)
    # The probe shows one policy (or the webhook) in effect; the API server's policy source recompiles
    # what its informer delivered on a one-second refresh, so the others may follow a moment later.
    time.sleep(SETTLE_SECONDS)


def _corpus() -> list[tuple[str, dict[str, Any]]]:
    files = [str(path) for path in sorted(EXAMPLES.rglob("*.yaml"))]
    if REAL.is_dir():
        index = json.loads((REAL / "index.json").read_text())
        files += [str(REAL / entry["file"]) for entry in index["files"] if not entry["yaml_error"]]
    found = []
    for manifest in read_manifests(files):
        for number, document in enumerate(manifest.policies):
            found.append((f"{Path(manifest.path).relative_to(ROOT.parent)}#{number}", document.obj))
    return found


def _namespaces(policies: list[tuple[str, dict[str, Any]]]) -> set[str]:
    names = set()
    for _, obj in policies:
        namespace = (obj.get("metadata") or {}).get("namespace") or "default"
        if isinstance(namespace, str):
            names.add(namespace)
    return names


@contextmanager
def _webhook_registered(
    plane: ControlPlane, server: ApiServer, config: Path | None, work: Path
) -> Iterator[None]:
    """Only the chart's webhook, served from this checkout with ``config``, judges NetworkPolicy writes."""
    supervisor = Supervisor()
    try:
        webhook = LocalWebhook(work, supervisor, config=config)
        webhook.start()
        registration = chart_webhook_configuration(find_helm(), webhook.url, webhook.ca_bundle)
        kubectl(_kubectl_args(plane), ["apply"], [registration])
        try:
            _wait_for(server, "the webhook to answer", lambda a: "admission webhook" in a.message)
            yield
        finally:
            kubectl(_kubectl_args(plane), ["delete", "--wait"], [registration])
            _wait_for(server, "the webhook to be gone", lambda a: a.status == 201)
    finally:
        supervisor.stop_all()


@contextmanager
def _policies_bound(
    plane: ControlPlane, server: ApiServer, documents: list[dict[str, Any]], warned: bool = False
) -> Iterator[None]:
    """Only the exported policies judge NetworkPolicy writes (``warned``: each binding as Warn)."""
    args = _kubectl_args(plane)
    kubectl(args, ["create"], documents)
    try:
        if warned:
            _wait_for(server, "the policies to warn", lambda a: a.status == 201 and a.warnings)
        else:
            _wait_for(server, "the policies to deny", lambda a: "ValidatingAdmissionPolicy" in a.message)
        yield
    finally:
        kubectl(args, ["delete", "--wait"], documents)
        _wait_for(server, "the policies to be gone", lambda a: a.status == 201 and not a.warnings)


def _judged_by_webhook(
    plane: ControlPlane, server: ApiServer, config: Path | None, objects: list[dict[str, Any]], work: Path
) -> list[Answer]:
    with _webhook_registered(plane, server, config, work):
        return dry_run_all(server, objects)


def _judged_by_policies(
    plane: ControlPlane, server: ApiServer, documents: list[dict[str, Any]], objects: list[dict[str, Any]]
) -> tuple[list[Answer], list[Answer]]:
    with _policies_bound(plane, server, documents):
        dry_run_all(server, objects)  # warm-up: a policy the API server has not compiled yet fails open
        as_exported = dry_run_all(server, objects)
    with _policies_bound(plane, server, warn_only(documents), warned=True):
        dry_run_all(server, objects)
        every_check = dry_run_all(server, objects)
    return as_exported, every_check


@pytest.mark.parametrize("config", RULES_FILES.values(), ids=RULES_FILES.keys())
def test_exported_policies_deny_and_warn_what_the_webhook_does(
    plane: ControlPlane, server: ApiServer, config: Path | None, tmp_path: Path
) -> None:
    if not REAL.is_dir():
        pytest.skip(f"the shared corpus is not at {REAL}")
    policies = _corpus()
    objects = [obj for _, obj in policies]
    ensure_namespaces(server, _namespaces(policies))
    documents = export_vap(load_ruleset(config)).documents
    actions = binding_actions(documents)

    webhook = _judged_by_webhook(plane, server, config, objects, tmp_path / "webhook")
    as_exported, every_check = _judged_by_policies(plane, server, documents, objects)

    problems = []
    judged = denied = warned = 0
    for (name, _), answers in zip(policies, zip(webhook, as_exported, every_check, strict=True), strict=True):
        comparison = Comparison(name, *answers)
        found = comparison.problems(actions)
        if found:
            problems.append(f"{name}: {'; '.join(found)}")
        judged += 1
        denied += bool(comparison.webhook.denied_ids & set(actions))
        warned += bool(comparison.webhook.warned_ids & set(actions))
    print(
        f"\n{config or 'default rules'}: {judged - len(problems)} of {judged} policies agree "
        f"({denied} denied, {warned} warned by the exported rules; "
        f"rules exported: {', '.join(sorted(actions))})"
    )
    assert not problems, "\n".join(problems)
    assert denied > 0 and warned > 0  # the corpus exercises both actions


def _rules_files() -> dict[str, Any]:
    """Every rules file in the repository's examples and tests (and the ConfigMap of the static
    manifests), plus the default rules in each mode."""
    found: dict[str, Any] = {"default rules": load_ruleset(None)}
    for path in [RULES_FILES["deploy/examples/rules.yaml"], RULES_FILES["tests/vap/rules-everything.yaml"]]:
        found[str(path.relative_to(ROOT))] = load_ruleset(path)
    manifests = ROOT / "deploy" / "manifests" / "netpol-guard.yaml"
    for document in yaml.safe_load_all(manifests.read_text()):
        if isinstance(document, dict) and document.get("kind") == "ConfigMap":
            for key, text in (document.get("data") or {}).items():
                data = yaml.safe_load(text)
                if isinstance(data, dict) and data.get("kind") == "RuleSet":
                    found[f"deploy/manifests ConfigMap {key}"] = parse_ruleset(data, key)
    for mode in ("warn", "audit"):
        text = (
            (ROOT / "app" / "data" / "default-rules.yaml")
            .read_text()
            .replace("mode: enforce", f"mode: {mode}")
        )
        found[f"default rules, mode {mode}"] = parse_ruleset(yaml.safe_load(text), mode)
    return found


def test_the_export_of_every_rules_file_is_accepted_by_the_api_server(plane: ControlPlane) -> None:
    args = _kubectl_args(plane)
    files = _rules_files()
    assert len(files) >= 6
    for name, ruleset in files.items():
        documents = export_vap(ruleset).documents
        try:
            kubectl(args, ["create"], documents)
        except RuntimeError as exc:
            pytest.fail(f"{name}: {exc}")
        try:
            listed = plane.kubectl_json("get", "validatingadmissionpolicies")["items"]
            assert {item["metadata"]["name"] for item in listed} == {
                doc["metadata"]["name"] for doc in documents if doc["kind"] == "ValidatingAdmissionPolicy"
            }, name
        finally:
            kubectl(args, ["delete", "--wait"], documents)


def _peers(count: int) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": f"peers-{count}", "namespace": PROBE_NAMESPACE},
        "spec": {
            "podSelector": {"matchLabels": {"app": "web"}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [{"podSelector": {"matchLabels": {"app": f"client-{i}"}}} for i in range(count)],
                    "ports": [{"port": 8080}],
                }
            ],
        },
    }


def test_policies_at_the_bounds_are_judged_and_larger_ones_denied_by_the_size_policy(
    plane: ControlPlane, server: ApiServer
) -> None:
    documents = export_vap(load_ruleset(None)).documents
    args = _kubectl_args(plane)
    [peers] = [bound for bound in BOUNDS if bound.name == "peers"]
    kubectl(args, ["create"], documents)
    try:
        _wait_for(server, "the policies to deny", lambda a: "ValidatingAdmissionPolicy" in a.message)
        with server.client(timeout=60) as client:
            at_bound = dry_run_create(client, _peers(peers.maximum))
            over = dry_run_create(client, _peers(peers.maximum + 1))
    finally:
        kubectl(args, ["delete", "--wait"], documents)
    # Judged, not failed: the CEL stays within the budget and the time (limit-complexity warns, as the
    # webhook does, that 2,000 peers in one rule are over its 50).
    assert at_bound.status == 201, at_bound.message
    assert any("[limit-complexity]" in warning for warning in at_bound.warnings)
    assert over.status == 403
    assert f"ValidatingAdmissionPolicy '{SIZE_POLICY}'" in over.message
    assert f"{peers.maximum + 1} peers are more than the exported policies judge" in over.message


def _stored(name: str, labels: dict[str, str], ingress: list[Any]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": PROBE_NAMESPACE, "labels": labels},
        "spec": {
            "podSelector": {"matchLabels": {"app": "web"}},
            "policyTypes": ["Ingress"],
            "ingress": ingress,
        },
    }


def _updates_and_deletes(server: ApiServer) -> dict[str, tuple[int, frozenset[str], frozenset[str]]]:
    """What the API server answers to dry-run writes on stored policies: (status, denied, warned)."""
    base = f"/apis/networking.k8s.io/v1/namespaces/{PROBE_NAMESPACE}/networkpolicies"
    merge = {"Content-Type": "application/merge-patch+json"}
    dry = {"dryRun": "All"}
    answers = {}
    with server.client() as client:
        requests = {
            # An allow-all stored before the rules: relabelling it is grandfathered (a warning).
            "relabel grandfathered allow-all": client.patch(
                f"{base}/old-allow-all",
                params=dry,
                headers=merge,
                content=b'{"metadata":{"labels":{"x":"y"}}}',
            ),
            "delete baseline": client.delete(f"{base}/baseline", params=dry),
            "unlabel baseline": client.patch(
                f"{base}/baseline",
                params=dry,
                headers=merge,
                content=b'{"metadata":{"labels":{"netpol-guard.io/baseline":null}}}',
            ),
            "change baseline spec": client.patch(
                f"{base}/baseline",
                params=dry,
                headers=merge,
                content=b'{"spec":{"policyTypes":["Ingress","Egress"]}}',
            ),
            "relabel baseline": client.patch(
                f"{base}/baseline", params=dry, headers=merge, content=b'{"metadata":{"labels":{"x":"y"}}}'
            ),
        }
        for what, response in requests.items():
            answer = Answer(
                response.status_code,
                str(response.json().get("message", "")) if response.status_code >= 300 else "",
                tuple(response.headers.get_list("warning")),
            )
            answers[what] = (answer.status, answer.denied_ids, answer.warned_ids)
    return answers


def test_updates_and_deletes_are_judged_alike_grandfathering_and_baselines(
    plane: ControlPlane, server: ApiServer, tmp_path: Path
) -> None:
    stored = [
        _stored("old-allow-all", {}, [{}]),
        _stored(
            "baseline",
            {"netpol-guard.io/baseline": "true"},
            [{"from": [{"podSelector": {"matchLabels": {"app": "a"}}}], "ports": [{"port": 80}]}],
        ),
    ]
    kubectl(_kubectl_args(plane), ["create"], stored)  # nothing judges writes yet
    try:
        with _webhook_registered(plane, server, None, tmp_path / "webhook"):
            webhook = _updates_and_deletes(server)
        with _policies_bound(plane, server, export_vap(load_ruleset(None)).documents):
            _updates_and_deletes(server)  # warm-up
            policies = _updates_and_deletes(server)
    finally:
        kubectl(_kubectl_args(plane), ["delete", "--wait"], stored)
    assert webhook["relabel grandfathered allow-all"][0] == 200
    assert "forbid-allow-all" in webhook["relabel grandfathered allow-all"][2]
    assert webhook["delete baseline"][:2] == (403, frozenset({"protect-baseline"}))
    assert webhook["relabel baseline"] == (200, frozenset(), frozenset())
    assert policies == webhook
