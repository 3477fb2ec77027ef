"""netpol-guard called by a real kube-apiserver: every answer is read from kubectl's own output.

Each test runs on two backends: the loopback control plane (tests/controlplane: the API server, its
defaulting, dry runs, audit log and namespace controller are the real ones; the webhook is `netpol-guard
serve` from this tree, registered by the chart) and, where Docker runs, kind with the image installed by
the chart (e2e_cluster.py). A test that needs the local webhook process or the audit log skips on kind,
where test_e2e_cluster.py covers the same ground with pods. Expectations come from `netpol-guard check`
on the same files with the same rules (tests/e2e/verdicts.py), so a test fails when the two doors
disagree.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from guard import DENIED, EXAMPLE_RULES, EXAMPLES, WEBHOOK, Backend, wait_for
from verdicts import policy_verdicts

pytestmark = pytest.mark.timeout(900)  # kind: each rules change is a `helm upgrade` and a ConfigMap sync


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("controlplane", marks=pytest.mark.controlplane),
        pytest.param("kind", marks=pytest.mark.e2e),
    ],
)
def backend(request: pytest.FixtureRequest) -> Backend:
    """The loopback control plane (tests/controlplane), or kind where Docker runs (e2e_cluster.py)."""
    if request.param == "controlplane":
        found: Backend = request.getfixturevalue("guard")
        return found
    from e2e_cluster import KindGuard

    return KindGuard(request.getfixturevalue("cluster"))


BAD = sorted((EXAMPLES / "bad").glob("*.yaml"))
GOOD = sorted((EXAMPLES / "good").glob("*.yaml"))
DNS_EGRESS = {
    "to": [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
    ],
    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
}
ORDINARY = ("--as=e2e-developer", "--as-group=developers")
OWNER = ("--as=e2e-platform-admin", "--as-group=platform-admins")


def example_rules() -> dict[str, Any]:
    rules: dict[str, Any] = yaml.safe_load(EXAMPLE_RULES.read_text(encoding="utf-8"))
    return rules


def every_rule_denies(tmp_path: Path) -> Path:
    """The example rules with every rule at `deny`: each bad example must then be refused outright."""
    rules = example_rules()
    for settings in rules["rules"].values():
        settings["action"] = "deny"
    path = tmp_path / "all-deny-rules.yaml"
    path.write_text(yaml.safe_dump(rules), encoding="utf-8")
    return path


def policy(name: str, namespace: str = "shop", **spec: Any) -> dict[str, Any]:
    """A policy the example rules accept unless ``spec`` says otherwise."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"team": "platform"},
            "annotations": {"netpol-guard.io/description": "An e2e policy: web pods take port 8080 only."},
        },
        "spec": {
            "podSelector": {"matchLabels": {"app": "web"}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {"from": [{"podSelector": {"matchLabels": {"app": "lb"}}}], "ports": [{"port": 8080}]}
            ],
            **spec,
        },
    }


def without_policy_types(doc: dict[str, Any]) -> dict[str, Any]:
    doc = json.loads(json.dumps(doc))
    del doc["spec"]["policyTypes"]
    return doc


def text(doc: dict[str, Any]) -> str:
    return yaml.safe_dump(doc, sort_keys=False)


def stored(backend: Backend, name: str, namespace: str = "shop") -> dict[str, Any] | None:
    result = backend.kubectl("get", "networkpolicy", name, "-n", namespace, "-o", "json")
    return json.loads(result.stdout) if result.rc == 0 else None


def delete_policy(backend: Backend, name: str, namespace: str = "shop") -> None:
    backend.kubectl("delete", "networkpolicy", name, "-n", namespace, "--ignore-not-found", *OWNER)


def warning_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("Warning: ")]


@pytest.fixture(scope="module")
def rules_in_force(backend: Backend) -> Iterator[None]:
    backend.set_rules(EXAMPLE_RULES.read_text(encoding="utf-8"))
    yield


@pytest.fixture
def all_deny(backend: Backend, tmp_path: Path) -> Iterator[Path]:
    path = every_rule_denies(tmp_path)
    backend.set_rules(path.read_text(encoding="utf-8"))
    try:
        yield path
    finally:
        backend.set_rules(EXAMPLE_RULES.read_text(encoding="utf-8"))


# -- the examples -------------------------------------------------------------------------------------


