"""The SARIF 2.1.0 report, for GitHub code scanning (`github/codeql-action/upload-sarif`).

One run; the driver lists every rule of the catalog; each finding is a result at its file (a URI
relative to the working directory, i.e. the repository root in CI), line and column. Files that could
not be read are tool execution notifications, and the invocation is then not successful.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Final

import orjson

from app import __version__
from app.manifests import STDIN_NAME
from app.report.catalog import RuleEntry, catalog
from app.report.results import CheckReport, FileResult
from app.rules.base import Action

SARIF_SCHEMA: Final = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
SARIF_VERSION: Final = "2.1.0"
SRCROOT: Final = "%SRCROOT%"

LEVELS: Final = {Action.DENY: "error", Action.WARN: "warning", Action.AUDIT: "note", Action.OFF: "none"}


def artifact_location(path: str) -> dict[str, str]:
    """A relative URI under %SRCROOT% for files below the working directory, else an absolute file URI."""
    if path == STDIN_NAME:
        return {"uri": "stdin"}
    absolute = Path(os.path.abspath(path))
    try:
        relative = absolute.relative_to(Path.cwd())
    except ValueError:
        return {"uri": absolute.as_uri()}
    return {"uri": relative.as_posix(), "uriBaseId": SRCROOT}


def _descriptor(entry: RuleEntry) -> dict[str, Any]:
    text = f"{entry.rationale} {entry.details}".strip()
    return {
        "id": entry.id,
        "name": "".join(part.capitalize() for part in entry.id.split("-")),
        "shortDescription": {"text": entry.rationale},
        "fullDescription": {"text": text},
        # No helpUri: the project has no public documentation URL; `netpol-guard rules` is the reference.
        "help": {"text": f"{text} Details: `netpol-guard rules`."},
        "defaultConfiguration": {"level": LEVELS[Action(entry.default_action)]},
        "properties": {"tags": ["kubernetes", "networkpolicy"]},
    }


def _region(line: int, column: int) -> dict[str, int]:
    return {"startLine": max(line, 1), "startColumn": max(column, 1)}


def _results(file: FileResult, rule_index: dict[str, int]) -> list[dict[str, Any]]:
    results = []
    for policy in file.policies:
        for finding in policy.findings:
            v = finding.violation
            results.append(
                {
                    "ruleId": v.rule,
                    "ruleIndex": rule_index[v.rule],
                    "level": LEVELS[v.action],
                    "message": {"text": f"{policy.name}: {v.render()}{policy.namespace_note}"},
                    "locations": [
                        {
                            "physicalLocation": {
                                "artifactLocation": artifact_location(file.path),
                                "region": _region(finding.line, finding.column),
                            },
                            "logicalLocations": [
                                {
                                    "fullyQualifiedName": f"{policy.name}/{v.path}"
                                    if v.path
                                    else policy.name,
                                    "kind": "object",
                                }
                            ],
                        }
                    ],
                }
            )
    return results


def _location(path: str, line: int = 0, column: int = 0) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": artifact_location(path)}
    if line:
        physical["region"] = _region(line, column)
    return {"physicalLocation": physical}


def _notifications(report: CheckReport) -> list[dict[str, Any]]:
    notes = [
        {"level": "error", "message": {"text": p.problem}, "locations": [_location(p.path, p.line, p.column)]}
        for p in report.problems
    ]
    for file in report.files:
        location = _location(file.path)
        if file.note is not None:
            notes.append({"level": "note", "message": {"text": file.note}, "locations": [location]})
        notes.extend(
            {
                "level": "error",
                "message": {"text": e.problem},
                "locations": [_location(file.path, e.line, e.column)],
            }
            for e in file.errors
        )
        for policy in file.policies:
            if policy.internal_error is not None:
                text = f"{policy.name}: {policy.internal_error}"
                notes.append({"level": "error", "message": {"text": text}, "locations": [location]})
    return notes


def sarif_document(report: CheckReport) -> dict[str, Any]:
    """The SARIF log as plain data."""
    # Every finding's rule is in the catalog: the engine only runs registered rules.
    rules = [_descriptor(entry) for entry in catalog()]
    rule_index = {rule["id"]: position for position, rule in enumerate(rules)}
    notifications = _notifications(report)
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "netpol-guard",
                        "semanticVersion": __version__,
                        "rules": rules,
                    }
                },
                "invocations": [
                    {
                        "executionSuccessful": not any(n["level"] == "error" for n in notifications),
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "columnKind": "unicodeCodePoints",
                "results": [r for file in report.files for r in _results(file, rule_index)],
            }
        ],
    }


def render_sarif(report: CheckReport) -> str:
    """Render the report as SARIF 2.1.0 JSON."""
    return orjson.dumps(sarif_document(report), option=orjson.OPT_INDENT_2).decode() + "\n"
