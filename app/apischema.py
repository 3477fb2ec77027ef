"""What kubectl refuses before NetworkPolicy validation runs: the type's apiVersion and kind, and strict
decoding (unknown and duplicate fields).

kubectl asks the API server to decode strictly (``fieldValidation=Strict``), so a field the
``networking.k8s.io/v1`` schema does not know (``spec.policyType``) or a key given twice is an error,
not a silent drop; a NetworkPolicy under a removed or unknown apiVersion (``extensions/v1beta1``, gone
since 1.16) or a mis-cased kind does not even map to a resource. The known fields are recorded from
the OpenAPI schema of the newest Kubernetes the chart supports (``app/data/networkpolicy-v1-fields.json``,
written by ``scripts/record_netpol_schema.py``).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final

API_VERSION: Final = "networking.k8s.io/v1"
KIND: Final = "NetworkPolicy"
FIELDS_RESOURCE: Final = "networkpolicy-v1-fields.json"
# Groups of the Kubernetes API itself that serve (or once served) NetworkPolicy. Other groups have
# NetworkPolicy kinds of their own (Calico's projectcalico.org/v3): those are not ours to judge.
_POLICY_GROUPS: Final = frozenset({"networking.k8s.io", "extensions"})
_REMOVED: Final = {"extensions/v1beta1": "1.16"}
# `kubectl get -o yaml` of clusters before 1.27 wrote an (always empty) status; the type has none since.
_STATUS_FIX: Final = "remove it: NetworkPolicy has had no status since Kubernetes 1.27"


@dataclass(frozen=True, slots=True)
class SchemaProblem:
    """One thing kubectl refuses, at a field path, with a fix."""

    path: str
    problem: str
    fix: str


@cache
def field_tree() -> dict[str, Any]:
    """The recorded field tree (object: name -> subtree; list of objects: ``[subtree]``; ``0``: leaf)."""
    text = resources.files("app.data").joinpath(FIELDS_RESOURCE).read_text(encoding="utf-8")
    tree: dict[str, Any] = json.loads(text)["fields"]
    return tree


@cache
def schema_version() -> str:
    """The Kubernetes version whose schema the field tree was recorded from."""
    text = resources.files("app.data").joinpath(FIELDS_RESOURCE).read_text(encoding="utf-8")
    version: str = json.loads(text)["kubernetesVersion"]
    return version


def _group(api_version: str) -> str:
    return api_version.split("/", 1)[0] if "/" in api_version else api_version


def is_policy_like(obj: Any) -> bool:
    """True for an object meant as a Kubernetes NetworkPolicy: ``kind`` NetworkPolicy in any case, under
    an apiVersion of the Kubernetes groups that serve or served it (valid or not, so that `check` can
    say what is wrong instead of skipping it)."""
    if not isinstance(obj, dict):
        return False
    kind, api_version = obj.get("kind"), obj.get("apiVersion")
    return (
        isinstance(kind, str)
        and kind.lower() == KIND.lower()
        and isinstance(api_version, str)
        and _group(api_version) in _POLICY_GROUPS
    )


def type_problems(obj: dict[str, Any]) -> list[SchemaProblem]:
    """apiVersion and kind as kubectl maps them to a resource: ``no matches for kind ...``."""
    kind, api_version = obj.get("kind"), obj.get("apiVersion")
    problems = []
    if api_version != API_VERSION:
        removed = _REMOVED.get(str(api_version))
        why = (
            f"NetworkPolicy was removed from {api_version} in Kubernetes {removed}"
            if removed
            else f"NetworkPolicy is served only as {API_VERSION}"
        )
        problems.append(
            SchemaProblem(
                "apiVersion",
                f'no matches for kind "{kind}" in version "{api_version}" ({why})',
                f"use apiVersion: {API_VERSION}",
            )
        )
    if kind != KIND:
        problems.append(
            SchemaProblem(
                "kind",
                f'no matches for kind "{kind}" in version "{api_version}" (kinds are case-sensitive)',
                f"use kind: {KIND}",
            )
        )
    return problems


def _suggestion(key: str, known: list[str]) -> str:
    lowered = {name.lower(): name for name in known}
    close = lowered.get(key.lower()) or next(
        iter(difflib.get_close_matches(key, known, n=1, cutoff=0.6)), None
    )
    if close is not None:
        return f'did you mean "{close}"? Rename the field'
    return f"remove it (fields known here: {', '.join(known)})"


def _unknown(value: Any, tree: Any, path: str) -> Iterator[SchemaProblem]:
    # Only the shapes the schema describes are walked: a wrong type is a decode error, reported apart.
    if isinstance(tree, dict) and isinstance(value, dict):
        for key, child in value.items():
            child_path = f"{path}.{key}" if path else str(key)
            if key not in tree:
                yield SchemaProblem(
                    child_path,
                    f'strict decoding error: unknown field "{child_path}"',
                    _STATUS_FIX if child_path == "status" else _suggestion(str(key), sorted(tree)),
                )
            else:
                yield from _unknown(child, tree[key], child_path)
    elif isinstance(tree, list) and isinstance(value, list):
        for index, item in enumerate(value):
            yield from _unknown(item, tree[0], f"{path}[{index}]")


def unknown_fields(obj: dict[str, Any]) -> list[SchemaProblem]:
    """Every field of ``obj`` the NetworkPolicy v1 schema does not know, with a did-you-mean fix."""
    return list(_unknown(obj, field_tree(), ""))


def duplicate_field(path: str) -> SchemaProblem:
    """A key given twice in one mapping (the reader found it; the object keeps only the last)."""
    return SchemaProblem(
        path,
        f'strict decoding error: duplicate field "{path}"',
        "keep one of the entries (the API server refuses both; YAML readers silently keep the last)",
    )
