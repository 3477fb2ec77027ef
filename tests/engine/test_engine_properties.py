"""Property: no NetworkPolicy-shaped input, however odd, makes the engine raise."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.engine import evaluate, evaluate_document
from app.netpol import PolicyShapeError, decode_policy
from app.rules import REGISTRY
from app.rules.base import Context
from app.ruleset import RuleSet, load_ruleset, parse_ruleset

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
EXAMPLES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

odd = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.just([]),
    st.just({}),
)


def policy_documents(odd_values: bool) -> st.SearchStrategy[Any]:
    """NetworkPolicy-shaped documents: well-typed with odd values, or with odd JSON types anywhere."""

    def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        # Mostly the intended shape, sometimes any JSON value (a decode error the engine must report).
        return st.one_of(strategy, strategy, strategy, odd) if odd_values else strategy

    def lists(strategy: st.SearchStrategy[Any], max_size: int = 3) -> st.SearchStrategy[Any]:
        return maybe(st.lists(maybe(strategy), max_size=max_size))

    def obj(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.fixed_dictionaries({}, optional=fields)

    cidrs = st.one_of(
        st.sampled_from(
            [
                "0.0.0.0/0",
                "::/0",
                "10.0.0.0/8",
                "010.0.0.0/08",
                "10.0.0.1/8",
                "::ffff:10.0.0.0/104",
                "fd00::/48",
                "1.2.3.4/33",
                "/0",
                "0/0",
                "a/b",
                "",
                " 10.0.0.0/8",
                "10.0.0.0/255.0.0.0",
                "1.2.3.4",
                "0.0.0.0/" + "9" * 5000,
                "\u0660.\u0660.\u0660.\u0660/\u0660",  # Arabic-Indic digits
            ]
        ),
        st.builds("{}/{}".format, st.ip_addresses().map(str), st.integers(-1, 200)),
        st.text(max_size=20),
    )
    labels = st.dictionaries(st.text(max_size=12), maybe(st.text(max_size=12)), max_size=3)
    expression = obj(
        key=maybe(st.text(max_size=10)),
        operator=maybe(st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist", "in", ""])),
        values=lists(st.text(max_size=6)),
    )
    selector = obj(matchLabels=maybe(labels), matchExpressions=lists(expression, max_size=12))
    ip_block = obj(cidr=maybe(cidrs), **{"except": lists(cidrs, max_size=4)})
    peer = obj(podSelector=maybe(selector), namespaceSelector=maybe(selector), ipBlock=maybe(ip_block))
    port_values = st.one_of(
        # Outside int32 is a decode error; only the odd-typed documents go there.
        st.integers(min_value=-(2**40), max_value=2**40) if odd_values else st.integers(-(2**31), 2**31 - 1),
        st.integers(min_value=0, max_value=70000),
        st.sampled_from(["dns", "dns-tcp", "http", "80", "", "DNS"]),
        st.text(max_size=16),
    )
    port = obj(
        protocol=maybe(st.sampled_from(["TCP", "UDP", "SCTP", "tcp", "", "ICMP"])),
        port=maybe(port_values),
        endPort=maybe(port_values if odd_values else st.integers(-(2**31), 2**31 - 1)),
    )
    ingress_rule = obj(ports=lists(port), **{"from": lists(peer, max_size=4)})
    egress_rule = obj(ports=lists(port), to=lists(peer, max_size=4))
    spec = obj(
        podSelector=maybe(selector),
        ingress=lists(ingress_rule, max_size=4),
        egress=lists(egress_rule, max_size=4),
        policyTypes=lists(st.sampled_from(["Ingress", "Egress", "ingress", "Both"])),
    )
    applied_json = st.one_of(
        st.sampled_from(
            ['{"spec": {}}', '{"spec": null}', "[", "null", '"s"', '{"spec": {"policyTypes": "x"}}', "{}"]
        ),
        spec.map(lambda value: orjson.dumps({"spec": value}).decode()),
        st.text(max_size=20),
    )
    annotations = st.dictionaries(
        st.sampled_from([LAST_APPLIED, "netpol-guard.io/exempt", "netpol-guard.io/exempt-reason", "note"]),
        maybe(
            st.one_of(applied_json, st.sampled_from(["forbid-allow-all, require-ports", "api-validation"]))
        ),
        max_size=4,
    )
    managed_fields = lists(
        obj(
            operation=maybe(st.sampled_from(["Apply", "Update"])),
            fieldsV1=maybe(
                obj(**{"f:spec": maybe(obj(**{"f:policyTypes": st.just({}), "f:ingress": st.just({})}))})
            ),
        )
    )
    metadata = obj(
        name=maybe(st.text(max_size=20)),
        namespace=maybe(st.sampled_from(["team-a", "kube-system", "", "default", "Ünïcode"])),
        labels=maybe(st.one_of(labels, st.just({"netpol-guard.io/baseline": "true", "team": "a"}))),
        annotations=maybe(annotations),
        managedFields=managed_fields,
    )
    return st.fixed_dictionaries(
        {"apiVersion": st.just("networking.k8s.io/v1"), "kind": st.just("NetworkPolicy")},
        optional={"metadata": maybe(metadata), "spec": maybe(spec)},
    )


well_typed = policy_documents(odd_values=False)
documents = st.one_of(well_typed, well_typed, policy_documents(odd_values=True), odd)


def decoded_or_none(document: Any) -> Any:
    try:
        return decode_policy(document)
    except PolicyShapeError:
        return None


contexts = st.builds(
    Context,
    source=st.sampled_from(["manifest", "admission"]),
    namespace=st.sampled_from(["", "team-a", "kube-system"]),
    operation=st.sampled_from(["CREATE", "UPDATE", "DELETE", "CONNECT"]),
    old_object=documents.map(decoded_or_none),
    username=st.sampled_from(["", "alice", "bob"]),
    groups=st.lists(st.sampled_from(["platform", "devs"]), max_size=2).map(tuple),
)


def _everything_on() -> RuleSet:
    rules: dict[str, Any] = {rule_id: {"action": "deny"} for rule_id in REGISTRY}
    rules["require-dns-egress"] = {"action": "warn"}
    rules["require-labels"] = {
        "labels": [{"key": "team", "pattern": "[a-z]+"}, {"key": "tier", "values": ["web"]}]
    }
    rules["require-annotations"] = {"action": "deny", "annotations": [{"key": "note"}]}
    rules["require-policy-types"] = {"mustInclude": ["Ingress", "Egress"]}
    rules["forbid-allow-all"] = {"allowPortScoped": False}
    rules["forbid-broad-cidr"] = {"allow": ["0.0.0.0/0"], "ipv4MinPrefix": 24}
    rules["limit-complexity"] = {"maxRules": 1, "maxPeersPerRule": 1, "maxCidrs": 1, "maxMatchExpressions": 1}
    rules["protect-baseline"] = {"allowedGroups": ["platform"]}
    document = {
        "apiVersion": "netpol-guard.io/v1alpha1",
        "kind": "RuleSet",
        "exemptions": {"namespaces": [], "annotation": {"enabled": True}},
        "rules": rules,
    }
    return parse_ruleset(document, "<everything on>")


RULESETS = {"default": load_ruleset(None), "everything-on": _everything_on()}


@EXAMPLES
@given(document=documents, context=contexts, which=st.sampled_from(sorted(RULESETS)))
def test_any_document_gets_a_verdict_and_never_an_exception(
    document: Any, context: Context, which: str
) -> None:
    verdict = evaluate_document(document, RULESETS[which], context)
    for violation in verdict.violations:
        assert violation.rule in REGISTRY
        assert isinstance(violation.path, str) and violation.problem and violation.fix
        assert violation.render().startswith(f"[{violation.rule}]")


@EXAMPLES
@given(document=well_typed, which=st.sampled_from(sorted(RULESETS)))
def test_an_unchanged_object_is_never_denied_on_update(document: Any, which: str) -> None:
    policy = decoded_or_none(document)
    if policy is None:
        return
    context = Context(source="admission", operation="UPDATE", old_object=policy)
    assert not evaluate(policy, RULESETS[which], context).denied
