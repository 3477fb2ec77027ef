"""What the Kubernetes API server itself rejects in a NetworkPolicy, with its field paths and messages.

A port of kube-apiserver's create-validation of ``networking.k8s.io/v1`` NetworkPolicy (ObjectMeta,
spec, ipBlock, label selectors; see ``K8S-NETPOL-VALIDATION.md`` sections 4-7), written as pure
functions over the decoded `NetworkPolicy`. Every `FieldError` carries what a 422 ``Status`` cause
carries - field path, error type, bad value, detail - plus a fix hint. ``body`` renders the message
the way ``kubectl`` shows it (``Invalid value: 0: must be between 1 and 65535, inclusive``).

CIDRs are parsed like ``k8s.io/utils/net.ParseCIDRSloppy`` (Go's pre-1.17 parser: IPv4 octets with
leading zeros are decimal, IPv4-mapped IPv6 and host bits are accepted); what only an API server with
the ``StrictIPCIDRValidation`` feature gate rejects is flagged ``strict_only`` so the caller decides.
Decode-level type errors (HTTP 400) are not here: `app.netpol.decode_policy` raises them.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Final, NamedTuple

from app.netpol import (
    EGRESS,
    INGRESS,
    PROTOCOLS,
    IPBlock,
    LabelSelector,
    NetworkPolicy,
    NetworkPolicyPeer,
    NetworkPolicyPort,
    NetworkPolicySpec,
    ObjectMeta,
    iter_ip_blocks,
)


class ErrorType(StrEnum):
    """The API server's field error types (``field.ErrorType``) that NetworkPolicy validation uses."""

    INVALID = "Invalid"
    NOT_SUPPORTED = "NotSupported"
    REQUIRED = "Required"
    FORBIDDEN = "Forbidden"
    TOO_LONG = "TooLong"

    @property
    def phrase(self) -> str:
        """How the API server starts the message body for this type."""
        return _PHRASES[self]

    @property
    def reason(self) -> str:
        """The ``Status`` cause reason (``FieldValueInvalid`` ...)."""
        return f"FieldValue{self.value}"


_PHRASES: Final = {
    ErrorType.INVALID: "Invalid value",
    ErrorType.NOT_SUPPORTED: "Unsupported value",
    ErrorType.REQUIRED: "Required value",
    ErrorType.FORBIDDEN: "Forbidden",
    ErrorType.TOO_LONG: "Too long",
}
# Types whose body never shows the bad value (field.Error.ErrorBody).
_VALUELESS: Final = frozenset({ErrorType.REQUIRED, ErrorType.FORBIDDEN, ErrorType.TOO_LONG})

Value = str | int | tuple[str, ...] | None
"""A bad value: a string, a number, or the policyTypes list (rendered as Go prints it)."""


@dataclass(frozen=True, slots=True)
class FieldError:
    """One error as the API server reports it, plus how to fix it.

    ``strict_only``: only an API server with ``StrictIPCIDRValidation`` on rejects this value.
    """

    path: str
    type: ErrorType
    value: Value
    detail: str
    fix: str
    strict_only: bool = False

    @property
    def body(self) -> str:
        """The message without the path: ``Invalid value: "x": detail`` / ``Required value``."""
        text = self.type.phrase
        if self.type not in _VALUELESS:
            text = f"{text}: {_go_value(self.value)}"
        return f"{text}: {self.detail}" if self.detail else text

    def __str__(self) -> str:
        return f"{self.path}: {self.body}"


@dataclass(frozen=True, slots=True)
class ValidationOptions:
    """The API server's UPDATE ratchets (section 8); the defaults are CREATE's strictness.

    ``allow_invalid_label_values_in_selector``: skip the matchExpressions value check (the old
    object's podSelector was itself invalid). ``allowed_cidrs``: cidr/except strings the old object
    already had, exempt from the strict CIDR checks.
    """

    allow_invalid_label_values_in_selector: bool = False
    allowed_cidrs: frozenset[str] = frozenset()


CREATE_OPTIONS: Final = ValidationOptions()

# --- Go value rendering ---------------------------------------------------------------------------

_GO_ESCAPES: Final = {
    '"': '\\"',
    "\\": "\\\\",
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
}
_PLAIN: Final = re.compile(r"[ !#-\[\]-~]*")  # printable ASCII without '"' and '\'


def go_quote(text: str) -> str:
    """Quote a string the way Go's ``%q`` does (the API server quotes string values so)."""
    if _PLAIN.fullmatch(text):
        return f'"{text}"'
    out = []
    for char in text:
        if char in _GO_ESCAPES:
            out.append(_GO_ESCAPES[char])
        elif char.isprintable():
            out.append(char)
        elif ord(char) < 0x80:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) < 0x10000:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return '"' + "".join(out) + '"'


def _go_value(value: Value) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, tuple):
        # `&spec.PolicyTypes` printed with %#v.
        return "[]networking.PolicyType{" + ", ".join(go_quote(item) for item in value) + "}"
    return str(value)


# --- names, labels, annotations (apimachinery util/validation) ------------------------------------

_DNS1123_LABEL_FMT: Final = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT: Final = _DNS1123_LABEL_FMT + "(\\." + _DNS1123_LABEL_FMT + ")*"
_QUALIFIED_NAME_FMT: Final = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE_FMT: Final = "(" + _QUALIFIED_NAME_FMT + ")?"

