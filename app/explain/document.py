"""The JSON documents: ``explainVersion: 1`` and ``diffVersion: 1``, the model as is.

Text, Markdown and the admission warnings are rendered from these documents only, so no rendering can
say something another does not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from app.explain.diff import Change, DiffResult
from app.explain.inputs import InputError
from app.explain.model import Grant, Peer, PolicyExplanation
from app.explain.subjects import group_by_subject

EXPLAIN_VERSION: Final = 1
DIFF_VERSION: Final = 1

Document = dict[str, Any]


def _peer(peer: Peer) -> dict[str, Any]:
    found: dict[str, Any] = {"kind": peer.kind}
    if peer.namespaces is not None:
        found["namespaceSelector"] = peer.namespaces.to_json()
    if peer.pods is not None:
        found["podSelector"] = peer.pods.to_json()
    if peer.addresses is not None:
        found["addresses"] = peer.addresses.to_json()
        if peer.addresses.unparsable:
            found["unparsable"] = peer.addresses.unparsable
    return found


def _grant(grant: Grant) -> dict[str, Any]:
    return {
        "path": grant.path,
        "line": grant.line,
        "column": grant.column,
        "peer": _peer(grant.peer),
        "peerPhrase": grant.peer_phrase,
        "ports": grant.ports.to_json(),
        "portsPhrase": grant.ports_phrase,
        "breadth": grant.breadth,
        "notes": list(grant.notes),
        "phrase": grant.phrase,
    }


def policy_document(policy: PolicyExplanation) -> dict[str, Any]:
    """One policy's explanation as JSON."""
    subject = policy.subject
    return {
        "name": policy.name,
        "namespace": policy.namespace,
        "displayName": policy.display_name,
        "file": policy.file,
        "line": policy.line,
        "column": policy.column,
        "subject": {
            "namespace": subject.namespace,
            "podSelector": subject.selector.to_json(),
            "path": subject.path,
            "line": subject.line,
            "column": subject.column,
            "phrase": subject.phrase,
        },
        "directions": [
            {
                "direction": d.direction,
                "state": d.state,
                "path": d.path,
                "line": d.line,
                "column": d.column,
                "phrase": d.phrase,
                "notes": list(d.notes),
                "grants": [_grant(g) for g in d.grants],
            }
            for d in policy.directions
        ],
        "notes": list(policy.notes),
    }


def _errors(errors: Sequence[InputError]) -> list[dict[str, Any]]:
    return [{"file": e.file, "line": e.line, "column": e.column, "message": e.message} for e in errors]


def explain_document(
    policies: Sequence[PolicyExplanation],
    errors: Sequence[InputError] = (),
    *,
    files: int = 0,
    by_subject: bool = False,
) -> Document:
    """The explain document; ``by_subject`` adds the union of grants per namespace and selector."""
    document: Document = {
        "explainVersion": EXPLAIN_VERSION,
        "policies": [policy_document(p) for p in policies],
    }
    if by_subject:
        document["subjects"] = [
            {
                "namespace": group.namespace,
                "phrase": group.phrase,
                "policies": [p.display_name for p in group.policies],
                "isolated": list(group.isolated),
                "maySelectSamePodsAs": list(group.may_overlap),
                "grants": [
                    {
                        "policy": policy.display_name,
                        "file": policy.file,
                        "line": grant.line,
                        "column": grant.column,
                        "path": grant.path,
                        "breadth": grant.breadth,
                        "phrase": grant.phrase,
                    }
                    for policy, grant in group.grants
                ],
            }
            for group in group_by_subject(policies)
        ]
    document["errors"] = _errors(errors)
    document["summary"] = {"files": files, "policies": len(policies), "errors": len(errors)}
    return document


def change_document(change: Change) -> dict[str, Any]:
    """One change as JSON (also what the admission warnings are rendered from)."""
    return {
        "kind": change.kind,
        "policy": change.policy,
        "direction": change.direction,
        "subject": change.subject,
        "breadth": change.breadth,
        "peer": change.peer,
        "ports": change.ports,
        "phrase": change.phrase,
        "oldPath": change.old_path,
        "newPath": change.new_path,
        "oldFile": change.old_file,
        "newFile": change.new_file,
        "oldLine": change.old_line,
        "newLine": change.new_line,
    }


def diff_document(result: DiffResult, errors: Sequence[InputError] = ()) -> Document:
    """The diff document: every change in report order, the policies on both sides, a summary."""
    changes = result.changes
    return {
        "diffVersion": DIFF_VERSION,
        "summary": {
            "text": result.summary,
            "counts": result.counts(),
            "changedPolicies": sum(1 for p in result.pairs if p.changes),
            "policies": len(result.pairs),
        },
        "changes": [change_document(c) for c in changes],
        "policies": [
            {
                "name": pair.name,
                "changes": len(pair.changes),
                "old": policy_document(pair.old) if pair.old is not None else None,
                "new": policy_document(pair.new) if pair.new is not None else None,
            }
            for pair in result.pairs
        ],
        "errors": _errors(errors),
    }
