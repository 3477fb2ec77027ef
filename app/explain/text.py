"""Text renderings of the explain and diff documents: compiler-style lines anchored at file:line:column.

``api.yaml:13:11:   allows ingress from pods app=web in namespace shop (...) on TCP port 8080 [spec...]``
"""

from __future__ import annotations

from typing import Any

from app.explain.document import Document
from app.manifests import STDIN_NAME


def _where(file: str | None, line: int | None, column: int | None = None) -> str:
    name = file or STDIN_NAME
    if not line:
        return name
    return f"{name}:{line}:{column}" if column else f"{name}:{line}"


def policy_lines(policy: dict[str, Any]) -> list[str]:
    """The lines of one policy's explanation (no standing notes)."""
    file = policy["file"]
    subject = policy["subject"]
    lines = [
        f"{_where(file, policy['line'], policy['column'])}: {policy['displayName']} selects "
        f"{subject['phrase']} [{subject['path']}]"
    ]
    for direction in policy["directions"]:
        lines.append(f"{_where(file, direction['line'], direction['column'])}: {direction['phrase']}")
        for grant in direction["grants"]:
            where = _where(file, grant["line"], grant["column"])
            lines.append(f"{where}:   allows {grant['phrase']} [{grant['path']}]")
        lines.extend(
            f"{_where(file, direction['line'], direction['column'])}: note: {note}"
            for note in direction["notes"]
        )
    return lines


def _plural(count: int, noun: str, plural: str | None = None) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {plural or noun + 's'}"


def render_explain_text(document: Document) -> str:
    """Every policy, the by-subject section when present, the standing notes, errors and a summary."""
    lines: list[str] = [error_line(e) for e in document["errors"]]
    for policy in document["policies"]:
        lines.extend(policy_lines(policy))
    subjects = document.get("subjects")
    if subjects:
        lines.append("")
        lines.append("By subject (policies add up: the selected pods get every grant below):")
        for subject in subjects:
            namespace = subject["namespace"] or "this policy's namespace"
            isolated = " and ".join(subject["isolated"]) or "nothing"
            lines.append(
                f"{subject['phrase']} ({namespace}): isolates {isolated}; "
                f"policies {', '.join(subject['policies'])}"
            )
            lines.extend(
                f"  may select the same pods as: {other}" for other in subject["maySelectSamePodsAs"]
            )
            for grant in subject["grants"]:
                lines.append(
                    f"  {grant['phrase']} ({grant['policy']}, "
                    f"{_where(grant['file'], grant['line'], grant['column'])} {grant['path']})"
                )
    if document["policies"]:
        notes = document["policies"][0]["notes"]
        lines.extend(f"note: {note}" for note in notes)
    summary = document["summary"]
    tail = f", {_plural(summary['errors'], 'error')}" if summary["errors"] else ""
    lines.append(
        f"netpol-guard explain: {_plural(summary['policies'], 'policy', 'policies')} in "
        f"{_plural(summary['files'], 'file')}{tail}"
    )
    return "\n".join(lines) + "\n"


def error_line(error: dict[str, Any]) -> str:
    where = f"{error['file']}:{error['line']}:{error['column']}" if error["line"] else error["file"]
    return f"{where}: error: {error['message']}"


def change_line(change: dict[str, Any]) -> str:
    """``file:line: kind: phrase [path] (policy)``."""
    if change["newFile"] is not None:
        where = _where(change["newFile"], change["newLine"])
    else:
        where = _where(change["oldFile"], change["oldLine"])
    path = change["newPath"] or change["oldPath"] or ""
    shown = f" [{path}]" if path else ""
    return f"{where}: {change['kind']}: {change['policy']}: {change['phrase']}{shown}"


def render_diff_text(document: Document) -> str:
    """One line per change in report order, then the summary line."""
    lines = [error_line(e) for e in document["errors"]]
    lines.extend(change_line(c) for c in document["changes"])
    errors = document["errors"]
    # Without this a broken input read as "no change": what could not be read was not compared.
    tail = f"; {_plural(len(errors), 'error')}: those inputs were not compared" if errors else ""
    lines.append(f"netpol-guard diff: {document['summary']['text']}{tail}")
    return "\n".join(lines) + "\n"
