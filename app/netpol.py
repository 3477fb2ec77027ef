"""The typed NetworkPolicy view, decoded the way the API server decodes it, plus its defaulting.

Decoding mirrors the Go struct: wrong JSON types are decode errors (the API server's HTTP 400), a
``null`` list element is the zero value (``ingress: [null]`` is ``ingress: [{}]``), unknown fields are
ignored (a newer API server may know fields we do not). Values are kept as authored so that
`api-validation` can judge them; rules that reason about meaning use the ``effective_*`` helpers,
which apply the API server's defaulting, so a raw manifest and the same object at admission agree.

The nodes are validated ``TypedDict``s keyed by the wire names (``peer.get("ipBlock")``): pydantic-core
builds plain dicts, several times faster than a tree of model instances. One `NetworkPolicy` object
wraps the decoded dict and caches the walks every rule shares.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Final, NotRequired

from pydantic import BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError, with_config
from typing_extensions import TypedDict

from app.errors import NetpolGuardError
from app.limits import measure

INGRESS: Final = "Ingress"
EGRESS: Final = "Egress"
DEFAULT_PROTOCOL: Final = "TCP"
PROTOCOLS: Final = ("TCP", "UDP", "SCTP")
"""Every protocol a NetworkPolicy port may name (the API server rejects any other)."""

_INT32_MIN: Final = -(2**31)
_INT32_MAX: Final = 2**31 - 1
# Like the Go decoder: JSON types are not coerced; fields we do not know are dropped.
_WIRE: Final = ConfigDict(strict=True, extra="ignore")


class PolicyShapeError(NetpolGuardError):
    """The object cannot be decoded as a NetworkPolicy (the API server would answer 400 BadRequest).

    ``problems`` holds ``(field path, message)`` pairs, e.g. ``("spec.ingress[0].from", "must be a list,
    got an object")``.
    """

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{path}: {message}" for path, message in problems))


def _zero_nulls(value: Any) -> Any:
    # Go decodes a null list element into the element's zero value: `ingress: [null]` == `ingress: [{}]`.
    # (`None in value` scans in C; the copy is only made for the rare list that holds a null.)
    if isinstance(value, list) and None in value:
        return [{} if item is None else item for item in value]
    return value


@with_config(_WIRE)
class LabelSelectorRequirement(TypedDict, total=False):
    key: str
    operator: str
    values: list[str] | None


@with_config(_WIRE)
class LabelSelector(TypedDict, total=False):
    matchLabels: dict[str, str] | None
    matchExpressions: Annotated[list[LabelSelectorRequirement] | None, BeforeValidator(_zero_nulls)]


IPBlock = TypedDict("IPBlock", {"cidr": NotRequired[str], "except": NotRequired[list[str] | None]})
with_config(_WIRE)(IPBlock)


@with_config(_WIRE)
class NetworkPolicyPeer(TypedDict, total=False):
    podSelector: LabelSelector | None
    namespaceSelector: LabelSelector | None
    ipBlock: IPBlock | None


Int32 = Annotated[int, Field(ge=_INT32_MIN, le=_INT32_MAX)]


@with_config(_WIRE)
class NetworkPolicyPort(TypedDict, total=False):
    protocol: str | None
    port: Int32 | str | None
    endPort: Int32 | None


Ports = Annotated[list[NetworkPolicyPort] | None, BeforeValidator(_zero_nulls)]
Peers = Annotated[list[NetworkPolicyPeer] | None, BeforeValidator(_zero_nulls)]

IngressRule = TypedDict("IngressRule", {"ports": NotRequired[Ports], "from": NotRequired[Peers]})
with_config(_WIRE)(IngressRule)


@with_config(_WIRE)
class EgressRule(TypedDict, total=False):
    ports: Ports
    to: Peers


@with_config(_WIRE)
class NetworkPolicySpec(TypedDict, total=False):
    # A null podSelector (a non-pointer struct in Go) is the empty selector: see `NetworkPolicy.pod_selector`.
    podSelector: LabelSelector | None
    ingress: Annotated[list[IngressRule] | None, BeforeValidator(_zero_nulls)]
    egress: Annotated[list[EgressRule] | None, BeforeValidator(_zero_nulls)]
    policyTypes: list[str] | None


@with_config(_WIRE)
class ObjectMeta(TypedDict, total=False):
    name: str | None
    generateName: str | None
    namespace: str | None
    labels: dict[str, str] | None
    annotations: dict[str, str] | None
    managedFields: list[dict[str, Any]] | None


@with_config(_WIRE)
class NetworkPolicyObject(TypedDict, total=False):
    """The decoded object; null or absent ``metadata``/``spec`` are the empty structs (see the view)."""

    apiVersion: str
    kind: str
    metadata: ObjectMeta | None
    spec: NetworkPolicySpec | None


_ADAPTER: Final = TypeAdapter(NetworkPolicyObject)


def is_empty(selector: LabelSelector) -> bool:
    """True when the selector matches everything (``{}``)."""
    return not selector.get("matchLabels") and not selector.get("matchExpressions")


def effective_protocol(port: NetworkPolicyPort) -> str:
    """The protocol after defaulting: absent or null means TCP (an explicit "" is not defaulted)."""
    protocol = port.get("protocol")
    return DEFAULT_PROTOCOL if protocol is None else protocol


class PolicyRule:
    """One ingress or egress rule: ``peers`` is its ``from`` (ingress) or ``to`` (egress) list."""

    __slots__ = ("peers", "ports")

    def __init__(self, peers: list[NetworkPolicyPeer] | None, ports: list[NetworkPolicyPort] | None) -> None:
        self.peers = peers
        self.ports = ports


DIRECTIONS: Final = ((INGRESS, "ingress", "from"), (EGRESS, "egress", "to"))
"""(policy type, spec field, peer field) for both directions, in the order findings are reported."""

RuleEntry = tuple[str, str, str, PolicyRule]
"""(direction, rule path, peer field, rule), e.g. ("Ingress", "spec.ingress[0]", "from", rule)."""


class NetworkPolicy:
    """A decoded NetworkPolicy: the validated object, its defaulting, and the walks rules share.

    ``spec`` and ``metadata`` are the decoded dicts (empty when absent or null). The walks are done once
    per decoded object, on first use; the view is never mutated, so they cannot go stale. (A decoded
    policy is not shared between threads before its first walk; a racing recomputation would give the
    same value.)
    """

    __slots__ = ("_live_rules", "_rules", "metadata", "obj", "source", "spec")

    def __init__(self, obj: NetworkPolicyObject, source: dict[str, Any] | None = None) -> None:
        self.obj = obj
        # The object as given, before decoding dropped what the type does not know (strict decoding
        # reports those fields); the decoded object itself when none was given.
        self.source: dict[str, Any] = source if source is not None else dict(obj)
        self.spec: NetworkPolicySpec = obj.get("spec") or {}
        self.metadata: ObjectMeta = obj.get("metadata") or {}
        self._rules: tuple[RuleEntry, ...] | None = None
        self._live_rules: tuple[RuleEntry, ...] | None = None

    @property
    def pod_selector(self) -> LabelSelector:
        """spec.podSelector; absent or null is ``{}`` (every pod in the namespace)."""
        return self.spec.get("podSelector") or {}

    @property
    def effective_policy_types(self) -> tuple[str, ...]:
        """policyTypes after the API server's defaulting.

        Absent or empty becomes ``[Ingress]``, plus ``Egress`` only when ``egress`` has at least one rule.
        """
        policy_types = self.spec.get("policyTypes")
        if policy_types:
            return tuple(policy_types)
        return (INGRESS, EGRESS) if self.spec.get("egress") else (INGRESS,)

    def rules(self, direction: str) -> list[IngressRule] | list[EgressRule]:
        """The rules of one direction (``Ingress`` or ``Egress``); empty when absent."""
        return (self.spec.get("ingress") if direction == INGRESS else self.spec.get("egress")) or []

    @property
    def display_name(self) -> str:
        """``namespace/name`` (or just the name when no namespace is known)."""
        meta = self.metadata
        return display_name(meta.get("namespace"), meta.get("name") or meta.get("generateName"))

    @property
    def rule_entries(self) -> tuple[RuleEntry, ...]:
        """Every ingress and egress rule with its path, in report order."""
        if self._rules is None:
            self._rules = _walk_rules(self.spec)
        return self._rules

    @property
    def live_rule_entries(self) -> tuple[RuleEntry, ...]:
        """`rule_entries` restricted to the directions in the effective policyTypes."""
        if self._live_rules is None:
            live = self.effective_policy_types
            self._live_rules = tuple(entry for entry in self.rule_entries if entry[0] in live)
        return self._live_rules


def display_name(namespace: str | None, name: str | None) -> str:
    """How an object is named to people: ``namespace/name``, just the name when no namespace is known,
    ``<unnamed>`` when it has no name."""
    name = name or "<unnamed>"
    return f"{namespace}/{name}" if namespace else name


def metadata_string(obj: Any, key: str) -> str | None:
    """``metadata.<key>`` of an undecoded object when it is a non-empty string, else None."""
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    value = meta.get(key) if isinstance(meta, dict) else None
    return value if isinstance(value, str) and value else None


def undecoded_display_name(obj: Any, namespace: str | None = None) -> str:
    """`display_name` of an object that may not decode: ``namespace`` (else its own) and its name."""
    name = metadata_string(obj, "name") or metadata_string(obj, "generateName")
    return display_name(namespace or metadata_string(obj, "namespace"), name)


def _walk_rules(spec: NetworkPolicySpec) -> tuple[RuleEntry, ...]:
    entries: list[RuleEntry] = [
        (INGRESS, f"spec.ingress[{index}]", "from", PolicyRule(rule.get("from"), rule.get("ports")))
        for index, rule in enumerate(spec.get("ingress") or ())
    ]
    entries.extend(
        (EGRESS, f"spec.egress[{index}]", "to", PolicyRule(rule.get("to"), rule.get("ports")))
        for index, rule in enumerate(spec.get("egress") or ())
    )
    return tuple(entries)


def iter_rules(policy: NetworkPolicy) -> Iterator[RuleEntry]:
    """Yield ``(direction, rule path, peer field, rule)`` for every ingress and egress rule."""
    return iter(policy.rule_entries)


def iter_selectors(policy: NetworkPolicy) -> Iterator[tuple[str, LabelSelector]]:
    """Yield ``(path, selector)`` for spec.podSelector and every peer selector."""
    yield "spec.podSelector", policy.pod_selector
    for _, rule_path, peer_field, rule in policy.rule_entries:
        for index, peer in enumerate(rule.peers or ()):
            pod_selector, namespace_selector = peer.get("podSelector"), peer.get("namespaceSelector")
            if pod_selector is not None:
                yield f"{rule_path}.{peer_field}[{index}].podSelector", pod_selector
            if namespace_selector is not None:
                yield f"{rule_path}.{peer_field}[{index}].namespaceSelector", namespace_selector


def iter_ip_blocks(policy: NetworkPolicy) -> Iterator[tuple[str, IPBlock]]:
    """Yield ``(path, ipBlock)`` for every ipBlock peer."""
    for _, rule_path, peer_field, rule in policy.rule_entries:
        for index, peer in enumerate(rule.peers or ()):
            block = peer.get("ipBlock")
            if block is not None:
                yield f"{rule_path}.{peer_field}[{index}].ipBlock", block


def _selector_value(selector: LabelSelector | None) -> object:
    if selector is None:
        return None
    expressions = selector.get("matchExpressions")
    return (
        selector.get("matchLabels"),
        None
        if expressions is None
        else [(item.get("key", ""), item.get("operator", ""), item.get("values")) for item in expressions],
    )


def _peers_value(peers: list[NetworkPolicyPeer] | None) -> object:
    if peers is None:
        return None
    values = []
    for peer in peers:
        block = peer.get("ipBlock")
        values.append(
            (
                _selector_value(peer.get("podSelector")),
                _selector_value(peer.get("namespaceSelector")),
                None if block is None else (block.get("cidr", ""), block.get("except")),
            )
        )
    return values


def _ports_value(ports: list[NetworkPolicyPort] | None) -> object:
    if ports is None:
        return None
    return [(port.get("protocol"), port.get("port"), port.get("endPort")) for port in ports]


def spec_value(policy: NetworkPolicy) -> object:
    """The spec as a comparable value: equal exactly when the two specs decode to the same meaning.

    Every field takes its zero value when absent, so ``podSelector: null``, ``podSelector: {}`` and no
    podSelector are equal, as are ``ports: null`` and no ports; ``[]`` stays different from absent.
    """
    spec = policy.spec
    ingress, egress = spec.get("ingress"), spec.get("egress")
    return (
        _selector_value(policy.pod_selector),
        None
        if ingress is None
        else [(_ports_value(rule.get("ports")), _peers_value(rule.get("from"))) for rule in ingress],
        None
        if egress is None
        else [(_ports_value(rule.get("ports")), _peers_value(rule.get("to"))) for rule in egress],
        spec.get("policyTypes"),
    )


_EXPECTED = {
    "list_type": "must be a list",
    "dict_type": "must be an object (a mapping)",
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "less_than_equal": "does not fit a 32-bit integer",
    "greater_than_equal": "does not fit a 32-bit integer",
}
_UNION_TAGS = frozenset({"int", "str", "constrained-int", "function-before", "none"})


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def format_path(loc: tuple[int | str, ...]) -> str:
    """Turn a pydantic location into a Kubernetes field path: ``spec.ingress[0].from``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in _UNION_TAGS or "[" in part:
            continue  # pydantic's union member / validator tags are not fields
        else:
            path += f".{part}" if path else part
    return path


def decode_policy(obj: Any) -> NetworkPolicy:
    """Decode a parsed JSON/YAML object into the typed view, or raise `PolicyShapeError`.

    An object over netpol-guard's size limits raises `app.limits.PolicyTooLargeError` before anything
    is built (the webhook and `check` both decode here, so both apply the same limits).
    """
    if not isinstance(obj, dict):
        raise PolicyShapeError([("", f"a NetworkPolicy must be an object, got {_json_type(obj)}")])
    measure(obj)
    try:
        return NetworkPolicy(_ADAPTER.validate_python(obj), obj)
    except ValidationError as exc:
        problems: dict[str, str] = {}
        for error in exc.errors():
            path = format_path(error["loc"])
            expected = _EXPECTED.get(error["type"], error["msg"])
            problems.setdefault(path, f"{expected}, got {_json_type(error['input'])}")
        raise PolicyShapeError(list(problems.items())) from None