_DNS1123_LABEL_RE: Final = re.compile(_DNS1123_LABEL_FMT)
_DNS1123_SUBDOMAIN_RE: Final = re.compile(_DNS1123_SUBDOMAIN_FMT)
_QUALIFIED_NAME_RE: Final = re.compile(_QUALIFIED_NAME_FMT)
_LABEL_VALUE_RE: Final = re.compile(_LABEL_VALUE_FMT)
# A key that is certainly valid when it is also at most 63 characters long (the common case).
_SHORT_QUALIFIED_KEY_RE: Final = re.compile(f"(?:{_DNS1123_SUBDOMAIN_FMT}/)?{_QUALIFIED_NAME_FMT}")

_short_key_ok: Final = _SHORT_QUALIFIED_KEY_RE.fullmatch
_label_value_ok: Final = _LABEL_VALUE_RE.fullmatch

# Label keys and values recur across selectors, policies and requests. Strings already seen to take
# the fast path (valid without building any message) are remembered, so a repeat costs one set lookup;
# the sets are cleared when full so that hostile input cannot grow them.
_PLAIN_KEYS: Final[set[str]] = set()
_PLAIN_VALUES: Final[set[str]] = set()
_PLAIN_NAMES: Final[set[str]] = set()
_PLAIN_NAMESPACES: Final[set[str]] = set()
_PLAIN_PORT_NAMES: Final[set[str]] = set()
_PLAIN_MEMORY: Final = 32768


def _remember(plain: set[str], value: str) -> None:
    if len(plain) >= _PLAIN_MEMORY:
        plain.clear()
    plain.add(value)


def _plain_key(key: str) -> bool:
    """True when ``key`` is certainly a valid qualified name (label or selector key); False means
    "run the detailed checks", which may still accept it (e.g. a prefixed key over 63 characters)."""
    if key in _PLAIN_KEYS:
        return True
    if len(key) > _QUALIFIED_NAME_MAX or _short_key_ok(key) is None:
        return False
    _remember(_PLAIN_KEYS, key)
    return True


def _plain_value(value: str) -> bool:
    """True when ``value`` is certainly a valid label value (False: run the detailed checks)."""
    if value in _PLAIN_VALUES:
        return True
    if len(value) > _LABEL_VALUE_MAX or _label_value_ok(value) is None:
        return False
    _remember(_PLAIN_VALUES, value)
    return True


_DNS1123_LABEL_MAX: Final = 63
_DNS1123_SUBDOMAIN_MAX: Final = 253
_QUALIFIED_NAME_MAX: Final = 63
_LABEL_VALUE_MAX: Final = 63
_ANNOTATIONS_MAX_BYTES: Final = 256 * 1024


def _regex_error(message: str, fmt: str, *examples: str) -> str:
    # validation.RegexError, including its odd "'a',  or 'b', " punctuation.
    listed = "".join(
        ("" if index == 0 else " or ") + f"'{example}', " for index, example in enumerate(examples)
    )
    return f"{message} (e.g. {listed}regex used for validation is '{fmt}')"


def _max_len(limit: int) -> str:
    return f"must be no more than {limit} characters"


_EMPTY: Final = "must be non-empty"
_DNS1123_LABEL_MSG: Final = _regex_error(
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
    "start and end with an alphanumeric character",
    _DNS1123_LABEL_FMT,
    "my-name",
    "123-abc",
)
_DNS1123_SUBDOMAIN_MSG: Final = _regex_error(
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character",
    _DNS1123_SUBDOMAIN_FMT,
    "example.com",
)
_QUALIFIED_NAME_BODY: Final = _regex_error(
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character",
    _QUALIFIED_NAME_FMT,
    "MyName",
    "my.name",
    "123-abc",
)
_QUALIFIED_NAME_MSG: Final = "name part " + _QUALIFIED_NAME_BODY
_QUALIFIED_NAME_SLASHES_MSG: Final = (
    "a qualified name " + _QUALIFIED_NAME_BODY + " with an optional DNS subdomain prefix and '/' "
    "(e.g. 'example.com/MyName')"
)
_LABEL_VALUE_MSG: Final = _regex_error(
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character",
    _LABEL_VALUE_FMT,
    "MyValue",
    "my_value",
    "12345",
)


def _byte_len(text: str) -> int:
    # Go's len() counts UTF-8 bytes.
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def _dns1123_problems(value: str, max_len: int, pattern: re.Pattern[str], message: str) -> list[str]:
    """The length and format messages shared by ``IsDNS1123Subdomain`` and ``IsDNS1123Label``."""
    well_formed = pattern.fullmatch(value) is not None
    if well_formed and len(value) <= max_len:
        return []
    problems = []
    if _byte_len(value) > max_len:
        problems.append(_max_len(max_len))
    if not well_formed:
        problems.append(message)
    return problems


def dns1123_subdomain_problems(value: str) -> list[str]:
    """``IsDNS1123Subdomain``: the detail messages for ``value`` (empty when valid)."""
    return _dns1123_problems(value, _DNS1123_SUBDOMAIN_MAX, _DNS1123_SUBDOMAIN_RE, _DNS1123_SUBDOMAIN_MSG)


def dns1123_label_problems(value: str) -> list[str]:
    """``IsDNS1123Label``: the detail messages for ``value`` (empty when valid)."""
    return _dns1123_problems(value, _DNS1123_LABEL_MAX, _DNS1123_LABEL_RE, _DNS1123_LABEL_MSG)


