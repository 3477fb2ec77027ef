"""CEL building blocks for a NetworkPolicy as the API server hands it to a ValidatingAdmissionPolicy.

Every fragment is a function of the root it reads (``object`` or ``oldObject``) and returns CEL text.
The object is the defaulted one (policyTypes set, every port has a protocol), but the fragments still
apply the defaulting themselves, so that they mean exactly what `app.netpol`'s ``effective_*`` helpers
mean. Only the libraries of Kubernetes 1.30 are used (the first release with the v1 API and ``cidr()``):
no two-variable comprehensions (1.32) and no ``lists.range`` (1.34), which is why messages name field
paths with ``[*]`` rather than indexes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from app.netpol import DIRECTIONS, INGRESS
from app.patterns import glob_regex

PEER_FIELDS: Final = {INGRESS: "from", "Egress": "to"}
FIELDS: Final = {direction: field for direction, field, _ in DIRECTIONS}


def string(text: str) -> str:
    """``text`` as a CEL string literal (double-quoted, every special character escaped)."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def string_list(items: Iterable[str]) -> str:
    return "[" + ", ".join(string(item) for item in items) + "]"


def optional_list(value: str) -> str:
    """A list field read as ``[]`` when absent (the API server drops empty lists)."""
    owner, _, _ = value.rpartition(".")
    return f"(has({value}) ? {value} : [])" if owner else value


def rules(root: str, direction: str) -> str:
    """Every rule of one direction (whatever policyTypes says)."""
    return optional_list(f"{root}.spec.{FIELDS[direction]}")


def effective_types(root: str) -> str:
    """policyTypes after the API server's defaulting (`NetworkPolicy.effective_policy_types`)."""
    types = f"{root}.spec.policyTypes"
    egress = rules(root, "Egress")
    return (
        f"(has({types}) && size({types}) > 0 ? {types} : "
        f'(size({egress}) > 0 ? ["Ingress", "Egress"] : ["Ingress"]))'
    )


def live_rules(root: str, direction: str) -> str:
    """The rules of a direction in the effective policyTypes (`traffic.live_rules`), else ``[]``."""
    return f'("{direction}" in {effective_types(root)} ? {rules(root, direction)} : [])'


def peers(rule: str, direction: str) -> str:
    return optional_list(f"{rule}.{PEER_FIELDS[direction]}")


def ports(rule: str) -> str:
    return optional_list(f"{rule}.ports")


def empty_selector(selector: str) -> str:
    """`netpol.is_empty`: no matchLabels and no matchExpressions."""
    return (
        f"((!has({selector}.matchLabels) || size({selector}.matchLabels) == 0) && "
        f"(!has({selector}.matchExpressions) || size({selector}.matchExpressions) == 0))"
    )


def protocol(port: str) -> str:
    return f'(has({port}.protocol) ? {port}.protocol : "TCP")'


def is_number(port: str) -> str:
    """The port entry has a numeric ``port`` (IntOrString holding an int)."""
    return f"(has({port}.port) && type({port}.port) == int)"


def prefix_length(cidr: str) -> str:
    """The prefix length written after the slash, read as decimal like the API server's legacy parser
    (``/08`` is 8); -1 when there is no decimal prefix (never at admission: the API server validated it).
    """
    tail = f'{cidr}.substring({cidr}.indexOf("/") + 1)'
    return f'({cidr}.contains("/") && {tail}.matches("^[0-9]{{1,3}}$") ? int({tail}) : -1)'


def everything_peer(peer: str) -> str:
    """`traffic.everything_matcher`: the peer alone matches every source or destination."""
    block = f"{peer}.ipBlock"
    return (
        f"(has({block}) ? ({prefix_length(block + '.cidr')} == 0 && "
        f"(!has({block}.except) || size({block}.except) == 0)) : "
        f"(has({peer}.namespaceSelector) && {empty_selector(peer + '.namespaceSelector')} && "
        f"(!has({peer}.podSelector) || {empty_selector(peer + '.podSelector')})))"
    )


def opens_whole_protocol(port: str) -> str:
    """`traffic.opens_whole_protocol`: no ``port`` (and no endPort), or a range 1..65535."""
    return (
        f"((!has({port}.port) && !has({port}.endPort)) || "
        f"({is_number(port)} && {port}.port <= 1 && has({port}.endPort) && {port}.endPort >= 65535))"
    )


def covers_protocol(port_list: str, name: str) -> str:
    """Some entry admits every port of protocol ``name``."""
    return f'{port_list}.exists(x, {protocol("x")} == "{name}" && {opens_whole_protocol("x")})'


def selects_namespace(selector: str, name: str) -> str:
    """The namespace selector could select the namespace ``name`` (`explain.labels` with only the
    ``kubernetes.io/metadata.name`` label known: requirements on other labels could hold)."""
    key = '"kubernetes.io/metadata.name"'
    labels = f"{selector}.matchLabels"
    value = string(name)
    by_label = f"(!has({labels}) || !({key} in {labels}) || {labels}[{key}] == {value})"
    expressions = optional_list(f"{selector}.matchExpressions")
    by_expression = (
        f"{expressions}.all(e, e.key != {key} || "
        f'(e.operator == "In" ? {value} in {optional_list("e.values")} : '
        f'e.operator == "NotIn" ? !({value} in {optional_list("e.values")}) : '
        f'e.operator != "DoesNotExist"))'
    )
    return f"({by_label} && {by_expression})"


def every_port(rule: str) -> str:
    """`traffic.covers_all_ports`: no ports, or entries that cover all of TCP, UDP and SCTP."""
    listed = ports(rule)
    covered = " && ".join(covers_protocol(listed, name) for name in ("TCP", "UDP", "SCTP"))
    return f"(size({listed}) == 0 || ({covered}))"


def user_in(users: Iterable[str]) -> str:
    """The requesting user is one of ``users`` (exact names)."""
    return f"request.userInfo.username in {string_list(users)}"


def group_in(groups: Iterable[str]) -> str:
    """The requesting user is in any of ``groups``."""
    return f"(has(request.userInfo.groups) && request.userInfo.groups.exists(g, g in {string_list(groups)}))"


def metadata_map(root: str, field: str) -> str:
    return f"(has({root}.metadata.{field}) ? {root}.metadata.{field} : {{}})"


def globs_regex(globs: Iterable[str]) -> str:
    """RE2 text matching a whole name against any of the shell-style globs, as the engine matches them
    (`app.patterns.glob_regex`; CEL's ``matches`` is unanchored, hence the anchors)."""
    return "^(?s)(?:" + "|".join(f"(?:{glob_regex(glob)})" for glob in globs) + ")$"


def is_glob(text: str) -> bool:
    return any(char in text for char in "*?[")