def test_every_bad_example_is_refused_by_kubectl_apply_naming_its_rules(
    backend: Backend, all_deny: Path
) -> None:
    failures = []
    for path in BAD:
        (verdict,) = policy_verdicts([path], all_deny)
        result = backend.kubectl("apply", "-f", str(path))
        name = verdict.name.split("/")[-1]
        try:
            if result.rc == 0:
                failures.append(f"{path.name} was admitted:\n{result.output}")
            elif verdict.api_rejects:
                # The API server refuses it before any webhook: kubectl names each field `check` named.
                assert "is invalid" in result.stderr, result.stderr
                missing = [p for p in verdict.api_paths if p not in result.stderr]
                if missing or DENIED in result.stderr:
                    failures.append(f"{path.name}: API server error lacks {missing}:\n{result.stderr}")
            else:
                missing = sorted(r for r in verdict.denies if f"[{r}]" not in result.stderr)
                if (
                    "Error from server (Forbidden)" not in result.stderr
                    or DENIED not in result.stderr
                    or missing
                ):
                    failures.append(f"{path.name}: kubectl's error lacks {missing}:\n{result.stderr}")
            if stored(backend, name) is not None:
                failures.append(f"{path.name}: {name} was stored although refused")
        finally:
            delete_policy(backend, name)
    assert not failures, "\n".join(failures)


def apply_good_examples(backend: Backend) -> dict[str, list[str]]:
    """`kubectl apply` each good example (deleted again); its Warning: lines, by file."""
    shown = {}
    for path in GOOD:
        result = backend.kubectl("apply", "-f", str(path))
        try:
            assert result.rc == 0, f"{path.name}: {result.output}"
            assert "created" in result.stdout, result.stdout
            shown[path.name] = warning_lines(result.stderr)
        finally:
            backend.kubectl("delete", "-f", str(path), "--ignore-not-found", *OWNER)
    return shown


def test_every_good_example_is_admitted_with_no_warning_line(backend: Backend) -> None:
    rules = example_rules()
    rules["explain"] = {"admission": "off"}
    backend.set_rules(yaml.safe_dump(rules))
    try:
        shown = apply_good_examples(backend)
    finally:
        backend.set_rules(EXAMPLE_RULES.read_text(encoding="utf-8"))
    assert shown == {path.name: [] for path in GOOD}


@pytest.mark.usefixtures("rules_in_force")
def test_with_explain_on_a_good_examples_only_warnings_describe_what_it_allows(backend: Backend) -> None:
    # explain.admission defaults to `changes`: a create is described, one line per isolated direction,
    # and no rule warns.
    shown = apply_good_examples(backend)
    assert all(lines for lines in shown.values()), shown
    assert all(line.startswith("Warning: explain: ") for lines in shown.values() for line in lines), shown


@pytest.mark.usefixtures("rules_in_force")
def test_warnings_reach_kubectl_as_warning_lines_naming_the_rules_check_warns_about(backend: Backend) -> None:
    warned = [v for v in policy_verdicts(BAD, EXAMPLE_RULES) if v.warns and not v.denies]
    assert warned, "the example rules warn about none of the bad examples"
    for verdict in warned:
        result = backend.kubectl("apply", "--dry-run=server", "-f", verdict.file)
        assert result.rc == 0, result.output
        lines = [line for line in warning_lines(result.stderr) if line.startswith("Warning: [")]
        shown = {line.split("[", 1)[1].split("]", 1)[0] for line in lines}
        assert shown == set(verdict.warns), f"{verdict.file}: {lines}"


# -- require-policy-types through every way of writing ------------------------------------------------


@pytest.mark.usefixtures("rules_in_force")
def test_client_side_apply_without_policy_types_is_refused_with_the_api_servers_default(
    backend: Backend,
) -> None:
    doc = without_policy_types(policy("csa-no-types"))
    result = backend.kubectl("apply", "-f", "-", input=text(doc))
    assert result.rc != 0, result.output
    assert DENIED in result.stderr and "[require-policy-types]" in result.stderr, result.stderr
    # The API server defaulted policyTypes before calling us: the message shows its default, and the
    # only trace of the omission is kubectl's last-applied annotation.
    assert "policyTypes not set in the applied manifest; defaults to [Ingress]" in result.stderr, (
        result.stderr
    )
    assert stored(backend, "csa-no-types") is None


