"""Markdown renderings: explain, and the diff as a pull-request comment a bot can update in place.

The comment starts with `MARKER`, then a one-line summary, one table of changes (widest reach first)
and a ``<details>`` block per changed policy with its full explanation. It never exceeds
`COMMENT_LIMIT` characters (GitHub's limit): details are left out first, then table rows, and a last
line says what was left out.
"""

from __future__ import annotations

from typing import Any, Final

from app.explain.diff import KINDS
from app.explain.document import Document
from app.explain.model import BREADTHS

MARKER: Final = "<!-- netpol-guard:diff v1 -->"
COMMENT_LIMIT: Final = 65_536
_HEADER: Final = (
    "| Change | Policy | Direction | Pods selected | Peer | Ports | Where |\n|---|---|---|---|---|---|---|"
)


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def _code(text: str) -> str:
    return f"`{text}`" if "`" not in text else _cell(text)


def policy_markdown(policy: dict[str, Any]) -> str:
    """One policy's explanation as a Markdown list."""
    subject = policy["subject"]
    lines = [f"**{_cell(policy['displayName'])}** selects {_cell(subject['phrase'])}", ""]
    for direction in policy["directions"]:
        lines.append(f"- {_cell(direction['phrase'])}")
        for grant in direction["grants"]:
            lines.append(f"  - allows {_cell(grant['phrase'])} ({_code(grant['path'])})")
        lines.extend(f"  - note: {_cell(note)}" for note in direction["notes"])
    return "\n".join(lines)


def render_explain_markdown(document: Document) -> str:
    """Every policy as a section, the by-subject section when present, then the standing notes."""
    parts: list[str] = [f"- error: {_cell(_error(e))}" for e in document["errors"]]
    for policy in document["policies"]:
        where = f"{policy['file']}:{policy['line']}" if policy["line"] else (policy["file"] or "")
        parts.append(f"### {_cell(policy['displayName'])}\n\n{_code(where)}\n\n{policy_markdown(policy)}")
    for subject in document.get("subjects") or ():
        lines = [f"### By subject: {_cell(subject['phrase'])}", ""]
        lines.extend(f"- may select the same pods as {_cell(o)}" for o in subject["maySelectSamePodsAs"])
        lines.extend(
            f"- {_cell(g['phrase'])} ({_cell(g['policy'])}, {_code(g['path'])})" for g in subject["grants"]
        )
        parts.append("\n".join(lines))
    if document["policies"]:
        parts.append("\n".join(f"> {note}" for note in document["policies"][0]["notes"]))
    return "\n\n".join(parts) + "\n"


def _error(error: dict[str, Any]) -> str:
    where = f"{error['file']}:{error['line']}" if error["line"] else error["file"]
    return f"{where}: {error['message']}"


def _where(change: dict[str, Any], link_base: str | None) -> str:
    file, line = (
        (change["newFile"], change["newLine"])
        if change["newFile"] is not None
        else (change["oldFile"], change["oldLine"])
    )
    if file is None:
        return ""
    anchor = f"{file}#L{line}" if line else file
    if link_base:
        return f"[{_cell(anchor)}]({link_base.rstrip('/')}/{anchor})"
    return _code(anchor)


def _row(change: dict[str, Any], link_base: str | None) -> str:
    cells = [
        f"**{change['kind']}**",
        _cell(change["policy"]),
        change["direction"] or "-",
        _cell(change["subject"]),
        _cell(change["peer"]) or "-",
        _cell(change["ports"]) or "-",
        _where(change, link_base),
    ]
    return "| " + " | ".join(cells) + " |"


def _table_order(change: dict[str, Any]) -> tuple[int, int, str]:
    breadth = change["breadth"]
    return (
        BREADTHS.index(breadth) if breadth in BREADTHS else len(BREADTHS),
        KINDS.index(change["kind"]),
        change["policy"],
    )


def _details(policy: dict[str, Any]) -> str:
    side = policy["new"] or policy["old"]
    state = "" if policy["new"] else " (deleted; as it was)"
    count = policy["changes"]
    return (
        f"<details><summary>{_cell(policy['name'])}: {count} {'change' if count == 1 else 'changes'}"
        f"{state}</summary>\n\n{policy_markdown(side)}\n\n</details>"
    )


def render_diff_markdown(document: Document, link_base: str | None = None, limit: int = COMMENT_LIMIT) -> str:
    """The pull-request comment, at most ``limit`` characters."""
    summary = document["summary"]
    head = [MARKER, f"**netpol-guard diff:** {summary['text']}"]
    head.extend(f"- error: {_cell(_error(e))}" for e in document["errors"])
    changes = sorted(document["changes"], key=_table_order)
    rows = [_row(c, link_base) for c in changes]
    details = [_details(p) for p in document["policies"] if p["changes"]]
    # The worst case of the last line, kept free while filling.
    reserve = 200
    body = "\n".join(head)
    if rows:
        body += "\n\n" + _HEADER
    used = len(body)
    rows_kept = 0
    for row in rows:
        if used + len(row) + 1 + reserve > limit:
            break
        body += "\n" + row
        used += len(row) + 1
        rows_kept += 1
    kept = 0
    if rows_kept == len(rows):
        for block in details:
            if used + len(block) + 2 + reserve > limit:
                break
            body += "\n\n" + block
            used += len(block) + 2
            kept += 1
    left = []
    if rows_kept < len(rows):
        left.append(f"{len(rows) - rows_kept} of {len(rows)} table rows")
    if kept < len(details):
        left.append(f"{len(details) - kept} of {len(details)} policy details")
    if left:
        body += (
            f"\n\n_Left out to stay within {limit:,} characters: {' and '.join(left)}; "
            "run `netpol-guard diff` to see everything._"
        )
    return body + "\n"
