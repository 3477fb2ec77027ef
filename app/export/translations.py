"""Each rule of the registry, in CEL: the checks it becomes and what of it CEL cannot express.

One translator per rule id, reading the rule's own validated settings, so that an exported policy says
what the webhook would with the same rules file. A check yields the list of offending values (empty when
the policy complies): the validation tests that the list is empty and the message lists them, through one
variable that the API server evaluates once for both. `TRANSLATORS` must name every id of
`app.rules.REGISTRY` (a test holds it to that), so a new rule cannot be exported silently without one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final

from app.export import cel
from app.netpol import EGRESS, INGRESS
from app.rules.base import RuleSettings
from app.rules.forbid_allow_all import ForbidAllowAllSettings
from app.rules.forbid_broad_cidr import ForbidBroadCidrSettings
from app.rules.limit_complexity import LimitComplexitySettings
from app.rules.limit_port_range import LimitPortRangeSettings
from app.rules.protect_baseline import BASELINE_LABEL, NAMESPACE_LIFECYCLE_USERS, ProtectBaselineSettings
from app.rules.require_dns_egress import DNS_PORT, DNS_PORT_NAMES, RequireDnsEgressSettings
from app.rules.require_labels import MetadataRequirement, RequireAnnotationsSettings, RequireLabelsSettings
from app.rules.require_policy_types import LAST_APPLIED, RequirePolicyTypesSettings
from app.rules.traffic import parse_network

DIRECTIONS: Final = (INGRESS, EGRESS)
SPLIT_GAP: Final = (
    "ipBlocks of one rule that only together cover every address (0.0.0.0/1 + 128.0.0.0/1) are not "
    "detected: CEL has no interval arithmetic over a list of CIDRs"
)


@dataclass(frozen=True, slots=True)
class Check:
    """One validation: ``offenders(root)`` is CEL for the list of offending values (strings)."""

    name: str
    offenders: Callable[[str], str]
    path: str
    problem: str
    fix: str


@dataclass(frozen=True, slots=True)
class Translation:
    """What a rule becomes: its checks, the operations they judge, and what CEL leaves out."""

    checks: tuple[Check, ...] = ()
    gaps: tuple[str, ...] = ()
    operations: tuple[str, ...] = ("CREATE", "UPDATE")
    condition: str | None = None
    """An extra matchCondition (the rule's own exemptions, e.g. protect-baseline's allowed users)."""
    grandfathered: bool = True
    """Whether the engine can grandfather its findings (only rules that also judge CREATE)."""
    bounded: bool = True
    """Whether its checks iterate the policy's lists (and so judge only policies within `bounds`)."""


def _field(direction: str) -> str:
    return cel.FIELDS[direction]


def _when(condition: str, value: str) -> str:
    """A one-item list holding ``value`` when ``condition`` holds, else ``[]``."""
    return f"({condition} ? [{value}] : [])"


def require_policy_types(settings: RequirePolicyTypesSettings) -> Translation:
    def lacks(wanted: str) -> Callable[[str], str]:
        return lambda root: _when(f'!("{wanted}" in {cel.effective_types(root)})', cel.string(wanted))

    def dead(direction: str) -> Callable[[str], str]:
        def offenders(root: str) -> str:
            types, rules = f"{root}.spec.policyTypes", cel.rules(root, direction)
            condition = (
                f'has({types}) && size({types}) > 0 && !("{direction}" in {types}) && size({rules}) > 0'
            )
            return _when(condition, f'string(size({rules})) + " {_field(direction)} rules"')

        return offenders

    checks = [
        Check(
            f"lacks_{wanted.lower()}",
            lacks(wanted),
            "spec.policyTypes",
            f"policyTypes lacks {wanted} (required here)",
            f"add {wanted} and the {wanted.lower()} rules needed",
        )
        for wanted in settings.must_include
    ]
    checks += [
        Check(
            f"dead_{_field(direction)}",
            dead(direction),
            f"spec.{_field(direction)}",
            f"rules ignored: policyTypes lacks {direction}",
            f"add {direction} to policyTypes, or delete them",
        )
        for direction in DIRECTIONS
    ]
    gap = (
        "policyTypes left out of the author's manifest: the webhook reads it from the "
        f"{LAST_APPLIED} annotation (JSON) and from managedFields, which CEL cannot parse"
    )
    return Translation(checks=tuple(checks), gaps=(gap,))