@pytest.mark.usefixtures("rules_in_force")
def test_server_side_apply_without_policy_types_is_refused(backend: Backend) -> None:
    doc = without_policy_types(policy("ssa-no-types"))
    result = backend.kubectl("apply", "--server-side", "--field-manager=e2e", "-f", "-", input=text(doc))
    assert result.rc != 0, result.output
    assert "policyTypes not set in the server-side applied manifest" in result.stderr, result.stderr
    good = backend.kubectl(
        "apply", "--server-side", "--field-manager=e2e", "-f", "-", input=text(policy("ssa-no-types"))
    )
    try:
        assert good.rc == 0 and "serverside-applied" in good.stdout, good.output
    finally:
        delete_policy(backend, "ssa-no-types")


@pytest.mark.usefixtures("rules_in_force")
def test_kubectl_create_leaves_no_trace_of_the_omission_but_the_default_is_judged(backend: Backend) -> None:
    doc = without_policy_types(policy("created-no-types"))
    created = backend.kubectl("create", "-f", "-", input=text(doc))
    try:
        # Nothing records what the author wrote (no last-applied, no Apply managedFields): admitted.
        assert created.rc == 0, created.output
        stored_doc = stored(backend, "created-no-types")
        assert stored_doc is not None and stored_doc["spec"]["policyTypes"] == ["Ingress"]
        assert stored_doc["spec"]["ingress"][0]["ports"][0]["protocol"] == "TCP"
    finally:
        delete_policy(backend, "created-no-types")
    # mustInclude judges the effective policyTypes, i.e. the API server's default, on the same create.
    rules = example_rules()
    rules["rules"]["require-policy-types"]["mustInclude"] = ["Egress"]
    backend.set_rules(yaml.safe_dump(rules))
    try:
        refused = backend.kubectl("create", "-f", "-", input=text(doc))
        assert refused.rc != 0 and "policyTypes lacks Egress (required here)" in refused.stderr, (
            refused.output
        )
        egress = without_policy_types(policy("created-egress", egress=[DNS_EGRESS]))
        admitted = backend.kubectl("create", "-f", "-", input=text(egress))
        assert admitted.rc == 0, admitted.output  # defaulted to [Ingress, Egress]: Egress is included
    finally:
        delete_policy(backend, "created-egress")
        backend.set_rules(EXAMPLE_RULES.read_text(encoding="utf-8"))


@pytest.mark.usefixtures("rules_in_force")
def test_replace_and_patch_that_drop_policy_types_are_refused(backend: Backend) -> None:
    doc = policy("rewritten")
    assert backend.kubectl("apply", "-f", "-", input=text(doc)).rc == 0
    try:
        dropped = text(without_policy_types(doc))
        replaced = backend.kubectl("replace", "--save-config", "-f", "-", input=dropped)
        assert replaced.rc != 0 and "[require-policy-types]" in replaced.stderr, replaced.output
        # A re-apply of an existing object is a PATCH (three-way merge) carrying the new last-applied.
        before = len(backend.audit_events()) if backend.keeps_audit_log else 0
        patched = backend.kubectl("apply", "-f", "-", input=dropped)
        assert patched.rc != 0 and "[require-policy-types]" in patched.stderr, patched.output
        if backend.keeps_audit_log:
            verbs = {
                event["verb"]
                for event in backend.audit_events()[before:]
                if event.get("objectRef", {}).get("name") == "rewritten"
                and event["responseStatus"]["code"] == 403
            }
            assert verbs == {"patch"}, verbs
        assert stored(backend, "rewritten")["spec"]["policyTypes"] == ["Ingress"]  # type: ignore[index]
    finally:
        delete_policy(backend, "rewritten")


# -- dry runs and the audit log -----------------------------------------------------------------------


ALLOW_ALL = EXAMPLES / "bad" / "forbid-allow-all.yaml"


def dry_runs(backend: Backend) -> str:
    """A refused and an admitted server-side dry run; the refused policy's name."""
    name: str = yaml.safe_load(ALLOW_ALL.read_text(encoding="utf-8"))["metadata"]["name"]
    refused = backend.kubectl("apply", "--dry-run=server", "-f", str(ALLOW_ALL))
    assert refused.rc != 0 and DENIED in refused.stderr and "[forbid-allow-all]" in refused.stderr
    admitted = backend.kubectl("apply", "--dry-run=server", "-f", "-", input=text(policy("dry-good")))
    assert admitted.rc == 0 and "created (server dry run)" in admitted.stdout, admitted.output
    return name


