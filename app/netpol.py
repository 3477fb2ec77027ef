"""The typed NetworkPolicy view, decoded the way the API server decodes it, plus its defaulting.

Decoding mirrors the Go struct: wrong JSON types are decode errors (the API server's HTTP 400), a
``null`` list element is the zero value (``ingress: [null]`` is ``ingress: [{}]``), unknown fields are
ignored (a newer API server may know fields we do not). Values are kept as authored so that
`api-validation` can judge them; rules that reason about meaning use the ``effective_*`` accessors,
which apply the API server's defaulting, so a raw manifest and the same object at admission agree.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any, Final

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from app.errors import NetpolGuardError

INGRESS: Final = "Ingress"
EGRESS: Final = "Egress"
DEFAULT_PROTOCOL: Final = "TCP"

_INT32_MIN: Final = -(2**31)
_INT32_MAX: Final = 2**31 - 1


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


def _null_is_empty(value: Any) -> Any:
    # A non-pointer struct field (spec.podSelector, metadata, spec): null or absent is the empty struct.
    return {} if value is None else value


class _Wire(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, populate_by_name=True)


class LabelSelectorRequirement(_Wire):
    key: str = ""
    operator: str = ""
    values: Annotated[list[str] | None, Field()] = None


class LabelSelector(_Wire):
    match_labels: dict[str, str] | None = Field(default=None, alias="matchLabels")
    match_expressions: Annotated[list[LabelSelectorRequirement] | None, BeforeValidator(_zero_nulls)] = Field(
        default=None, alias="matchExpressions"
    )

    @property
    def is_empty(self) -> bool:
        """True when the selector matches everything (``{}``)."""
        return not self.match_labels and not self.match_expressions


class IPBlock(_Wire):
    cidr: str = ""
    except_: list[str] | None = Field(default=None, alias="except")


class NetworkPolicyPeer(_Wire):
    pod_selector: LabelSelector | None = Field(default=None, alias="podSelector")
    namespace_selector: LabelSelector | None = Field(default=None, alias="namespaceSelector")
    ip_block: IPBlock | None = Field(default=None, alias="ipBlock")


Int32 = Annotated[int, Field(ge=_INT32_MIN, le=_INT32_MAX)]


class NetworkPolicyPort(_Wire):
    protocol: str | None = None
    port: Int32 | str | None = None
    end_port: Int32 | None = Field(default=None, alias="endPort")

    @property
    def effective_protocol(self) -> str:
        """The protocol after defaulting: absent or null means TCP (an explicit "" is not defaulted)."""
        return DEFAULT_PROTOCOL if self.protocol is None else self.protocol


Ports = Annotated[list[NetworkPolicyPort] | None, BeforeValidator(_zero_nulls)]
Peers = Annotated[list[NetworkPolicyPeer] | None, BeforeValidator(_zero_nulls)]


class NetworkPolicyRule(_Wire):
    """An ingress or egress rule; ``peers`` is ``from`` for ingress and ``to`` for egress."""

    ports: Ports = None
    peers: Peers = None


class IngressRule(NetworkPolicyRule):
    peers: Peers = Field(default=None, alias="from")


class EgressRule(NetworkPolicyRule):
    peers: Peers = Field(default=None, alias="to")


class NetworkPolicySpec(_Wire):
    pod_selector: Annotated[LabelSelector, BeforeValidator(_null_is_empty)] = Field(
        default_factory=LabelSelector, alias="podSelector"
    )
    ingress: Annotated[list[IngressRule] | None, BeforeValidator(_zero_nulls)] = None
    egress: Annotated[list[EgressRule] | None, BeforeValidator(_zero_nulls)] = None
    policy_types: list[str] | None = Field(default=None, alias="policyTypes")

    @property
    def effective_policy_types(self) -> tuple[str, ...]:
        """policyTypes after the API server's defaulting.

        Absent or empty becomes ``[Ingress]``, plus ``Egress`` only when ``egress`` has at least one rule.
        """
        if self.policy_types:
            return tuple(self.policy_types)
        return (INGRESS, EGRESS) if self.egress else (INGRESS,)

    def rules(self, direction: str) -> list[IngressRule] | list[EgressRule]:
        """The rules of one direction (``Ingress`` or ``Egress``); empty when absent."""
        return (self.ingress if direction == INGRESS else self.egress) or []


class ObjectMeta(_Wire):
    name: str | None = None
    generate_name: str | None = Field(default=None, alias="generateName")
    namespace: str | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    managed_fields: list[dict[str, Any]] | None = Field(default=None, alias="managedFields")


if TYPE_CHECKING:
    _computed_once = cached_property
else:

    class _computed_once(cached_property):
        """`functools.cached_property` without its per-access lock (Python 3.11 takes an RLock on every
        first access, which costs more than the walks it guards); a decoded policy is not shared
        between threads before its first walk, and a racing recomputation would give the same value."""

        def __get__(self, instance, owner=None):
            if instance is None:
                return self
            value = instance.__dict__[self.attrname] = self.func(instance)
            return value


class NetworkPolicy(_Wire):
    model_config = ConfigDict(ignored_types=(_computed_once,))

    api_version: str = Field(default="", alias="apiVersion")
    kind: str = ""
    metadata: Annotated[ObjectMeta, BeforeValidator(_null_is_empty)] = Field(default_factory=ObjectMeta)
    spec: Annotated[NetworkPolicySpec, BeforeValidator(_null_is_empty)] = Field(
        default_factory=NetworkPolicySpec
    )

    # Every rule walks the same structure; the walks are done once per decoded object (the model is
    # frozen, so the caches cannot go stale).
    @_computed_once
    def rule_entries(self) -> tuple[RuleEntry, ...]:
        """Every ingress and egress rule with its path, in report order."""
        return _walk_rules(self)

    @_computed_once
    def live_rule_entries(self) -> tuple[RuleEntry, ...]:
        """`rule_entries` restricted to the directions in the effective policyTypes."""
        live = self.spec.effective_policy_types
        return tuple(entry for entry in self.rule_entries if entry[0] in live)

    @_computed_once
    def selector_entries(self) -> tuple[tuple[str, LabelSelector], ...]:
        """spec.podSelector and every peer selector, with paths."""
        return _walk_selectors(self)

    @_computed_once
    def ip_block_entries(self) -> tuple[tuple[str, IPBlock], ...]:
        """Every ipBlock peer, with its path."""
        return _walk_ip_blocks(self)

    @property
    def display_name(self) -> str:
        """``namespace/name`` (or just the name when no namespace is known)."""
        return display_name(self.metadata.namespace, self.metadata.name or self.metadata.generate_name)


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


DIRECTIONS: Final = ((INGRESS, "ingress", "from"), (EGRESS, "egress", "to"))
"""(policy type, spec field, peer field) for both directions, in the order findings are reported."""

RuleEntry = tuple[str, str, str, NetworkPolicyRule]
"""(direction, rule path, peer field, rule), e.g. ("Ingress", "spec.ingress[0]", "from", rule)."""


def _walk_rules(policy: NetworkPolicy) -> tuple[RuleEntry, ...]:
    return tuple(
        (direction, f"spec.{field}[{index}]", peer_field, rule)
        for direction, field, peer_field in DIRECTIONS
        for index, rule in enumerate(policy.spec.rules(direction))
    )


def _walk_selectors(policy: NetworkPolicy) -> tuple[tuple[str, LabelSelector], ...]:
    found: list[tuple[str, LabelSelector]] = [("spec.podSelector", policy.spec.pod_selector)]
    append = found.append
    for _, rule_path, peer_field, rule in policy.rule_entries:
        if not rule.peers:
            continue
        where = f"{rule_path}.{peer_field}["
        for index, peer in enumerate(rule.peers):
            pod_selector, namespace_selector = peer.pod_selector, peer.namespace_selector
            if pod_selector is not None:
                append((f"{where}{index}].podSelector", pod_selector))
            if namespace_selector is not None:
                append((f"{where}{index}].namespaceSelector", namespace_selector))
    return tuple(found)


def _walk_ip_blocks(policy: NetworkPolicy) -> tuple[tuple[str, IPBlock], ...]:
    found: list[tuple[str, IPBlock]] = []
    for _, rule_path, peer_field, rule in policy.rule_entries:
        if not rule.peers:
            continue
        where = f"{rule_path}.{peer_field}["
        for index, peer in enumerate(rule.peers):
            if peer.ip_block is not None:
                found.append((f"{where}{index}].ipBlock", peer.ip_block))
    return tuple(found)


def iter_rules(policy: NetworkPolicy) -> Iterator[RuleEntry]:
    """Yield ``(direction, rule path, peer field, rule)`` for every ingress and egress rule."""
    return iter(policy.rule_entries)


def iter_selectors(policy: NetworkPolicy) -> Iterator[tuple[str, LabelSelector]]:
    """Yield ``(path, selector)`` for spec.podSelector and every peer selector."""
    return iter(policy.selector_entries)


def iter_ip_blocks(policy: NetworkPolicy) -> Iterator[tuple[str, IPBlock]]:
    """Yield ``(path, ipBlock)`` for every ipBlock peer."""
    return iter(policy.ip_block_entries)


_EXPECTED = {
    "list_type": "must be a list",
    "dict_type": "must be an object (a mapping)",
    "model_type": "must be an object (a mapping)",
    "model_attributes_type": "must be an object (a mapping)",
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
    """Decode a parsed JSON/YAML object into the typed view, or raise `PolicyShapeError`."""
    if not isinstance(obj, dict):
        raise PolicyShapeError([("", f"a NetworkPolicy must be an object, got {_json_type(obj)}")])
    # Decoding allocates a tree of models that is acyclic and dies by reference counting; with the
    # cyclic collector running, a large policy (tens of thousands of models) triggers repeated full
    # collections that rescan the whole heap and double the decode time. Paused only if it was on (and
    # only turned back on by whoever turned it off), so nested and concurrent calls stay correct.
    collecting = gc.isenabled()
    if collecting:
        gc.disable()
    try:
        return NetworkPolicy.model_validate(obj)
    except ValidationError as exc:
        problems: dict[str, str] = {}
        for error in exc.errors():
            path = format_path(error["loc"])
            expected = _EXPECTED.get(error["type"], error["msg"])
            problems.setdefault(path, f"{expected}, got {_json_type(error['input'])}")
        raise PolicyShapeError(list(problems.items())) from None
    finally:
        if collecting:
            gc.enable()