def forbid_allow_all(settings: ForbidAllowAllSettings) -> Translation:
    def offenders(direction: str) -> Callable[[str], str]:
        def build(root: str) -> str:
            peer_list = cel.peers("r", direction)
            judged = cel.every_port("r") if settings.allow_port_scoped else "true"
            bad = f"{judged} && (size({peer_list}) == 0 || {peer_list}.exists(p, {cel.everything_peer('p')}))"
            none = f"a rule with no {cel.PEER_FIELDS[direction]}"
            what = f'(size({peer_list}) == 0 ? "{none}" : "a peer matching everything")'
            return f"{cel.live_rules(root, direction)}.filter(r, {bad}).map(r, {what})"

        return build

    scope = "on every port" if settings.allow_port_scoped else "on every port or on some ports"
    return Translation(
        gaps=(SPLIT_GAP,),
        checks=tuple(
            Check(
                f"allow_all_{_field(direction)}",
                offenders(direction),
                f"spec.{_field(direction)}[*]",
                f"admits all {'sources' if direction == INGRESS else 'destinations'} {scope}",
                f"list the allowed {'sources' if direction == INGRESS else 'destinations'} and ports",
            )
            for direction in DIRECTIONS
        ),
    )


def _metadata(field: str, noun: str, requirements: Iterable[MetadataRequirement]) -> Translation:
    def offenders(item: MetadataRequirement) -> Callable[[str], str]:
        def build(root: str) -> str:
            found = cel.metadata_map(root, field)
            key = cel.string(item.key)
            value = f"{found}[{key}]"
            good = [f"{key} in {found}"]
            if item.pattern is not None:
                # Both sides run RE2 (app.patterns); CEL matches() is unanchored, rules match whole values.
                good.append(f"{value}.matches({cel.string('^(?:' + item.pattern + ')$')})")
            if item.values is not None:
                good.append(f"{value} in {cel.string_list(item.values)}")
            shown = f'({key} in {found} ? {key} + "=" + {value} : {key} + " is missing")'
            return _when("!(" + " && ".join(good) + ")", shown)

        return build

    def hint(item: MetadataRequirement) -> str:
        if item.values:
            return f" with one of: {', '.join(item.values)}"
        if item.pattern is not None:
            return f" with a value matching {item.pattern!r}"
        return ""

    return Translation(
        checks=tuple(
            Check(
                f"{noun}_{index}",
                offenders(item),
                f"metadata.{field}",
                f"{noun} {item.key!r} is missing or has a value that is not allowed",
                f"set {noun} {item.key!r}{hint(item)}",
            )
            for index, item in enumerate(requirements)
        )
    )


def require_labels(settings: RequireLabelsSettings) -> Translation:
    return _metadata("labels", "label", settings.labels)


def require_annotations(settings: RequireAnnotationsSettings) -> Translation:
    return _metadata("annotations", "annotation", settings.annotations)


def forbid_broad_cidr(settings: ForbidBroadCidrSettings) -> Translation:
    allowed = sorted({str(network) for network in map(parse_network, settings.allow) if network is not None})

    def fine(cidr: str) -> str:
        minimum = f'({cidr}.contains(":") ? {settings.ipv6_min_prefix} : {settings.ipv4_min_prefix})'
        check = f"{cel.prefix_length(cidr)} >= {minimum}"
        if allowed:
            # Compared as networks, like the webhook's allow list (10.0.0.1/8 is 10.0.0.0/8).
            check += f" || (isCIDR({cidr}) && string(cidr({cidr}).masked()) in {cel.string_list(allowed)})"
        return f"({check})"

    def offenders(direction: str) -> Callable[[str], str]:
        def build(root: str) -> str:
            peer_list = cel.peers("r", direction)
            broad = f"has(p.ipBlock) && !{fine('p.ipBlock.cidr')}"
            return (
                f"{cel.rules(root, direction)}.filter(r, {peer_list}.exists(p, {broad}))"
                f'.map(r, {peer_list}.filter(p, {broad}).map(p, p.ipBlock.cidr).join(", "))'
            )

        return build

    peer = {INGRESS: "from", EGRESS: "to"}
    return Translation(
        checks=tuple(
            Check(
                f"broad_cidr_{_field(direction)}",
                offenders(direction),
                f"spec.{_field(direction)}[*].{peer[direction]}[*].ipBlock.cidr",
                f"broader than /{settings.ipv4_min_prefix} (IPv4) or /{settings.ipv6_min_prefix} (IPv6)",
                "use a longer prefix, or add it to allow",
            )
            for direction in DIRECTIONS
        ),
        gaps=(
            (
                "allow: an entry is matched only when the API server's cidr() parses the value (values with "
                "leading zeros or IPv4-mapped IPv6 never match an allow entry)",
            )
            if allowed
            else ()
        ),
    )


