"""The text report: one compiler-style line per finding, then a summary line.

``path/file.yaml:12:9: deny [forbid-allow-all] spec.ingress[0]: problem. Fix: ...``
"""

from __future__ import annotations

from app.report.results import CheckReport, Summary


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _where(path: str, line: int, column: int) -> str:
    return f"{path}:{line}:{column}" if line else path


def summary_line(summary: Summary, strict_caused_exit: bool = False) -> str:
    """``netpol-guard: 3 files, 5 policies (2 other documents skipped): 1 denied, ...``."""
    parts = [
        f"{summary.denied} denied ({_plural(summary.denials, 'denial')})",
        _plural(summary.warnings, "warning"),
    ]
    if summary.audits:
        parts.append(f"{summary.audits} audit-only")
    if summary.exempt:
        parts.append(f"{summary.exempt} exempt")
    if summary.errors:
        parts.append(_plural(summary.errors, "error"))
    policies = "policy" if summary.policies == 1 else "policies"
    checked = f"{_plural(summary.files, 'file')}, {summary.policies} {policies}"
    skipped = f" ({_plural(summary.skipped, 'other document')} skipped)" if summary.skipped else ""
    strict = "; exit code 1 because --strict fails on warnings" if strict_caused_exit else ""
    return f"netpol-guard: {checked}{skipped}: {', '.join(parts)}{strict}"


def render_text(report: CheckReport) -> str:
    """Render the report for people and for editors that jump to ``file:line:column``."""
    lines = [f"{_where(p.path, p.line, p.column)}: error: {p.problem}" for p in report.problems]
    for file in report.files:
        if file.note is not None:
            lines.append(f"{file.path}: note: {file.note}")
        lines.extend(f"{_where(file.path, e.line, e.column)}: error: {e.problem}" for e in file.errors)
        for policy in file.policies:
            where = f"{file.path}:{policy.line}:{policy.column}"
            if policy.internal_error is not None:
                lines.append(f"{where}: error: {policy.name}: {policy.internal_error}")
            if policy.exempt is not None:
                lines.append(
                    f"{where}: note: {policy.name} not checked: {policy.exempt}{policy.namespace_note}"
                )
            for finding in policy.findings:
                v = finding.violation
                lines.append(
                    f"{file.path}:{finding.line}:{finding.column}: {v.action.value} {v.render()}"
                    f"{policy.namespace_note}"
                )
    lines.append(summary_line(report.summary, report.strict_caused_exit))
    return "\n".join(lines) + "\n"
