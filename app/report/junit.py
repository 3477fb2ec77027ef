"""The JUnit XML report, for CI test viewers (GitLab, Jenkins, Azure DevOps, GitHub test reporters).

One ``<testsuite>`` per file, one ``<testcase>`` per policy. Failures mirror the exit code: a denial
is a ``<failure>``, and so is a warning with ``--strict``; otherwise warnings go to ``<system-out>``
so a passing run stays green. A file that cannot be read is a suite with one ``<error>`` testcase; a
policy in an exempt namespace is ``<skipped>``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from app.manifests import UnreadableManifest
from app.report.results import CheckReport, FileResult, PolicyResult
from app.rules.base import Action


def _line(file: FileResult, policy: PolicyResult, action: Action) -> list[str]:
    return [
        f"{file.path}:{f.line}:{f.column}: {f.violation.action.value} {f.violation.render()}"
        f"{policy.namespace_note}"
        for f in policy.findings
        if f.violation.action is action
    ]


def _testcase(
    suite: ET.Element, report: CheckReport, file: FileResult, policy: PolicyResult
) -> tuple[int, int, int]:
    """Add one policy's testcase; return its (failures, errors, skipped) counts."""
    case = ET.SubElement(
        suite,
        "testcase",
        name=policy.name,
        classname=file.path,
        file=file.path,
        line=str(policy.line),
    )
    if policy.internal_error is not None:
        ET.SubElement(
            case, "error", message=policy.internal_error, type="InternalError"
        ).text = policy.internal_error
        return 0, 1, 0
    if policy.exempt is not None:
        ET.SubElement(case, "skipped", message=policy.exempt)
        return 0, 0, 1
    denials = _line(file, policy, Action.DENY)
    warnings = _line(file, policy, Action.WARN)
    failing = denials + (warnings if report.strict else [])
    shown = (warnings if not report.strict else []) + _line(file, policy, Action.AUDIT)
    if failing:
        kind = "deny" if denials else "warn"
        message = f"{len(denials)} denied, {len(warnings)} warnings"
        ET.SubElement(case, "failure", message=message, type=kind).text = "\n".join(failing)
    if shown:
        ET.SubElement(case, "system-out").text = "\n".join(shown)
    return (1 if failing else 0), 0, 0


def _error_case(suite: ET.Element, error: UnreadableManifest, name: str) -> None:
    case = ET.SubElement(suite, "testcase", name=name, classname=error.path, file=error.path)
    if error.line:
        case.set("line", str(error.line))
    ET.SubElement(case, "error", message=error.problem, type="ManifestError").text = str(error)


def _suite(root: ET.Element, report: CheckReport, file: FileResult) -> tuple[int, int, int, int]:
    suite = ET.SubElement(root, "testsuite", name=file.path, file=file.path)
    if file.skipped:  # the JUnit schema wants properties before the testcases
        ET.SubElement(suite, "properties").append(
            ET.Element("property", name="skipped-documents", value=str(file.skipped))
        )
    tests = failures = errors = skipped = 0
    for error in file.errors:
        _error_case(suite, error, "read manifest")
        tests, errors = tests + 1, errors + 1
    if file.note is not None:
        case = ET.SubElement(suite, "testcase", name="read manifest", classname=file.path, file=file.path)
        ET.SubElement(case, "skipped", message=file.note)
        tests, skipped = tests + 1, skipped + 1
    for policy in file.policies:
        failed, errored, skip = _testcase(suite, report, file, policy)
        tests += 1
        failures += failed
        errors += errored
        skipped += skip
    counts = {"tests": tests, "failures": failures, "errors": errors, "skipped": skipped}
    for key, value in counts.items():
        suite.set(key, str(value))
    return tests, failures, errors, skipped


def render_junit(report: CheckReport) -> str:
    """Render the report as JUnit XML."""
    root = ET.Element("testsuites", name="netpol-guard")
    totals = [0, 0, 0, 0]
    for problem in report.problems:
        suite = ET.SubElement(root, "testsuite", name=problem.path, file=problem.path, tests="1", errors="1")
        suite.set("failures", "0")
        suite.set("skipped", "0")
        _error_case(suite, problem, "netpol-guard check")
        totals[0] += 1
        totals[2] += 1
    for file in report.files:
        for position, count in enumerate(_suite(root, report, file)):
            totals[position] += count
    for key, value in zip(("tests", "failures", "errors", "skipped"), totals, strict=True):
        root.set(key, str(value))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
