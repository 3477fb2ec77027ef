"""`netpol-guard check` as CI runs it: exit codes, stdin, directories, formats, and never a traceback."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import pytest
from cli_process import netpol_guard

from app.__main__ import main
from app.report.results import check_files
from app.rules import REGISTRY
from app.rules.base import Finding
from app.ruleset import load_ruleset

ROOT = Path(__file__).parents[2]
SAMPLES = ROOT / "tests" / "report" / "samples"


def sample(name: str) -> str:
    return str(SAMPLES.relative_to(ROOT) / f"{name}.yaml")


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ((sample("clean"),), 0),
        ((sample("warned"),), 0),
        (("--strict", sample("warned")), 1),
        ((sample("denied"), sample("clean")), 1),
        ((sample("clean"), sample("broken"), sample("denied")), 2),
        (("does/not/exist.yaml",), 2),
    ],
    ids=["clean", "warning", "warning-strict", "denied", "broken-among-good", "missing-file"],
)
def test_check_exits_with_the_documented_code(args: tuple[str, ...], code: int) -> None:
    result = netpol_guard("check", *args)
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_broken_file_is_reported_with_its_line_and_the_other_files_are_still_checked() -> None:
    result = netpol_guard("check", sample("broken"), sample("denied"))
    assert f"{sample('broken')}:6:5: error: not valid YAML" in result.stdout
    assert f"{sample('denied')}:13:7: deny [forbid-allow-all]" in result.stdout
    assert result.returncode == 2


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ("apiVersion: netpol-guard.io/v1alpha1\nkind: RuleSet\nrules:\n  no-such-rule: {}\n", "no-such-rule"),
        (
            "apiVersion: netpol-guard.io/v1alpha1\nkind: RuleSet\nrules:\n  require-labels:\n"
            "    labels: [{key: team, pattern: '(['}]\n",
            "rules.require-labels.labels[0].pattern",
        ),
        ("rules: [unclosed\n", "not valid YAML"),
    ],
    ids=["unknown-rule", "bad-regex", "bad-yaml"],
)
def test_bad_rules_file_exits_2_with_one_clear_message(tmp_path: Path, rules: str, expected: str) -> None:
    config = tmp_path / "rules.yaml"
    config.write_text(rules)
    result = netpol_guard("check", "--config", str(config), sample("clean"))
    assert result.returncode == 2
    assert expected in result.stderr and str(config) in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_missing_rules_file_exits_2(tmp_path: Path) -> None:
    result = netpol_guard("check", "--config", str(tmp_path / "nope.yaml"), sample("clean"))
    assert result.returncode == 2
    assert "cannot read the rules file" in result.stderr and "Traceback" not in result.stderr


def test_stdin_is_checked_for_a_dash() -> None:
    result = netpol_guard("check", "-", stdin=(SAMPLES / "denied.yaml").read_bytes())
    assert result.returncode == 1
    assert result.stdout.startswith("<stdin>:13:7: deny [forbid-allow-all]")


@pytest.mark.parametrize("fmt", ["json", "sarif", "junit"], ids=["json", "sarif", "junit"])
def test_machine_formats_parse_and_keep_the_exit_code(fmt: str) -> None:
    result = netpol_guard("check", "--format", fmt, sample("denied"), sample("warned"))
    assert result.returncode == 1
    if fmt == "junit":
        from xml.etree import ElementTree

        assert ElementTree.fromstring(result.stdout).get("failures") == "1"
    else:
        document = json.loads(result.stdout)
        assert "forbid-allow-all" in result.stdout
        assert document.get("exitCode", 1) == 1


def test_directory_is_checked_recursively(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "--format", "json", str(SAMPLES)])
    document = json.loads(capsys.readouterr().out)
    assert code == 2  # the directory holds broken.yaml
    assert [Path(f["path"]).name for f in document["files"]] == [
        "broken.yaml", "clean.yaml", "denied.yaml", "warned.yaml",
    ]  # fmt: skip
    assert document["summary"]["skipped"] == 1


def test_multi_document_file_is_checked_document_by_document(tmp_path: Path) -> None:
    denied = (SAMPLES / "denied.yaml").read_text()
    clean = (SAMPLES / "clean.yaml").read_text()
    stream = tmp_path / "stream.yaml"
    stream.write_text(f"{denied}---\n{clean}")
    report = check_files([str(stream)], load_ruleset(None))
    (file,) = report.files
    assert [p.name for p in file.policies] == ["shop/open", "shop/clean"]
    assert (report.summary.denied, report.summary.skipped) == (1, 1)


def test_a_crashing_rule_is_an_error_for_its_policy_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rule = REGISTRY["require-ports"]

    def explode(*_: object) -> Iterable[Finding]:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(rule, "check", explode)
    code = main(["check", sample("warned"), sample("denied")])
    out = capsys.readouterr().out
    assert code == 2
    assert "internal error while checking this policy (ZeroDivisionError: boom)" in out
    assert ": error: shop/noports: internal error" in out  # named like every other policy
    assert "Traceback" not in out


def test_whole_real_corpus_directory_is_checked_without_a_read_error() -> None:
    corpus = ROOT.parent / "shared" / "corpus" / "real"
    if not corpus.is_dir():
        pytest.skip(f"the shared corpus is absent ({corpus})")
    index = json.loads((corpus / "index.json").read_text())
    expect_errors = any(entry["yaml_error"] for entry in index["files"])
    result = netpol_guard("check", str(corpus))
    assert "Traceback" not in result.stdout + result.stderr
    assert result.returncode in ((0, 1, 2) if expect_errors else (0, 1)), result.stdout[-2000:]