@pytest.mark.usefixtures("rules_in_force")
def test_a_server_side_dry_run_is_judged_and_stores_nothing(backend: Backend) -> None:
    name = dry_runs(backend)
    assert stored(backend, name) is None and stored(backend, "dry-good") is None


@pytest.mark.usefixtures("rules_in_force")
def test_the_audit_log_carries_our_annotations_for_dry_runs(backend: Backend) -> None:
    before = len(backend.audit_events())
    name = dry_runs(backend)

    def annotations(object_name: str) -> dict[str, str]:
        events = [
            e
            for e in backend.audit_events()[before:]
            if e.get("objectRef", {}).get("name") == object_name and e["verb"] == "create"
        ]
        assert events, f"no audit event for the create of {object_name}"
        assert "dryRun=All" in events[-1]["requestURI"], events[-1]["requestURI"]
        found: dict[str, str] = events[-1].get("annotations", {})
        return found

    denied = annotations(name)
    assert denied[f"{WEBHOOK}/decision"] == "denied", denied
    assert "forbid-allow-all" in denied[f"{WEBHOOK}/rules"].split(","), denied
    assert denied[f"{WEBHOOK}/mode"] == "enforce", denied
    admitted = annotations("dry-good")
    # No rule fired; with explain.admission on (the default) the description makes it "warned".
    assert admitted[f"{WEBHOOK}/decision"] in ("allowed", "warned"), admitted
    assert admitted.get(f"{WEBHOOK}/rules", "") == "", admitted


# -- grandfathering -----------------------------------------------------------------------------------


def test_an_update_keeps_a_violation_stored_before_the_rule_was_enforced_as_a_warning(
    backend: Backend,
) -> None:
    rules = example_rules()
    rules["rules"]["require-labels"]["action"] = "off"
    backend.set_rules(yaml.safe_dump(rules))
    unlabelled = policy("stored-before")
    del unlabelled["metadata"]["labels"]
    try:
        assert backend.kubectl("apply", "-f", "-", input=text(unlabelled)).rc == 0
        backend.set_rules(EXAMPLE_RULES.read_text(encoding="utf-8"))
        # The same violation on a new policy is refused...
        fresh = dict(unlabelled, metadata={**unlabelled["metadata"], "name": "fresh"})
        refused = backend.kubectl("apply", "-f", "-", input=text(fresh))
        assert refused.rc != 0 and "[require-labels]" in refused.stderr, refused.output
        # ...but an edit of the stored one that still lacks the label is admitted with a warning.
        edited = json.loads(json.dumps(unlabelled))
        edited["spec"]["ingress"][0]["ports"] = [{"port": 8443}]
        updated = backend.kubectl("apply", "-f", "-", input=text(edited))
        assert updated.rc == 0, updated.output
        assert any(
            "[require-labels]" in line and "already present before this update" in line
            for line in warning_lines(updated.stderr)
        ), updated.stderr
        assert stored(backend, "stored-before")["spec"]["ingress"][0]["ports"][0]["port"] == 8443  # type: ignore[index]
    finally:
        backend.set_rules(EXAMPLE_RULES.read_text(encoding="utf-8"))
        delete_policy(backend, "stored-before")


# -- protect-baseline and the namespace controller ----------------------------------------------------


def baseline(name: str, namespace: str) -> str:
    doc = policy(name, namespace, podSelector={}, policyTypes=["Ingress", "Egress"])
    del doc["spec"]["ingress"]
    doc["metadata"]["labels"]["netpol-guard.io/baseline"] = "true"
    return text(doc)


@pytest.mark.parametrize(
    "owner, settings",
    [
        (("--as=e2e-baseline-owner", "--as-group=developers"), {"allowedUsers": ["e2e-baseline-owner"]}),
        (
            ("--as=e2e-network-lead", "--as-group=developers", "--as-group=network-leads"),
            {"allowedGroups": ["network-leads"]},
        ),
    ],
    ids=["allowed-user", "allowed-group"],
)
def test_a_baseline_is_deleted_only_by_its_owners(
    backend: Backend, owner: tuple[str, ...], settings: dict[str, list[str]]
) -> None:
    # Owners who are not exempt from the rules: only protect-baseline's own lists let them through.
    rules = example_rules()
    rules["rules"]["protect-baseline"].update({"allowedUsers": [], "allowedGroups": [], **settings})
    backend.set_rules(yaml.safe_dump(rules))
    try:
        assert backend.kubectl("apply", "-f", "-", input=baseline("floor", "shop")).rc == 0
        refused = backend.kubectl("delete", "networkpolicy", "floor", "-n", "shop", *ORDINARY)
        assert refused.rc != 0, refused.output
        assert DENIED in refused.stderr and "[protect-baseline]" in refused.stderr, refused.stderr
        assert stored(backend, "floor") is not None
        allowed = backend.kubectl("delete", "networkpolicy", "floor", "-n", "shop", *owner)
        assert allowed.rc == 0, allowed.output
        assert stored(backend, "floor") is None
    finally:
        backend.set_rules(EXAMPLE_RULES.read_text(encoding="utf-8"))
        delete_policy(backend, "floor")