def qualified_name_problems(value: str) -> list[str]:
    """``IsQualifiedName`` (label and annotation keys): the detail messages (empty when valid)."""
    if len(value) <= _QUALIFIED_NAME_MAX and _SHORT_QUALIFIED_KEY_RE.fullmatch(value) is not None:
        return []
    parts = value.split("/")
    if len(parts) > 2:
        return [_QUALIFIED_NAME_SLASHES_MSG]
    problems = []
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            problems.append("prefix part " + _EMPTY)
        else:
            problems.extend("prefix part " + problem for problem in dns1123_subdomain_problems(prefix))
    if not name:
        problems.append("name part " + _EMPTY)
    elif _byte_len(name) > _QUALIFIED_NAME_MAX:
        problems.append("name part " + _max_len(_QUALIFIED_NAME_MAX))
    if _QUALIFIED_NAME_RE.fullmatch(name) is None:
        problems.append(_QUALIFIED_NAME_MSG)
    return problems


def label_value_problems(value: str) -> list[str]:
    """``IsValidLabelValue``: the detail messages for ``value`` (empty when valid)."""
    if len(value) <= _LABEL_VALUE_MAX and _LABEL_VALUE_RE.fullmatch(value) is not None:
        return []
    problems = []
    if _byte_len(value) > _LABEL_VALUE_MAX:
        problems.append(_max_len(_LABEL_VALUE_MAX))
    if _LABEL_VALUE_RE.fullmatch(value) is None:
        problems.append(_LABEL_VALUE_MSG)
    return problems


_NOT_DNS: Final = re.compile(r"[^a-z0-9.-]+")
_DOT_RUNS: Final = re.compile(r"-*\.[-.]*")


def _suggest_name(value: str, max_len: int, dots: bool) -> str:
    suggestion = _NOT_DNS.sub("-", value.lower())
    if not dots:
        suggestion = suggestion.replace(".", "-")
    suggestion = _DOT_RUNS.sub(".", suggestion).strip(".-")[:max_len].strip(".-")
    return suggestion or "my-policy"


_KEY_FIX: Final = (
    "use a key of the form [prefix/]name: name 1-63 characters of letters, digits, '-', '_' or '.', "
    "starting and ending with a letter or digit; the optional prefix a lower-case DNS subdomain"
)
_VALUE_FIX: Final = (
    "use an empty value or at most 63 characters of letters, digits, '-', '_' or '.', starting and "
    "ending with a letter or digit"
)


def _validate_labels(
    labels: Mapping[str, str] | None, path: str, errors: list[FieldError], suffix: str = ""
) -> None:
    """``ValidateLabels``: keys are qualified names, values label values; both reported on the map
    (at ``path + suffix``, joined only when there is an error)."""
    if not labels:
        return
    for key, value in labels.items():
        if (key in _PLAIN_KEYS or _plain_key(key)) and (value in _PLAIN_VALUES or _plain_value(value)):
            continue  # the common case, without building problem lists
        for problem in qualified_name_problems(key):
            errors.append(
                FieldError(path + suffix, ErrorType.INVALID, key, problem, f"rename key {key!r}: {_KEY_FIX}")
            )
        for problem in label_value_problems(value):
            errors.append(
                FieldError(
                    path + suffix,
                    ErrorType.INVALID,
                    value,
                    problem,
                    f"change the value of {key!r}: {_VALUE_FIX}",
                )
            )


def _validate_annotations(annotations: Mapping[str, str] | None, errors: list[FieldError]) -> None:
    if not annotations:
        return
    path = "metadata.annotations"
    total = 0
    for key, value in annotations.items():
        total += len(key) + len(value)
        # Annotation keys are qualified names, compared case-insensitively.
        if len(key) <= _QUALIFIED_NAME_MAX and _short_key_ok(key.lower()) is not None:
            continue
        for problem in qualified_name_problems(key.lower()):
            errors.append(
                FieldError(path, ErrorType.INVALID, key, problem, f"rename annotation {key!r}: {_KEY_FIX}")
            )
    if total * 4 > _ANNOTATIONS_MAX_BYTES:
        # Go counts UTF-8 bytes (at most 4 per character): count them only when they could matter.
        total = sum(_byte_len(key) + _byte_len(value) for key, value in annotations.items())
    if total > _ANNOTATIONS_MAX_BYTES:
        errors.append(
            FieldError(
                path,
                ErrorType.TOO_LONG,
                None,
                f"may not be more than {_ANNOTATIONS_MAX_BYTES} bytes",
                f"shrink the annotations ({total} bytes of keys and values) to at most 256 KiB; large "
                "data belongs in a ConfigMap",
            )
        )


def _mask_trailing_dash(name: str) -> str:
    # apimachinery's maskTrailingDash, off-by-one included: a generateName may end in '-'.
    return name[:-2] + "a" if len(name) > 1 and name.endswith("-") else name