def forbid_empty_pod_selector(settings: RuleSettings) -> Translation:
    def offenders(root: str) -> str:
        selector = f"{root}.spec.podSelector"
        empty = f"(!has({selector}) || {cel.empty_selector(selector)})"
        live = " + ".join(f"size({cel.live_rules(root, direction)})" for direction in DIRECTIONS)
        return _when(f"{empty} && {live} > 0", '"{}"')

    return Translation(
        checks=(
            Check(
                "empty_pod_selector",
                offenders,
                "spec.podSelector",
                "{} selects every pod in the namespace",
                "select the intended pods by label (matchLabels)",
            ),
        )
    )


def require_ports(settings: RuleSettings) -> Translation:
    def offenders(direction: str) -> Callable[[str], str]:
        def build(root: str) -> str:
            peer_list, port_list = cel.peers("r", direction), cel.ports("r")
            whole = f"{port_list}.exists(x, {cel.opens_whole_protocol('x')})"
            every = f'"every " + {cel.protocol("x")} + " port"'
            what = (
                f'(size({port_list}) == 0 ? "no ports" : {port_list}'
                f'.filter(x, {cel.opens_whole_protocol("x")}).map(x, {every}).join(", "))'
            )
            return (
                f"{cel.live_rules(root, direction)}"
                f".filter(r, size({peer_list}) > 0 && (size({port_list}) == 0 || {whole})).map(r, {what})"
            )

        return build

    return Translation(
        checks=tuple(
            Check(
                f"no_ports_{_field(direction)}",
                offenders(direction),
                f"spec.{_field(direction)}[*]",
                "rule has peers but no ports, or a port entry that opens a whole protocol",
                "list the ports the peers need",
            )
            for direction in DIRECTIONS
        )
    )


def limit_port_range(settings: LimitPortRangeSettings) -> Translation:
    def offenders(direction: str) -> Callable[[str], str]:
        def build(root: str) -> str:
            # `traffic.port_span`: no port (and no endPort) is 1-65535; a numeric port with endPort a range.
            whole = "(!has(x.port) && !has(x.endPort))"
            ranged = f"({cel.is_number('x')} && has(x.endPort))"
            limit = settings.max_ports
            wide = f"({whole} ? 65535 > {limit} : {ranged} && x.endPort - x.port + 1 > {limit})"
            every = f'"no port: every " + {cel.protocol("x")} + " port"'
            shown = f'({whole} ? {every} : string(x.port) + "-" + string(x.endPort))'
            ranges = f"{cel.ports('r')}.filter(x, {wide}).map(x, {shown})"
            return (
                f"{cel.rules(root, direction)}.filter(r, {cel.ports('r')}.exists(x, {wide}))"
                f'.map(r, {ranges}.join(", "))'
            )

        return build

    return Translation(
        checks=tuple(
            Check(
                f"port_range_{_field(direction)}",
                offenders(direction),
                f"spec.{_field(direction)}[*].ports[*]",
                f"port ranges over {settings.max_ports} ports",
                f"narrow them to at most {settings.max_ports} ports",
            )
            for direction in DIRECTIONS
        )
    )