@pytest.mark.usefixtures("rules_in_force")
def test_deleting_a_namespace_that_holds_a_baseline_completes(backend: Backend) -> None:
    namespace = "e2e-doomed-baseline"
    backend.create_namespace(namespace)
    assert backend.kubectl("apply", "-f", "-", input=baseline("floor", namespace)).rc == 0
    assert backend.kubectl("delete", "namespace", namespace, "--wait=false").rc == 0
    wait_for(
        lambda: backend.kubectl("get", "namespace", namespace).rc != 0,
        lambda: f"namespace {namespace} to go (it is: {backend.namespace_state(namespace)})",
        timeout=90,
    )


# -- the webhook process stopped ----------------------------------------------------------------------


@pytest.mark.usefixtures("rules_in_force")
def test_with_the_webhook_stopped_only_networkpolicy_writes_fail(backend: Backend) -> None:
    namespace = "e2e-doomed-outage"
    backend.create_namespace(namespace)
    assert backend.kubectl("apply", "-f", "-", input=text(policy("kept", namespace))).rc == 0
    with backend.webhook_stopped():
        refused = backend.kubectl("apply", "-f", "-", input=text(policy("while-down")))
        assert refused.rc != 0, refused.output
        assert f'failed calling webhook "{WEBHOOK}"' in refused.stderr, refused.stderr
        assert stored(backend, "while-down") is None
        configmap = backend.kubectl("create", "configmap", "while-down", "-n", "shop", "--from-literal=a=b")
        assert configmap.rc == 0, configmap.output
        backend.kubectl("delete", "configmap", "while-down", "-n", "shop")
        assert backend.kubectl("delete", "namespace", namespace, "--wait=false").rc == 0
        wait_for(
            lambda: backend.kubectl("get", "namespace", namespace).rc != 0,
            lambda: (
                f"namespace {namespace} to go with the webhook down ({backend.namespace_state(namespace)})"
            ),
            timeout=90,
        )


# -- hot reload and certificate rotation under load ---------------------------------------------------


class Applier:
    """`kubectl apply`s a good policy in a loop from a thread and records every failure."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.failures: list[str] = []
        self.applies = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            doc = policy("under-load")
            doc["spec"]["ingress"][0]["ports"] = [{"port": 8000 + self.applies % 100}]
            result = self.backend.kubectl("apply", "-f", "-", input=text(doc))
            self.applies += 1
            if result.rc != 0:
                self.failures.append(result.stderr.strip())

    def wait_for_applies(self, count: int) -> None:
        target = self.applies + count
        wait_for(lambda: self.applies >= target, f"{count} more applies", timeout=120, interval=0.1)

    def __enter__(self) -> Applier:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)


@pytest.mark.usefixtures("rules_in_force")
def test_rules_reload_and_certificate_rotation_while_kubectl_applies_lose_no_apply(backend: Backend) -> None:
    started = time.monotonic()
    try:
        with Applier(backend) as applier:
            applier.wait_for_applies(3)
            for mode in ("warn", "enforce", "warn", "enforce"):
                rules = example_rules()
                rules["mode"] = mode
                backend.set_rules(yaml.safe_dump(rules))
                applier.wait_for_applies(2)
            for _ in range(2):
                backend.rotate_serving_certificate()
                applier.wait_for_applies(3)
        assert applier.failures == [], applier.failures[:3]
    finally:
        backend.set_rules(EXAMPLE_RULES.read_text(encoding="utf-8"))
        delete_policy(backend, "under-load")
    print(f"{applier.applies} applies in {time.monotonic() - started:.0f} s, none failed")