def validate_object_meta(meta: ObjectMeta) -> list[FieldError]:
    """``ValidateObjectMeta`` for a namespaced object named by a DNS-1123 subdomain.

    A missing namespace is fine: in a manifest it comes from the request URL (kubectl's context).
    """
    errors: list[FieldError] = []
    generate_name = meta.get("generateName") or ""
    name = meta.get("name") or ""
    if generate_name:
        for problem in dns1123_subdomain_problems(_mask_trailing_dash(generate_name)):
            errors.append(
                FieldError(
                    "metadata.generateName",
                    ErrorType.INVALID,
                    generate_name,
                    problem,
                    "use a prefix of lower-case letters, digits, '-' and '.', starting with a letter or "
                    f"digit (e.g. {_suggest_name(generate_name, 200, dots=True)!r}-)",
                )
            )
    if name in _PLAIN_NAMES:
        pass  # seen before and valid (an empty name is never remembered)
    elif name:
        problems = dns1123_subdomain_problems(name)
        if not problems:
            _remember(_PLAIN_NAMES, name)
        for problem in problems:
            errors.append(
                FieldError(
                    "metadata.name",
                    ErrorType.INVALID,
                    name,
                    problem,
                    "use lower-case letters, digits, '-' and '.', starting and ending with a letter or "
                    f"digit, at most 253 characters (e.g. {_suggest_name(name, 253, dots=True)!r})",
                )
            )
    elif not generate_name:
        # The API server generates `name` from `generateName` before validating, so only both
        # missing is an error.
        errors.append(
            FieldError(
                "metadata.name",
                ErrorType.REQUIRED,
                None,
                "name or generateName is required",
                "set metadata.name",
            )
        )
    namespace = meta.get("namespace")
    if namespace and namespace not in _PLAIN_NAMESPACES:
        problems = dns1123_label_problems(namespace)
        if not problems:
            _remember(_PLAIN_NAMESPACES, namespace)
        for problem in problems:
            errors.append(
                FieldError(
                    "metadata.namespace",
                    ErrorType.INVALID,
                    namespace,
                    problem,
                    "use lower-case letters, digits and '-', starting and ending with a letter or digit, "
                    f"at most 63 characters (e.g. {_suggest_name(namespace, 63, dots=False)!r})",
                )
            )
    _validate_labels(meta.get("labels"), "metadata.labels", errors)
    _validate_annotations(meta.get("annotations"), errors)
    return errors


# --- label selectors (apimachinery meta/v1/validation) --------------------------------------------

_SET_OPERATORS: Final = frozenset({"In", "NotIn"})
_EXISTS_OPERATORS: Final = frozenset({"Exists", "DoesNotExist"})
_OPERATOR_CASE: Final = {op.lower(): op for op in ("In", "NotIn", "Exists", "DoesNotExist")}


def _selector_is_plain(selector: LabelSelector, options: ValidationOptions) -> bool:
    """True when `validate_label_selector` certainly finds nothing in ``selector`` (the common case),
    checked without building paths or messages; False means "run it"."""
    labels = selector.get("matchLabels")
    if labels:
        for key, value in labels.items():
            if not (
                (key in _PLAIN_KEYS or _plain_key(key)) and (value in _PLAIN_VALUES or _plain_value(value))
            ):
                return False
    requirements = selector.get("matchExpressions")
    if requirements:
        check_values = not options.allow_invalid_label_values_in_selector
        for requirement in requirements:
            operator, values = requirement.get("operator", ""), requirement.get("values")
            key = requirement.get("key", "")
            if operator in _SET_OPERATORS:
                if not values:
                    return False
            elif values or operator not in _EXISTS_OPERATORS:
                return False
            if not (key in _PLAIN_KEYS or _plain_key(key)):
                return False
            if check_values and values:
                for value in values:
                    if not (value in _PLAIN_VALUES or _plain_value(value)):
                        return False
    return True


def validate_label_selector(
    selector: LabelSelector | None,
    path: str,
    errors: list[FieldError],
    options: ValidationOptions = CREATE_OPTIONS,
) -> None:
    """``ValidateLabelSelector``: append the errors of ``selector`` (at ``path``) to ``errors``."""
    if selector is None:
        return
    _validate_labels(selector.get("matchLabels"), path, errors, ".matchLabels")
    for index, requirement in enumerate(selector.get("matchExpressions") or ()):
        req_path = f"{path}.matchExpressions[{index}]"
        operator = requirement.get("operator", "")
        values = requirement.get("values") or ()
        key = requirement.get("key", "")
        if operator in _SET_OPERATORS:
            if not values:
                errors.append(
                    FieldError(
                        f"{req_path}.values",
                        ErrorType.REQUIRED,
                        None,
                        "must be specified when `operator` is 'In' or 'NotIn'",
                        f"list at least one value for {operator}, or use Exists / DoesNotExist",
                    )
                )
        elif operator in _EXISTS_OPERATORS:
            if values:
                errors.append(
                    FieldError(
                        f"{req_path}.values",
                        ErrorType.FORBIDDEN,
                        None,
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                        "remove `values` (or use In / NotIn to match specific values)",
                    )
                )
        else:
            meant = _OPERATOR_CASE.get(operator.lower())
            errors.append(
                FieldError(
                    f"{req_path}.operator",
                    ErrorType.INVALID,
                    operator,
                    "not a valid selector operator",
                    f"use {meant!r} (operators are case-sensitive)"
                    if meant
                    else "use one of In, NotIn, Exists, DoesNotExist",
                )
            )
        for problem in qualified_name_problems(key):
            errors.append(
                FieldError(f"{req_path}.key", ErrorType.INVALID, key, problem, f"fix the key: {_KEY_FIX}")
            )
        if not options.allow_invalid_label_values_in_selector:
            for value_index, value in enumerate(values):
                for problem in label_value_problems(value):
                    errors.append(
                        FieldError(
                            f"{req_path}.values[{value_index}]", ErrorType.INVALID, value, problem, _VALUE_FIX
                        )
                    )


# --- ports -----------------------------------------------------------------------------------------

_PROTOCOL_SET: Final = frozenset(PROTOCOLS)
_PROTOCOLS_DETAIL: Final = "supported values: " + ", ".join(f'"{p}"' for p in PROTOCOLS)
_PORT_RANGE: Final = "must be between 1 and 65535, inclusive"
_PORT_NAME_CHARSET: Final = re.compile("[-a-z0-9]+")
_PORT_NAME_LETTER: Final = re.compile("[a-z]")
_VALID_PORT_NAME: Final = re.compile("(?=.*[a-z])[a-z0-9]+(?:-[a-z0-9]+)*")
_PORT_NAME_FIX: Final = (
    "use the name of a container port (1-15 lower-case letters, digits and '-', at least one letter, "
    "no '--', not starting or ending with '-'), or the port number"
)


