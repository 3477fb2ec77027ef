"""The JSON report: a stable structure for scripts (documented in README, "Checking manifests in CI").

```
{"reportVersion": 1, "tool": {"name", "version"}, "mode", "strict", "exitCode",
 "summary": {"files", "policies", "skipped", "denied", "warned", "exempt",
             "denials", "warnings", "audits", "errors"},
 "files": [{"path", "skipped", "error": null | {"message", "line", "column"},
            "policies": [{"name", "line", "column", "denied", "exempt": null | reason,
                          "error": null | message,
                          "findings": [{"rule", "action", "path", "line", "column",
                                        "problem", "fix", "message"}]}]}]}
```
Keys are only ever added (``reportVersion`` changes when one is removed or changes meaning).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Final

import orjson

from app import __version__
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
        "findings": [_finding(f) for f in policy.findings],
    }


def _file(file: FileResult) -> dict[str, Any]:
    error = file.error
    return {
        "path": file.path,
        "skipped": file.skipped,
        "error": None
        if error is None
        else {"message": error.problem, "line": error.line or None, "column": error.column or None},
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
        "summary": dataclasses.asdict(report.summary),
        "files": [_file(f) for f in report.files],
    }


def render_json(report: CheckReport) -> str:
    """Render the report as indented JSON."""
    return orjson.dumps(report_document(report), option=orjson.OPT_INDENT_2).decode() + "\n"
