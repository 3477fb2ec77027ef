"""Shared builders for the api-validation tests: manifests in, the API server's errors out."""

from __future__ import annotations

from typing import Any

from app.apivalidation import CREATE_OPTIONS, FieldError, ValidationOptions, validate_policy
from app.netpol import decode_policy
from app.rules import REGISTRY
from app.ruleset import RuleSet, parse_ruleset

# The API server's detail messages, written out once so the tests check the exact wording.
SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and "
    "must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
    "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
NAME_PART_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and "
    "must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
    "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)


def manifest(spec: Any = None, **metadata: Any) -> dict[str, Any]:
    """A NetworkPolicy manifest; metadata defaults to a valid name and namespace."""
    meta = {"name": "np", "namespace": "team-a", **metadata}
    meta = {key: value for key, value in meta.items() if value is not None}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta, "spec": spec}


def api_errors(document: dict[str, Any], options: ValidationOptions = CREATE_OPTIONS) -> list[FieldError]:
    """Every error the API server would report for ``document``."""
    return validate_policy(decode_policy(document), options)


def rendered(document: dict[str, Any], options: ValidationOptions = CREATE_OPTIONS) -> list[tuple[str, str]]:
    """``(path, message body)`` of every error, in the API server's order."""
    return [(error.path, error.body) for error in api_errors(document, options)]


def ruleset_with_only_api_validation(params: dict[str, Any] | None = None) -> RuleSet:
    """A rule set running only api-validation (with ``params``), no namespace exempt."""
    rules: dict[str, Any] = {
        rule_id: {"action": "off"} for rule_id in REGISTRY if rule_id != "api-validation"
    }
    rules["api-validation"] = params or {}
    return parse_ruleset(
        {
            "apiVersion": "netpol-guard.io/v1alpha1",
            "kind": "RuleSet",
            "exemptions": {"namespaces": []},
            "rules": rules,
        },
        "<test rules>",
    )