def port_name_problems(name: str) -> list[str]:
    """``IsValidPortName`` (IANA service name syntax): one message per broken rule."""
    if len(name) <= 15 and _VALID_PORT_NAME.fullmatch(name) is not None:
        return []
    problems = []
    if _byte_len(name) > 15:
        problems.append(_max_len(15))
    if _PORT_NAME_CHARSET.fullmatch(name) is None:
        problems.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if _PORT_NAME_LETTER.search(name) is None:
        problems.append("must contain at least one letter (a-z)")
    if "--" in name:
        problems.append("must not contain consecutive hyphens")
    if name.startswith("-") or name.endswith("-"):
        problems.append("must not begin or end with a hyphen")
    return problems


def _port_is_plainly_valid(port: NetworkPolicyPort) -> bool:
    # The common shapes, checked without building a path; anything else goes through validate_port.
    number, protocol = port.get("port"), port.get("protocol")
    return (
        (protocol is None or protocol in _PROTOCOL_SET)
        and port.get("endPort") is None
        and (
            number is None
            or (type(number) is int and 1 <= number <= 65535)
            or (type(number) is str and (number in _PLAIN_PORT_NAMES or _plain_port_name(number)))
        )
    )


def _plain_port_name(name: str) -> bool:
    """True when ``name`` is certainly a valid port name (remembered: container port names recur)."""
    if len(name) > 15 or _VALID_PORT_NAME.fullmatch(name) is None:
        return False
    _remember(_PLAIN_PORT_NAMES, name)
    return True


def validate_port(port: NetworkPolicyPort, path: str, errors: list[FieldError]) -> None:
    """``ValidateNetworkPolicyPort``: append the errors of one ``ports[]`` entry to ``errors``."""
    protocol = port.get("protocol")
    if protocol is not None and protocol not in _PROTOCOL_SET:
        upper = protocol.upper()
        errors.append(
            FieldError(
                f"{path}.protocol",
                ErrorType.NOT_SUPPORTED,
                protocol,
                _PROTOCOLS_DETAIL,
                f"write {upper!r} (protocols are case-sensitive)"
                if upper in _PROTOCOL_SET
                else "use TCP, UDP or SCTP, or omit protocol for TCP (NetworkPolicy cannot match ICMP)",
            )
        )
    number = port.get("port")
    end_port = port.get("endPort")
    if number is None:
        if end_port is not None:
            errors.append(
                FieldError(
                    f"{path}.endPort",
                    ErrorType.INVALID,
                    end_port,
                    "may not be specified when `port` is not specified",
                    "add `port` (the first port of the range) or remove endPort",
                )
            )
    elif isinstance(number, int):
        if not 1 <= number <= 65535:
            errors.append(
                FieldError(
                    f"{path}.port", ErrorType.INVALID, number, _PORT_RANGE, "use a port between 1 and 65535"
                )
            )
        if end_port is not None:
            if end_port < number:
                errors.append(
                    FieldError(
                        f"{path}.endPort",
                        ErrorType.INVALID,
                        end_port,
                        "must be greater than or equal to `port`",
                        f"set endPort to at least {number} (the range is port..endPort, inclusive)",
                    )
                )
            if not 1 <= end_port <= 65535:
                errors.append(
                    FieldError(
                        f"{path}.endPort",
                        ErrorType.INVALID,
                        end_port,
                        _PORT_RANGE,
                        "use an endPort between 1 and 65535",
                    )
                )
    else:
        if end_port is not None:
            errors.append(
                FieldError(
                    f"{path}.endPort",
                    ErrorType.INVALID,
                    end_port,
                    "may not be specified when `port` is non-numeric",
                    "remove endPort, or use a numeric port to give a range",
                )
            )
        fix = (
            f"write the number without quotes ({number.lstrip('0') or '0'}), or use a container port name"
            if number.isdigit() and number.isascii()
            else _PORT_NAME_FIX
        )
        for problem in port_name_problems(number):
            errors.append(FieldError(f"{path}.port", ErrorType.INVALID, number, problem, fix))


# --- CIDRs (k8s.io/utils/net ParseCIDRSloppy, netip strictness) ------------------------------------


