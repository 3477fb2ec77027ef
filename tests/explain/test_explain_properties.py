"""Properties of explain and diff: diff X X is empty, opens and closes mirror, nothing the engine
accepts makes either crash."""

from __future__ import annotations

import ipaddress
from typing import Any

from explain_cases import manifest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.explain.diff import diff_explanations
from app.explain.document import diff_document, explain_document
from app.explain.markdown import render_diff_markdown, render_explain_markdown
from app.explain.model import explain_policy
from app.explain.text import render_diff_text, render_explain_text
from app.netpol import PolicyShapeError, decode_policy

EXAMPLES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Small value domains, so that generated policies overlap, nest and collide often.
keys = st.sampled_from(["app", "tier", "kubernetes.io/metadata.name"])
values = st.sampled_from(["a", "b", "shop"])
selector = st.fixed_dictionaries(
    {},
    optional={
        "matchLabels": st.dictionaries(keys, values, max_size=2),
        "matchExpressions": st.lists(
            st.one_of(
                st.builds(
                    lambda k, o, v: {"key": k, "operator": o, "values": v},
                    keys,
                    st.sampled_from(["In", "NotIn"]),
                    st.lists(values, min_size=1, max_size=2),
                ),
                st.builds(
                    lambda k, o: {"key": k, "operator": o}, keys, st.sampled_from(["Exists", "DoesNotExist"])
                ),
            ),
            max_size=2,
        ),
    },
)
CIDRS = ["0.0.0.0/0", "10.0.0.0/8", "10.1.0.0/16", "10.0.0.0/9", "::/0", "fd00::/8", "10.1.2.3/32"]
# The API server accepts an except only as a strict subnet of its cidr (and written once): two blocks with
# the same addresses are then written the same way, so a change's peer reads the same from either side.
EXCEPTS_OF = {
    block: [
        part
        for part in ("10.1.0.0/16", "10.1.2.0/24")
        if ipaddress.ip_network(part).version == ipaddress.ip_network(block).version
        and ipaddress.ip_network(part) != ipaddress.ip_network(block)
        and ipaddress.ip_network(part).subnet_of(ipaddress.ip_network(block))
    ]
    for block in CIDRS
}


ip_block = st.sampled_from(CIDRS).flatmap(
    lambda block: (
        st.fixed_dictionaries(
            {"cidr": st.just(block)},
            optional={
                "except": st.lists(st.sampled_from(EXCEPTS_OF[block]), min_size=1, max_size=2, unique=True)
            },
        )
        if EXCEPTS_OF[block]
        else st.just({"cidr": block})
    )
)
peer = st.one_of(
    st.fixed_dictionaries({"podSelector": selector}, optional={"namespaceSelector": selector}),
    st.fixed_dictionaries({"namespaceSelector": selector}),
    st.fixed_dictionaries({"ipBlock": ip_block}),
)
port = st.fixed_dictionaries(
    {},
    optional={
        "protocol": st.sampled_from(["TCP", "UDP", "SCTP"]),
        "port": st.one_of(st.sampled_from([53, 80, 443, 8080]), st.sampled_from(["http", "dns"])),
    },
) | st.builds(
    lambda low, span: {"port": low, "endPort": low + span},
    st.sampled_from([1, 80, 1000]),
    st.integers(0, 70000),
)
ingress_rule = st.fixed_dictionaries(
    {}, optional={"from": st.lists(peer, max_size=3), "ports": st.lists(port, max_size=3)}
)
egress_rule = st.fixed_dictionaries(
    {}, optional={"to": st.lists(peer, max_size=3), "ports": st.lists(port, max_size=3)}
)
spec = st.fixed_dictionaries(
    {"podSelector": selector},
    optional={
        "ingress": st.lists(ingress_rule, max_size=3),
        "egress": st.lists(egress_rule, max_size=3),
        "policyTypes": st.lists(st.sampled_from(["Ingress", "Egress"]), min_size=1, max_size=2, unique=True),
    },
)


def explained(value: Any) -> Any:
    return explain_policy(decode_policy(manifest(value)))


def _signature(changes: Any, kind: str) -> list[tuple[str, str, str]]:
    return sorted((c.direction, c.peer, c.ports) for c in changes if c.kind == kind)


@EXAMPLES
@given(spec)
def test_diff_of_a_policy_with_itself_reports_nothing(value: dict[str, Any]) -> None:
    policy = explained(value)
    assert diff_explanations([policy], [policy]).changes == ()


@EXAMPLES
@given(spec, spec)
def test_what_a_to_b_opens_b_to_a_closes(a: dict[str, Any], b: dict[str, Any]) -> None:
    forward = diff_explanations([explained(a)], [explained(b)]).changes
    backward = diff_explanations([explained(b)], [explained(a)]).changes
    assert _signature(forward, "opens") == _signature(backward, "closes")
    assert _signature(forward, "closes") == _signature(backward, "opens")
    # Same peer, other ports: shown old -> new, so the arrow turns round.
    turned = sorted(
        (d, peer, " -> ".join(reversed(ports.split(" -> "))))
        for d, peer, ports in _signature(backward, "narrows")
    )
    assert _signature(forward, "widens") == turned
    assert _signature(forward, "isolates") == _signature(backward, "stops-isolating")
    assert len(_signature(forward, "unknown")) == len(_signature(backward, "unknown"))


# Anything JSON-shaped: the engine accepts whatever decodes; explain and diff must render all of it.
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**31), 2**31 - 1), st.text(max_size=8)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=20,
)
wild_spec = st.one_of(
    spec,
    st.fixed_dictionaries(
        {},
        optional={
            "podSelector": json_values,
            "ingress": st.lists(
                st.fixed_dictionaries({}, optional={"from": json_values, "ports": json_values})
            ),
            "egress": st.lists(st.fixed_dictionaries({}, optional={"to": json_values, "ports": json_values})),
            "policyTypes": json_values,
        },
    ),
    st.builds(
        lambda c, e, p, end, proto: {
            "ingress": [
                {
                    "from": [{"ipBlock": {"cidr": c, "except": e}}],
                    "ports": [{"port": p, "endPort": end, "protocol": proto}],
                }
            ]
        },
        st.text(max_size=12),
        st.lists(st.text(max_size=12), max_size=2),
        st.one_of(st.integers(-(2**31), 2**31 - 1), st.text(max_size=5)),
        st.integers(-(2**31), 2**31 - 1),
        st.sampled_from(["TCP", "", "ICMP", "udp"]),
    ),
)


@EXAMPLES
@given(wild_spec, wild_spec)
def test_explain_and_diff_never_crash_on_what_decodes(a: Any, b: Any) -> None:
    try:
        old, new = explained(a), explained(b)
    except PolicyShapeError:
        return  # the engine rejects it too (a decode error), before any rule or explanation runs
    document = explain_document([old, new], by_subject=True)
    assert render_explain_text(document) and render_explain_markdown(document)
    diffed = diff_document(diff_explanations([old], [new]))
    assert render_diff_text(diffed).endswith("\n")
    assert render_diff_markdown(diffed).startswith("<!-- netpol-guard:diff v1 -->")
