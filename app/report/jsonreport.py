"""The JSON report: a stable structure for scripts (documented in README, "Checking manifests in CI").

```
{"reportVersion": 1, "tool": {"name", "version"}, "mode", "strict", "exitCode", "strictCausedExit",
 "summary": {"files", "policies", "skipped", "denied", "warned", "exempt",
             "denials", "warnings", "audits", "errors"},
 "problems": [{"path", "message", "line", "column"}],
 "files": [{"path", "skipped", "note": null | reason,
            "error": null | {"message", "line", "column"}, "errors": [{"message", "line", "column"}],
            "policies": [{"name", "line", "column", "denied", "exempt": null | reason,
                          "error": null | message, "namespaceAssumed": null | namespace,
                          "findings": [{"rule", "action", "path", "line", "column",
                                        "problem", "fix", "message"}]}]}]}
```
``problems`` are errors of the run (a bad rules file, a PATH without NetworkPolicy); ``error`` is the
first of ``errors`` (kept for older readers).
Keys are only ever added (``reportVersion`` changes when one is removed or changes meaning).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Final

import orjson

from app import __version__
from app.manifests import UnreadableManifest
from app.report.results import CheckReport, FileResult, LocatedViolation, PolicyResult

REPORT_VERSION: Final = 1


def _finding(finding: LocatedViolation) -> dict[str, Any]:
    v = finding.violation
    return {
        "rule": v.rule,
        "action": v.action.value,
        "path": v.path,
        "line": finding.line,
        "column": finding.column,
        "problem": v.problem,
        "fix": v.fix,
        "message": v.render(),
    }


def _policy(policy: PolicyResult) -> dict[str, Any]:
    return {
        "name": policy.name,
        "line": policy.line,
        "column": policy.column,
        "denied": policy.denied,
        "exempt": policy.exempt,
        "error": policy.internal_error,
        "namespaceAssumed": policy.assumed_namespace,
        "findings": [_finding(f) for f in policy.findings],
    }


def _error(error: UnreadableManifest) -> dict[str, Any]:
    return {"message": error.problem, "line": error.line or None, "column": error.column or None}


def _file(file: FileResult) -> dict[str, Any]:
    return {
        "path": file.path,
        "skipped": file.skipped,
        "note": file.note,
        "error": None if file.error is None else _error(file.error),
        "errors": [_error(e) for e in file.errors],
        "policies": [_policy(p) for p in file.policies],
    }


def report_document(report: CheckReport) -> dict[str, Any]:
    """The report as plain data (what `render_json` serialises)."""
    return {
        "reportVersion": REPORT_VERSION,
        "tool": {"name": "netpol-guard", "version": __version__},
        "mode": report.mode.value,
        "strict": report.strict,
        "exitCode": report.exit_code,
        "strictCausedExit": report.strict_caused_exit,
        "summary": dataclasses.asdict(report.summary),
        "problems": [{"path": p.path, **_error(p)} for p in report.problems],
        "files": [_file(f) for f in report.files],
    }


def render_json(report: CheckReport) -> str:
    """Render the report as indented JSON."""
    return orjson.dumps(report_document(report), option=orjson.OPT_INDENT_2).decode() + "\n"