class ParsedCIDR(NamedTuple):
    """A CIDR read like ``ParseCIDRSloppy``.

    ``address`` is the address as written, ``bits`` 32 for IPv4 text and 128 for IPv6 text (also
    for IPv4-mapped IPv6), ``prefix`` the prefix length. ``noncanonical_digits``: leading zeros (IPv4
    octets or prefix) or an IPv6 group of more than 4 digits, which Go's strict ``netip`` parser
    rejects.
    """

    address: int
    prefix: int
    bits: int
    noncanonical_digits: bool
    mask: int
    """The netmask as an integer of ``bits`` bits."""

    @property
    def network(self) -> int:
        """The address with the host bits cleared (what the API server compares)."""
        return self.address & self.mask

    @property
    def ipv4_mapped(self) -> bool:
        """IPv6 text that spells an IPv4 address (``::ffff:a.b.c.d``)."""
        return self.bits == 128 and self.address >> 32 == 0xFFFF

    def strict_problem(self) -> str | None:
        """What an API server with ``StrictIPCIDRValidation`` rejects (one message at most)."""
        if self.noncanonical_digits:
            return "must not have leading 0s in IP or prefix length"
        if self.ipv4_mapped:
            return "must not have an IPv4-mapped IPv6 address"
        if self.address & ~self.mask:
            return "must not have bits set beyond the prefix length"
        return None

    def canonical(self) -> str:
        """The value a strict API server accepts for the same network (IPv4 form for mapped IPv6)."""
        if self.ipv4_mapped and self.prefix >= 96:
            return f"{ipaddress.IPv4Address(self.network & 0xFFFFFFFF)}/{self.prefix - 96}"
        address = (
            ipaddress.IPv4Address(self.network) if self.bits == 32 else ipaddress.IPv6Address(self.network)
        )
        return f"{address}/{self.prefix}"

    def go_form(self) -> tuple[int, int, int]:
        """The network as Go's ``IPNet.Contains`` compares it: (length in bytes, network, mask).

        Go keeps an IPv4-mapped IPv6 network as 16 bytes but compares it in its 4-byte form with the
        last 32 bits of the mask, so ``::ffff:10.0.0.0/104`` contains ``10.1.0.0``.
        """
        network = self.network
        if self.bits == 32:
            return 4, network, self.mask
        if network >> 32 == 0xFFFF:
            return 4, network & 0xFFFFFFFF, self.mask & 0xFFFFFFFF
        return 16, network, self.mask

    def contains_strictly(self, other: ParsedCIDR) -> bool:
        """ValidateIPBlock's subset test: ``other``'s network address is inside this network and this
        prefix is shorter (prefix lengths compared as written, like the API server)."""
        if self.bits == other.bits == 32:
            # The common case; with a longer `other` prefix, masking `other` first changes nothing.
            return self.prefix < other.prefix and (self.address ^ other.address) & self.mask == 0
        length, network, mask = self.go_form()
        other_length, other_network, _ = other.go_form()
        return (
            length == other_length and network & mask == other_network & mask and self.prefix < other.prefix
        )


_OCTET: Final = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_CANONICAL_IPV4_CIDR_RE: Final = re.compile(rf"({_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET})/(3[0-2]|[12]?[0-9])")
_MASKS32: Final = tuple(0xFFFFFFFF ^ (0xFFFFFFFF >> prefix) for prefix in range(33))
_IPV4_RE: Final = re.compile(r"([0-9]+)\.([0-9]+)\.([0-9]+)\.([0-9]+)")
_HEX_RE: Final = re.compile(r"[0-9a-fA-F]+")
_DIGITS_RE: Final = re.compile(r"[0-9]+")


def _decimal(digits: str, limit: int) -> int:
    """Go's dtoi on an all-digit string: the value, or -1 when above ``limit``; leading zeros allowed."""
    significant = digits.lstrip("0")
    if len(significant) > len(str(limit)):
        return -1  # also keeps int() away from absurdly long digit strings
    value = int(significant or "0")
    return value if value <= limit else -1


def _parse_ipv4(text: str) -> tuple[int, bool] | None:
    """Go 1.16 parseIPv4: ``(value, has leading zeros)`` or None."""
    match = _IPV4_RE.fullmatch(text)
    if match is None:
        return None
    value = 0
    leading = False
    for octet in match.groups():
        number = _decimal(octet, 255)
        if number < 0:
            return None
        leading = leading or (len(octet) > 1 and octet[0] == "0")
        value = value << 8 | number
    return value, leading


def _parse_ipv6(text: str) -> tuple[int, bool] | None:
    """Go 1.16 parseIPv6: ``(value, non-canonical digits)`` or None."""
    groups: list[int] = []  # 16-bit groups before expansion; an embedded IPv4 adds two
    ellipsis = -1  # index in `groups` where "::" stands
    noncanonical = False
    rest = text
    if rest.startswith("::"):
        ellipsis = 0
        rest = rest[2:]
        if not rest:
            return 0, False
    while len(groups) < 8:
        match = _HEX_RE.match(rest)
        if match is None:
            return None
        digits = match.group()
        significant = digits.lstrip("0")
        if len(significant) > 4:
            return None
        width = len(digits)
        if width < len(rest) and rest[width] == ".":
            # A trailing dotted IPv4 part fills the last 32 bits.
            if (ellipsis < 0 and len(groups) != 6) or len(groups) > 6:
                return None
            ipv4 = _parse_ipv4(rest)
            if ipv4 is None:
                return None
            groups.extend((ipv4[0] >> 16, ipv4[0] & 0xFFFF))
            noncanonical = noncanonical or ipv4[1] or width > 4
            rest = ""
            break
        noncanonical = noncanonical or width > 4
        groups.append(int(significant or "0", 16))
        rest = rest[width:]
        if not rest:
            break
        if rest[0] != ":" or len(rest) == 1:
            return None
        rest = rest[1:]
        if rest[0] == ":":
            if ellipsis >= 0:
                return None
            ellipsis = len(groups)
            rest = rest[1:]
            if not rest:
                break
    if rest:
        return None
    if len(groups) < 8:
        if ellipsis < 0:
            return None
        groups[ellipsis:ellipsis] = [0] * (8 - len(groups))
    elif ellipsis >= 0:
        return None  # "::" must stand for at least one group
    value = 0
    for group in groups:
        value = value << 16 | group
    return value, noncanonical


# Pure and called for every cidr and except; the same networks recur across policies and requests.
@lru_cache(maxsize=16384)
def _plain_ipv4_network(value: str) -> tuple[int, int] | None:
    """(address, prefix) of a canonically written IPv4 network without host bits, else None."""
    match = _CANONICAL_IPV4_CIDR_RE.fullmatch(value)
    if match is None:
        return None
    address_text, prefix_text = match.groups()
    # The regex admits only canonical dotted quads, which inet_pton reads the same everywhere.
    address = int.from_bytes(socket.inet_pton(socket.AF_INET, address_text), "big")
    prefix = int(prefix_text)
    return None if address & ~_MASKS32[prefix] else (address, prefix)