def require_dns_egress(settings: RequireDnsEgressSettings) -> Translation:
    dns_namespaces = settings.dns_namespaces

    def admits(names: frozenset[str]) -> str:
        """`traffic.admits_port` for port 53 over protocol ``q`` (a CEL variable), named ports ``names``."""
        number = (
            f"x.port == {DNS_PORT} || (has(x.endPort) && x.port <= {DNS_PORT} && {DNS_PORT} <= x.endPort)"
        )
        named = f"x.port in {cel.string_list(sorted(names))}" if names else "false"
        ports = cel.ports("r")
        return (
            f"(size({ports}) == 0 || {ports}.exists(x, {cel.protocol('x')} == q && "
            f"(!has(x.port) || (type(x.port) == string ? {named} : ({number})))))"
        )

    def named_for(protocol: str) -> frozenset[str]:
        return DNS_PORT_NAMES.get(protocol, frozenset())

    def admits_dns() -> str:
        """One rule ``r`` admits DNS over ``q`` to a peer that could be cluster DNS."""
        udp, tcp = admits(named_for("UDP")), admits(named_for("TCP"))
        by_name = f'(q == "UDP" ? {udp} : {tcp})'
        if dns_namespaces:
            namespaces = " || ".join(
                cel.selects_namespace("p.namespaceSelector", name) for name in dns_namespaces
            )
            own = f"request.namespace in {cel.string_list(dns_namespaces)}"
        else:
            namespaces, own = "false", "false"
        peer = f"(has(p.namespaceSelector) ? ({namespaces}) : {own})"
        peers = cel.peers("r", EGRESS)
        return (
            f"(size({peers}) == 0 ? {by_name} : "
            f"{peers}.exists(p, has(p.ipBlock) ? {admits(frozenset())} : ({peer} && {by_name})))"
        )

    def offenders(root: str) -> str:
        egress = cel.rules(root, EGRESS)
        restricted = f'"Egress" in {cel.effective_types(root)} && size({egress}) > 0'
        return f'({restricted} ? ["UDP", "TCP"].filter(q, !{egress}.exists(r, {admits_dns()})) : [])'

    where = ", ".join(dns_namespaces)
    return Translation(
        checks=(
            Check(
                "dns_egress",
                offenders,
                "spec.egress",
                f"no egress rule allows DNS (port {DNS_PORT}) to a peer that could be cluster DNS, over",
                f"allow port {DNS_PORT} over UDP and TCP to cluster DNS (a namespaceSelector for {where}, "
                "or a rule without `to`)",
            ),
        ),
        gaps=(
            "a namespaceSelector is read only on kubernetes.io/metadata.name: one that contradicts itself on "
            "other labels still counts as reaching DNS",
        ),
    )


def limit_complexity(settings: LimitComplexitySettings) -> Translation:
    def too_many_rules(direction: str) -> Callable[[str], str]:
        return lambda root: _when(
            f"size({cel.rules(root, direction)}) > {settings.max_rules}",
            f"string(size({cel.rules(root, direction)}))",
        )

    def crowded(direction: str) -> Callable[[str], str]:
        def build(root: str) -> str:
            peer_list = cel.peers("r", direction)
            return (
                f"{cel.rules(root, direction)}.filter(r, size({peer_list}) > {settings.max_peers_per_rule})"
                f".map(r, string(size({peer_list})))"
            )

        return build

    def long_except(direction: str) -> Callable[[str], str]:
        def build(root: str) -> str:
            peer_list = cel.peers("r", direction)
            excepts = cel.optional_list("p.ipBlock.except")
            long = f"has(p.ipBlock) && size({excepts}) > {settings.max_except_per_block}"
            return (
                f"{cel.rules(root, direction)}.filter(r, {peer_list}.exists(p, {long}))"
                f'.map(r, {peer_list}.filter(p, {long}).map(p, string(size(p.ipBlock.except))).join(", "))'
            )

        return build

    def cidrs(root: str) -> str:
        def count(direction: str) -> str:
            peer_list = cel.peers("r", direction)
            per_peer = f"has(p.ipBlock) ? 1 + size({cel.optional_list('p.ipBlock.except')}) : 0"
            return f"{cel.rules(root, direction)}.map(r, {peer_list}.map(p, {per_peer}).sum()).sum()"

        total = f"({count(INGRESS)} + {count(EGRESS)})"
        return _when(f"{total} > {settings.max_cidrs}", f"string({total})")

    def selectors(root: str) -> str:
        limit = settings.max_match_expressions

        def crowded_selector(selector: str) -> str:
            return f"(has({selector}) && size({cel.optional_list(selector + '.matchExpressions')}) > {limit})"

        pod = f"{root}.spec.podSelector"
        parts = [_when(crowded_selector(pod), '"spec.podSelector"')]
        for direction in DIRECTIONS:
            peer_list = cel.peers("r", direction)
            for which in ("podSelector", "namespaceSelector"):
                crowded_peer = crowded_selector(f"p.{which}")
                parts.append(
                    f"{cel.rules(root, direction)}.filter(r, {peer_list}.exists(p, {crowded_peer}))"
                    f'.map(r, "spec.{_field(direction)}[*].{cel.PEER_FIELDS[direction]}[*].{which}")'
                )
        return " + ".join(parts)

    checks: list[Check] = []
    for direction in DIRECTIONS:
        field = _field(direction)
        checks.append(
            Check(
                f"rules_{field}",
                too_many_rules(direction),
                f"spec.{field}",
                f"{field} rules exceed the limit of {settings.max_rules}",
                "merge rules with the same ports, or split the policy by workload",
            )
        )
    for direction in DIRECTIONS:
        field, peer = _field(direction), cel.PEER_FIELDS[direction]
        checks.append(
            Check(
                f"peers_{field}",
                crowded(direction),
                f"spec.{field}[*].{peer}",
                f"peers in one rule exceed the limit of {settings.max_peers_per_rule}",
                "select peers by label instead of listing them, or split the rule",
            )
        )
        checks.append(
            Check(
                f"except_{field}",
                long_except(direction),
                f"spec.{field}[*].{peer}[*].ipBlock.except",
                f"except entries exceed the limit of {settings.max_except_per_block}",
                "merge adjacent except ranges, or split the cidr into smaller blocks",
            )
        )
    checks.append(
        Check(
            "cidrs",
            cidrs,
            "spec",
            f"CIDRs (cidr and except entries) exceed the limit of {settings.max_cidrs}",
            "aggregate adjacent ranges into shorter prefixes, or split the policy",
        )
    )
    checks.append(
        Check(
            "match_expressions",
            selectors,
            "matchExpressions",
            f"selectors with more than {settings.max_match_expressions} matchExpressions",
            "label the pods or namespaces for this purpose and match that one label",
        )
    )
    return Translation(checks=tuple(checks))


