"""The admission warnings of `explain`: what this write opens or closes, one short line each.

``explain.admission`` in the rules file picks what is said (default ``changes``):

- ``off``: nothing.
- ``changes``: on UPDATE every change from ``oldObject`` to ``object`` (opens, closes, isolation, ...);
  on CREATE one summary line per direction the policy isolates; on DELETE one conditional line (the
  webhook does not know the other policies).
- ``summary``: on UPDATE one line counting the changes; CREATE and DELETE as for ``changes``.

Lines are rendered from the diff document's change entries (as the CLI renders them), carry no control
character (the API server drops such a warning silently) and are cut to 256 characters. Pure and
deterministic: the same objects give the same lines.
"""

from __future__ import annotations

import re
from typing import Final

from app.admission.warnings import HARD_LIMIT, shorten
from app.explain.diff import diff_policy, released
from app.explain.document import change_document
from app.explain.model import ISOLATED, explain_policy, summarise
from app.netpol import DIRECTIONS, NetworkPolicy, spec_value

OFF: Final = "off"
CHANGES: Final = "changes"
SUMMARY: Final = "summary"
MODES: Final = (OFF, CHANGES, SUMMARY)
PREFIX: Final = "explain:"
MAX_COMPARED_GRANTS: Final = 1000
"""An UPDATE whose old or new object holds more grants than this is not compared (one line says so)."""

# C0, DEL, C1 and the Unicode line/paragraph separators: any of them makes the API server drop a warning.
_CONTROL: Final = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def clean(text: str) -> str:
    """One line without control characters, at most `HARD_LIMIT` characters."""
    return shorten(_CONTROL.sub(" ", text), HARD_LIMIT)


def grant_count(policy: NetworkPolicy) -> int:
    """How many grants the model of ``policy`` would hold (one per peer, one per rule without peers)."""
    return sum(len(rule.peers) if rule.peers else 1 for _, _, _, rule in policy.rule_entries)


def _update_lines(old: NetworkPolicy, new: NetworkPolicy, mode: str) -> list[str]:
    if spec_value(old) == spec_value(new) and old.metadata.get("namespace") == new.metadata.get("namespace"):
        return []  # most updates touch labels or annotations only: nothing to compare
    grants = max(grant_count(old), grant_count(new))
    if grants > MAX_COMPARED_GRANTS:
        # Comparing is far dearer than judging; a hostile update at the size limits must not hold the
        # review for seconds. Real policies have tens of grants.
        return [
            clean(
                f"{PREFIX} not compared at admission ({grants} grants, over {MAX_COMPARED_GRANTS}); "
                "run netpol-guard diff for what this update opens or closes"
            )
        ]
    # Only the directions the update can have changed: their rules, or whether they are in policyTypes.
    old_types, new_types = old.effective_policy_types, new.effective_policy_types
    touched = tuple(
        field
        for policy_type, field, _ in DIRECTIONS
        if (policy_type in old_types) != (policy_type in new_types)
        or (policy_type in new_types and old.rules(policy_type) != new.rules(policy_type))
    )
    if not touched and old.pod_selector == new.pod_selector:
        return []
    pair = diff_policy(
        explain_policy(old, directions=touched), explain_policy(new, directions=touched), touched
    )
    if not pair.changes:
        return []
    if mode == SUMMARY:
        counts: dict[str, int] = {}
        for change in pair.changes:
            counts[change.kind] = counts.get(change.kind, 0) + 1
        shown = ", ".join(f"{n} {kind}" for kind, n in counts.items())
        return [clean(f"{PREFIX} this update: {shown}; run netpol-guard diff for details")]
    lines = []
    for change in pair.changes:
        entry = change_document(change)
        path = entry["newPath"] or entry["oldPath"]
        lines.append(clean(f"{PREFIX} {entry['phrase']}" + (f" ({path})" if path else "")))
    return lines


def _create_lines(new: NetworkPolicy) -> list[str]:
    lines = []
    for summary in summarise(new):
        widest = summary.widest
        if widest is None:
            allows = "allows none"
        else:
            more = f" and {summary.count - 1} more" if summary.count > 1 else ""
            allows = f"allows {widest.phrase.removeprefix(summary.direction + ' ')}{more}"
        notes = "".join(f"; {note}" for note in summary.notes)
        lines.append(clean(f"{PREFIX} isolates {summary.direction} of {summary.subject}: {allows}{notes}"))
    return lines


def _delete_lines(old: NetworkPolicy) -> list[str]:
    explained = explain_policy(old)
    isolated = [state.direction for state in explained.directions if state.state == ISOLATED]
    if not isolated:
        return []
    subject = explained.subject.phrase
    if len(isolated) == 1:
        return [clean(f"{PREFIX} {released(isolated[0], subject)}")]
    both = (
        f"if no other policy selects {subject} for ingress or egress, they accept traffic from anywhere "
        "and may send traffic anywhere again"
    )
    return [clean(f"{PREFIX} {both}")]


def admission_lines(
    operation: str, old: NetworkPolicy | None, new: NetworkPolicy | None, mode: str = CHANGES
) -> list[str]:
    """The explain warnings for one admission request (``old`` for UPDATE and DELETE, ``new`` for
    CREATE and UPDATE)."""
    if mode == OFF:
        return []
    if operation == "UPDATE" and old is not None and new is not None:
        return _update_lines(old, new, mode)
    if operation == "CREATE" and new is not None:
        return _create_lines(new)
    if operation == "DELETE" and old is not None:
        return _delete_lines(old)
    return []
