"""`netpol-guard selftest`: server-side dry-run of a bad and a good NetworkPolicy (for `helm test`).

The bad policy allows every peer on every port (it breaks `forbid-allow-all`); the good one is a
well-formed, port-scoped policy. What the API server should answer follows from the rules file the webhook
serves (mounted into the test pod): denied with 403 naming the rule under `enforce`, admitted with a warning
naming it under `warn` (or when the rule only warns), admitted silently when the rule is off or the namespace
is exempt. Both are dry runs (`dryRun=All`), so nothing is stored, and since the webhook declares
`sideEffects: None` the API server still calls it.

Exit codes: 0 every expectation met, 1 an expectation failed (the webhook is absent, unreachable or
misjudging), 2 a bad flag or rules file.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from app.kubeapi import ClusterUnreachable, connect, status_message, transport_errors

EXPECTED_RULE = "forbid-allow-all"
_POLICY_NAME = "netpol-guard-selftest"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--namespace",
        default="default",
        help="namespace to dry-run in; the webhook must judge it (not kube-system, not its own namespace)",
    )
    parser.add_argument(
        "--config", metavar="FILE", help="the rules file the webhook serves (default: the embedded rules)"
    )
    parser.add_argument(
        "--webhook", default="validate.netpol-guard.io", help="webhook name expected in denial messages"
    )
    parser.add_argument(
        "--label",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="label for both test policies, to satisfy require-labels (repeatable)",
    )
    parser.add_argument(
        "--annotation",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="annotation for both test policies, to satisfy require-annotations (repeatable)",
    )


class Expect(StrEnum):
    DENIED = "denied"
    WARNED = "admitted with a warning"
    ADMITTED = "admitted"


@dataclass(frozen=True)
class Outcome:
    """What the API server answered a dry-run create: HTTP status, Status message, Warning headers."""

    status: int
    message: str = ""
    warnings: str = ""


class PolicyApi(Protocol):
    def dry_run_create(self, namespace: str, policy: dict[str, Any]) -> Outcome: ...


def expectation_for_bad_policy(ruleset: Any, namespace: str) -> Expect:
    """What the webhook does with an allow-all policy in ``namespace`` under ``ruleset``."""
    from app.rules.base import Action
    from app.ruleset import Mode

    if ruleset.exemptions.exempts_namespace(namespace):
        return Expect.ADMITTED
    settings = ruleset.settings_for(EXPECTED_RULE)
    if not settings.applies_to(namespace) or settings.action is Action.AUDIT or ruleset.mode is Mode.AUDIT:
        return Expect.ADMITTED
    if settings.action is Action.WARN or ruleset.mode is Mode.WARN:
        return Expect.WARNED
    return Expect.DENIED


def _metadata(
    name: str, namespace: str, labels: dict[str, str], annotations: dict[str, str]
) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": labels, "annotations": annotations}


def bad_policy(namespace: str, labels: dict[str, str], annotations: dict[str, str]) -> dict[str, Any]:
    """Every peer on every port: `ingress: [{}]`."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _metadata(f"{_POLICY_NAME}-bad", namespace, labels, annotations),
        "spec": {
            "podSelector": {"matchLabels": {"app": _POLICY_NAME}},
            "policyTypes": ["Ingress"],
            "ingress": [{}],
        },
    }


def good_policy(namespace: str, labels: dict[str, str], annotations: dict[str, str]) -> dict[str, Any]:
    """Explicit policyTypes, named peers, listed ports, DNS allowed: nothing for the default rules to flag."""
    peer = {"podSelector": {"matchLabels": {"app": f"{_POLICY_NAME}-client"}}}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _metadata(f"{_POLICY_NAME}-good", namespace, labels, annotations),
        "spec": {
            "podSelector": {"matchLabels": {"app": _POLICY_NAME}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [peer], "ports": [{"protocol": "TCP", "port": 8080}]}],
            "egress": [
                {"to": [peer], "ports": [{"protocol": "TCP", "port": 8080}]},
                {
                    "to": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                            },
                            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                        }
                    ],
                    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                },
            ],
        },
    }