def parse_cidr_sloppy(value: str) -> ParsedCIDR | None:
    """Parse ``value`` like ``k8s.io/utils/net.ParseCIDRSloppy``; None when the API server rejects it."""
    address_text, slash, prefix_text = value.partition("/")
    if not slash or _DIGITS_RE.fullmatch(prefix_text) is None:
        return None
    ipv4 = _parse_ipv4(address_text)
    if ipv4 is not None:
        bits = 32
        address, noncanonical = ipv4
    else:
        ipv6 = _parse_ipv6(address_text)
        if ipv6 is None:
            return None
        bits = 128
        address, noncanonical = ipv6
    prefix = _decimal(prefix_text, bits)
    if prefix < 0:
        return None
    noncanonical = noncanonical or (len(prefix_text) > 1 and prefix_text[0] == "0")
    full = (1 << bits) - 1
    return ParsedCIDR(address, prefix, bits, noncanonical, full ^ (full >> prefix))


_CIDR_DETAIL: Final = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
_STRICT_FIXES: Final = {
    "must not have leading 0s in IP or prefix length": "write it without leading zeros: {canonical}",
    "must not have an IPv4-mapped IPv6 address": "write the IPv4 form: {canonical}",
    "must not have bits set beyond the prefix length": (
        "write the network address {canonical} (the API server already reads it so), or a single "
        "address as /32 or /128"
    ),
}


def _except_path(block_path: str, index: int | None) -> str:
    # Built only when there is an error to report: thousands of excepts are usually all fine.
    return f"{block_path}.cidr" if index is None else f"{block_path}.except[{index}]"


def _cidr_format(
    value: str, block_path: str, index: int | None, options: ValidationOptions, errors: list[FieldError]
) -> ParsedCIDR | None:
    """Parse ipBlock.cidr (``index`` None) or except[index], appending its format errors; None when it
    does not parse."""
    parsed = parse_cidr_sloppy(value)
    if parsed is None:
        stripped = value.strip()
        if stripped != value and parse_cidr_sloppy(stripped) is not None:
            fix = f"remove the surrounding whitespace: {stripped!r}"
        elif "/" not in value and (_parse_ipv4(value) or _parse_ipv6(value)):
            fix = f"add a prefix length, e.g. {value}/32 for one IPv4 address or /128 for one IPv6 address"
        else:
            fix = "write an address and a prefix length, e.g. 10.9.8.0/24 or 2001:db8::/64"
        errors.append(
            FieldError(_except_path(block_path, index), ErrorType.INVALID, value, _CIDR_DETAIL, fix)
        )
        return None
    problem = parsed.strict_problem()
    if problem is not None and value not in options.allowed_cidrs:
        fix = _STRICT_FIXES[problem].format(canonical=parsed.canonical())
        errors.append(
            FieldError(
                _except_path(block_path, index), ErrorType.INVALID, value, problem, fix, strict_only=True
            )
        )
    return parsed


def _ip_block_is_plain(block: IPBlock) -> bool:
    """True for the bulk of real ipBlocks, which `validate_ip_block` accepts: a canonically written IPv4
    network whose excepts are canonically written IPv4 networks strictly inside it."""
    plain = _plain_ipv4_network(block.get("cidr", ""))
    if plain is None:
        return False
    address, prefix = plain
    mask = _MASKS32[prefix]
    for value in block.get("except") or ():
        inner = _plain_ipv4_network(value)
        if inner is None or inner[1] <= prefix or (inner[0] ^ address) & mask:
            return False
    return True


def validate_ip_block(
    block: IPBlock, path: str, errors: list[FieldError], options: ValidationOptions = CREATE_OPTIONS
) -> None:
    """``ValidateIPBlock``: append the errors of one ``ipBlock`` (at ``path``) to ``errors``."""
    block_cidr = block.get("cidr", "")
    if not block_cidr:
        errors.append(
            FieldError(
                f"{path}.cidr",
                ErrorType.REQUIRED,
                None,
                "",
                "set cidr, e.g. 10.0.0.0/8 (0.0.0.0/0 for every IPv4 address)",
            )
        )
        return
    if _ip_block_is_plain(block):
        return  # the common case; anything else goes through the general checks below
    excepts = block.get("except") or ()
    cidr = _cidr_format(block_cidr, path, None, options, errors)
    if cidr is None:
        return  # the API server does not look at `except` then
    for index, value in enumerate(excepts):
        excluded = _cidr_format(value, path, index, options, errors)
        if excluded is not None and not cidr.contains_strictly(excluded):
            if cidr.go_form()[0] != excluded.go_form()[0]:
                fix = f"use an except range of the same IP family as cidr {block_cidr!r}, or remove it"
            elif excluded.prefix <= cidr.prefix:
                fix = (
                    f"give it a prefix longer than /{cidr.prefix} or remove it: an except range must be "
                    "strictly smaller than cidr"
                )
            else:
                fix = f"use an except range inside {block_cidr!r}, or remove it"
            errors.append(
                FieldError(
                    _except_path(path, index),
                    ErrorType.INVALID,
                    value,
                    "must be a strict subset of `cidr`",
                    fix,
                )
            )


# --- peers, spec, policy ---------------------------------------------------------------------------