def protect_baseline(settings: ProtectBaselineSettings) -> Translation:
    label = cel.string(BASELINE_LABEL)

    def baseline(root: str) -> str:
        labels = cel.metadata_map(root, "labels")
        return f'({label} in {labels} && {labels}[{label}] == "true")'

    def deleted(root: str) -> str:
        return _when(f'request.operation == "DELETE" && {baseline("oldObject")}', "oldObject.metadata.name")

    def unlabelled(root: str) -> str:
        condition = f'request.operation == "UPDATE" && {baseline("oldObject")} && !{baseline("object")}'
        return _when(condition, label)

    def changed(root: str) -> str:
        condition = (
            f'request.operation == "UPDATE" && {baseline("oldObject")} && object.spec != oldObject.spec'
        )
        return _when(condition, '"spec"')

    # The namespace controller and the garbage collector always pass (namespace deletion must finish).
    allowed = [f"!({cel.user_in(sorted(NAMESPACE_LIFECYCLE_USERS | set(settings.allowed_users)))})"]
    if settings.allowed_groups:
        allowed.append(f"!{cel.group_in(settings.allowed_groups)}")
    fix = "ask someone in protect-baseline's allowedUsers or allowedGroups"
    return Translation(
        checks=(
            Check("deleted", deleted, "metadata.labels", "a baseline policy cannot be deleted", fix),
            Check(
                "unlabelled",
                unlabelled,
                "metadata.labels",
                f"the {BASELINE_LABEL} label cannot be removed",
                fix,
            ),
            Check("changed", changed, "spec", "the spec of a baseline policy cannot be changed", fix),
        ),
        operations=("UPDATE", "DELETE"),
        condition=" && ".join(allowed),
        grandfathered=False,
        bounded=False,
    )


def api_validation(settings: RuleSettings) -> Translation:
    return Translation(
        gaps=(
            "not exported: the API server validates NetworkPolicy objects itself before any admission policy",
        )
    )


TRANSLATORS: Final[dict[str, Callable[[Any], Translation]]] = {
    "require-policy-types": require_policy_types,
    "forbid-allow-all": forbid_allow_all,
    "require-labels": require_labels,
    "require-annotations": require_annotations,
    "forbid-broad-cidr": forbid_broad_cidr,
    "forbid-empty-pod-selector": forbid_empty_pod_selector,
    "require-ports": require_ports,
    "limit-port-range": limit_port_range,
    "require-dns-egress": require_dns_egress,
    "limit-complexity": limit_complexity,
    "protect-baseline": protect_baseline,
    "api-validation": api_validation,
}


def translate(rule_id: str, settings: RuleSettings) -> Translation:
    """The CEL form of one rule with its settings."""
    return TRANSLATORS[rule_id](settings)


def check_names(translation: Translation) -> Iterator[str]:
    return (check.name for check in translation.checks)