def judge_bad(expect: Expect, outcome: Outcome, webhook: str) -> str | None:
    """None when the answer to the bad policy matches ``expect``, else what went wrong."""
    marker = f"[{EXPECTED_RULE}]"
    if expect is Expect.DENIED:
        if outcome.status == 403 and marker in outcome.message and webhook in outcome.message:
            return None
        if outcome.status < 300:
            return f"the allow-all policy was admitted; expected a denial naming {marker} from {webhook}"
        return f"expected a 403 from {webhook} naming {marker}, got HTTP {outcome.status}: {outcome.message}"
    if outcome.status >= 300:
        return f"expected the allow-all policy to be {expect}, got HTTP {outcome.status}: {outcome.message}"
    if expect is Expect.WARNED and EXPECTED_RULE not in outcome.warnings:
        return f"expected a warning naming {EXPECTED_RULE}, got warnings: {outcome.warnings or '(none)'}"
    return None


def judge_good(outcome: Outcome) -> str | None:
    """None when the good policy was admitted."""
    if outcome.status < 300:
        return None
    return f"the well-formed policy was refused with HTTP {outcome.status}: {outcome.message}"


def run_selftest(
    api: PolicyApi,
    ruleset: Any,
    args: argparse.Namespace,
    labels: dict[str, str],
    annotations: dict[str, str],
) -> list[tuple[str, str | None]]:
    """Both dry runs; each entry is (what was checked, problem or None)."""
    expect = expectation_for_bad_policy(ruleset, args.namespace)
    bad = api.dry_run_create(args.namespace, bad_policy(args.namespace, labels, annotations))
    good = api.dry_run_create(args.namespace, good_policy(args.namespace, labels, annotations))
    return [
        (f"allow-all NetworkPolicy in {args.namespace} is {expect}", judge_bad(expect, bad, args.webhook)),
        (f"well-formed NetworkPolicy in {args.namespace} is admitted", judge_good(good)),
    ]


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"{flag} {item!r}: expected KEY=VALUE")
        pairs[key] = value
    return pairs


class KubernetesPolicyApi:
    """`PolicyApi` over the kubernetes client: `dryRun=All` creates, answers read raw."""

    def __init__(self) -> None:
        from kubernetes import client

        self._api: Any = client.NetworkingV1Api(connect())
        self._api_exception: type[Exception] = client.exceptions.ApiException
        self._unreachable = transport_errors()

    def dry_run_create(self, namespace: str, policy: dict[str, Any]) -> Outcome:
        try:
            response = self._api.create_namespaced_network_policy(
                namespace, policy, dry_run="All", _preload_content=False
            )
        except self._api_exception as exc:
            return Outcome(
                status=int(getattr(exc, "status", 0) or 0),
                message=status_message(getattr(exc, "body", "")) or str(exc),
                warnings=_warnings(getattr(exc, "headers", None)),
            )
        except self._unreachable as exc:
            raise ClusterUnreachable(f"cannot reach the Kubernetes API: {exc}") from None
        return Outcome(status=int(response.status), warnings=_warnings(response.headers))


def _warnings(headers: Any) -> str:
    if headers is None:
        return ""
    values = headers.getlist("Warning") if hasattr(headers, "getlist") else [headers.get("Warning", "")]
    return "; ".join(value for value in values if value)


def run(args: argparse.Namespace, api: PolicyApi | None = None) -> int:
    from app.errors import RulesFileError
    from app.rules import REGISTRY
    from app.ruleset import load_ruleset

    if EXPECTED_RULE not in REGISTRY:
        print(f"netpol-guard selftest: this build has no {EXPECTED_RULE} rule to test with", file=sys.stderr)
        return 2
    try:  # flags and the rules file first: a bad one is exit 2, whether or not a cluster answers
        labels = _pairs(args.label, "--label")
        annotations = _pairs(args.annotation, "--annotation")
        ruleset = load_ruleset(args.config)
    except (RulesFileError, ValueError) as exc:
        print(f"netpol-guard selftest: {exc}", file=sys.stderr)
        return 2
    try:
        results = run_selftest(api or KubernetesPolicyApi(), ruleset, args, labels, annotations)
    except ClusterUnreachable as exc:
        print(f"netpol-guard selftest: {exc}", file=sys.stderr)
        return 1
    for what, problem in results:
        print(f"ok    {what}" if problem is None else f"FAIL  {what}: {problem}")
    return 0 if all(problem is None for _, problem in results) else 1