def _peer_is_plain(peer: NetworkPolicyPeer, options: ValidationOptions) -> bool:
    """True when `validate_peer` certainly finds nothing (one ipBlock alone, or plain selectors),
    checked without building paths; False means "run it"."""
    pod_selector, namespace_selector = peer.get("podSelector"), peer.get("namespaceSelector")
    block = peer.get("ipBlock")
    if block is not None:
        return pod_selector is None and namespace_selector is None and _ip_block_is_plain(block)
    if pod_selector is None:
        return namespace_selector is not None and _selector_is_plain(namespace_selector, options)
    return _selector_is_plain(pod_selector, options) and (
        namespace_selector is None or _selector_is_plain(namespace_selector, options)
    )


def validate_peer(
    peer: NetworkPolicyPeer, path: str, errors: list[FieldError], options: ValidationOptions = CREATE_OPTIONS
) -> None:
    """``ValidateNetworkPolicyPeer``: append the errors of one ``from[]``/``to[]`` entry to ``errors``."""
    count = 0
    pod_selector, namespace_selector = peer.get("podSelector"), peer.get("namespaceSelector")
    block = peer.get("ipBlock")
    if pod_selector is not None:
        count += 1
        validate_label_selector(pod_selector, f"{path}.podSelector", errors, options)
    if namespace_selector is not None:
        count += 1
        validate_label_selector(namespace_selector, f"{path}.namespaceSelector", errors, options)
    if block is not None:
        count += 1
        validate_ip_block(block, f"{path}.ipBlock", errors, options)
    if count == 0:
        errors.append(
            FieldError(
                path,
                ErrorType.REQUIRED,
                None,
                "must specify a peer",
                "give the entry a podSelector, namespaceSelector or ipBlock; to allow every peer, omit "
                "the whole from/to list instead of listing an empty entry",
            )
        )
    elif count > 1 and block is not None:
        errors.append(
            FieldError(
                path,
                ErrorType.FORBIDDEN,
                None,
                "may not specify both ipBlock and another peer",
                "split it into two list entries: one with the ipBlock, one with the selectors",
            )
        )


_POLICY_TYPES: Final = (INGRESS, EGRESS)
_POLICY_TYPES_DETAIL: Final = 'supported values: "Ingress", "Egress"'
_POLICY_TYPE_CASE: Final = {kind.lower(): kind for kind in _POLICY_TYPES}


def _validate_rule(
    rule_path: str,
    peer_field: str,
    peers: list[NetworkPolicyPeer] | None,
    ports: list[NetworkPolicyPort] | None,
    errors: list[FieldError],
    options: ValidationOptions,
) -> None:
    # Paths are built only for entries that the fast checks cannot clear (those with errors, mostly).
    for port_index, port in enumerate(ports or ()):
        if not _port_is_plainly_valid(port):
            validate_port(port, f"{rule_path}.ports[{port_index}]", errors)
    for peer_index, peer in enumerate(peers or ()):
        if not _peer_is_plain(peer, options):
            validate_peer(peer, f"{rule_path}.{peer_field}[{peer_index}]", errors, options)


def validate_spec(spec: NetworkPolicySpec, options: ValidationOptions = CREATE_OPTIONS) -> list[FieldError]:
    """``ValidateNetworkPolicySpec``: every error of ``spec``, in the API server's order."""
    errors: list[FieldError] = []
    pod_selector = spec.get("podSelector") or {}  # null is the empty selector (a Go struct value)
    if not _selector_is_plain(pod_selector, options):
        validate_label_selector(pod_selector, "spec.podSelector", errors, options)
    for index, ingress in enumerate(spec.get("ingress") or ()):
        _validate_rule(
            f"spec.ingress[{index}]", "from", ingress.get("from"), ingress.get("ports"), errors, options
        )
    for index, egress in enumerate(spec.get("egress") or ()):
        _validate_rule(f"spec.egress[{index}]", "to", egress.get("to"), egress.get("ports"), errors, options)
    policy_types = spec.get("policyTypes") or ()
    if len(policy_types) > len(_POLICY_TYPES):
        errors.append(
            FieldError(
                "spec.policyTypes",
                ErrorType.INVALID,
                tuple(policy_types),
                "may not specify more than two policyTypes",
                "list Ingress and/or Egress, each once",
            )
        )
        return errors
    for index, kind in enumerate(policy_types):
        if kind not in _POLICY_TYPES:
            meant = _POLICY_TYPE_CASE.get(kind.lower())
            errors.append(
                FieldError(
                    f"spec.policyTypes[{index}]",
                    ErrorType.NOT_SUPPORTED,
                    kind,
                    _POLICY_TYPES_DETAIL,
                    f"write {meant!r} (policy types are case-sensitive)"
                    if meant
                    else "use Ingress or Egress",
                )
            )
    return errors


def validate_policy(policy: NetworkPolicy, options: ValidationOptions = CREATE_OPTIONS) -> list[FieldError]:
    """``ValidateNetworkPolicy``: every error the API server reports for ``policy`` (metadata, then spec)."""
    return validate_object_meta(policy.metadata) + validate_spec(policy.spec, options)


def _old_cidrs(policy: NetworkPolicy) -> Iterable[str]:
    for _, block in iter_ip_blocks(policy):
        yield block.get("cidr", "")
        yield from block.get("except") or ()


def options_for_update(old: NetworkPolicy) -> ValidationOptions:
    """The ratchets of an UPDATE from ``old`` (``ValidationOptionsForNetworking`` and the CIDR list)."""
    old_selector_errors: list[FieldError] = []
    validate_label_selector(old.pod_selector, "spec.podSelector", old_selector_errors)
    return ValidationOptions(
        allow_invalid_label_values_in_selector=bool(old_selector_errors),
        allowed_cidrs=frozenset(_old_cidrs(old)),
    )
