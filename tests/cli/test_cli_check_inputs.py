"""`check` on real repositories and hostile files: excludes, assumed namespaces, broken documents, files
too large or not regular, PATHs without policies, broken rules files in every format."""

from __future__ import annotations

import json
import os
from pathlib import Path
from xml.etree import ElementTree

import pytest
from cli_process import netpol_guard

ROOT = Path(__file__).parents[2]
POLICY = """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {name}
spec:
  podSelector: {{}}
  policyTypes: [Ingress]
  ingress:
  - {{}}
"""
CLEAN = """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: clean
  namespace: shop
spec:
  podSelector: {}
  policyTypes: [Ingress]
"""


def test_a_huge_number_is_one_line_with_its_position_and_other_files_are_still_checked(
    tmp_path: Path,
) -> None:
    huge = tmp_path / "huge.yaml"
    huge.write_text(CLEAN + "  ingress:\n  - ports:\n    - port: " + "9" * 5000 + "\n")
    other = tmp_path / "other.yaml"
    other.write_text(POLICY.format(name="open"))
    result = netpol_guard("check", str(huge), str(other))
    assert result.returncode == 2
    assert "Traceback" not in result.stdout + result.stderr
    (line,) = [line for line in result.stdout.splitlines() if "huge.yaml" in line]
    assert line.startswith(f"{huge}:11:13: error: not valid YAML: a number of 5,000 digits")
    assert f"{other}:9:5: deny [forbid-allow-all]" in result.stdout


def test_a_huge_number_in_json_is_located_too(tmp_path: Path) -> None:
    huge = tmp_path / "huge.json"
    huge.write_text(
        '{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",\n "spec": ' + "1" * 5000 + "}"
    )
    result = netpol_guard("check", str(huge))
    assert result.returncode == 2
    assert f"{huge}:2:10: error:" in result.stdout and "5,000 digits" in result.stdout


def test_one_broken_document_does_not_hide_the_others_of_its_file(tmp_path: Path) -> None:
    stream = tmp_path / "stream.yaml"
    stream.write_text(f"{POLICY.format(name='first')}---\nkind: [oops\n---\n{POLICY.format(name='third')}")
    result = netpol_guard("check", "--format", "json", str(stream))
    document = json.loads(result.stdout)
    (file,) = document["files"]
    assert [p["name"] for p in file["policies"]] == ["default/first", "default/third"]
    (error,) = file["errors"]
    assert error["line"] == 12 and "'[' opened at line 11, column 7 is not closed" in error["message"]
    assert result.returncode == 2


def test_a_file_over_max_file_bytes_is_an_error_naming_it(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text(POLICY.format(name="big") + "#" * 2000 + "\n")
    small = tmp_path / "small.yaml"
    small.write_text(CLEAN)
    result = netpol_guard("check", "--max-file-bytes", "1000", str(big), str(small))
    assert result.returncode == 2
    assert f"{big}: error: the file is 2," in result.stdout and "--max-file-bytes" in result.stdout
    assert "1 policy" in result.stdout.splitlines()[-1]


def test_max_file_bytes_must_be_a_positive_number() -> None:
    result = netpol_guard("check", "--max-file-bytes", "lots", "x.yaml")
    assert result.returncode == 2 and "--max-file-bytes" in result.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_in_a_directory_is_skipped_with_a_note_and_named_explicitly_it_is_an_error(
    tmp_path: Path,
) -> None:
    (tmp_path / "policy.yaml").write_text(CLEAN)
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    walked = netpol_guard("check", str(tmp_path))
    assert walked.returncode == 0, walked.stdout
    assert f"{fifo}: note: skipped: a FIFO, not a regular file" in walked.stdout
    named = netpol_guard("check", str(fifo))  # would hang if opened
    assert named.returncode == 2
    assert f"{fifo}: error: a FIFO, not a regular file" in named.stdout


def test_exclude_globs_match_paths_relative_to_each_path(tmp_path: Path) -> None:
    for relative in ("policies/app.yaml", "charts/web/templates/np.yaml", "vendor/lib/np.yaml"):
        target = tmp_path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(POLICY.format(name=target.parent.name) if "policies" not in relative else CLEAN)
    everything = netpol_guard("check", str(tmp_path))
    assert everything.returncode == 1
    result = netpol_guard("check", "--exclude", "charts/*/templates", "--exclude", "vendor", str(tmp_path))
    assert result.returncode == 0, result.stdout
    assert "1 file, 1 policy" in result.stdout
    # Relative to the PATH given (not to the working directory): "web/*" below charts/.
    relative = netpol_guard(
        "check", "--exclude", "web/*", str(tmp_path / "charts"), str(tmp_path / "policies")
    )
    assert "templates/np.yaml" not in relative.stdout
    assert f"{tmp_path / 'charts'}: error: no NetworkPolicy here" in relative.stdout
    assert "1 file, 1 policy" in relative.stdout and relative.returncode == 2


def test_a_missing_namespace_is_assumed_and_findings_say_so(tmp_path: Path) -> None:
    policy = tmp_path / "open.yaml"
    policy.write_text(POLICY.format(name="open"))
    default = netpol_guard("check", str(policy))
    assert f"{policy}:9:5: deny [forbid-allow-all]" in default.stdout
    assert 'namespace "default" assumed' in default.stdout
    chosen = netpol_guard("check", "--namespace", "shop", "--format", "json", str(policy))
    (found,) = json.loads(chosen.stdout)["files"][0]["policies"]
    assert found["name"] == "shop/open" and found["namespaceAssumed"] == "shop"
    # kube-system is exempt by default: the assumed namespace is the one judged.
    exempt = netpol_guard("check", "--namespace", "kube-system", str(policy))
    assert exempt.returncode == 0 and "not checked" in exempt.stdout


def test_a_namespace_in_the_manifest_is_never_overridden(tmp_path: Path) -> None:
    policy = tmp_path / "clean.yaml"
    policy.write_text(CLEAN)
    result = netpol_guard("check", "--namespace", "kube-system", "--format", "json", str(policy))
    (found,) = json.loads(result.stdout)["files"][0]["policies"]
    assert found["name"] == "shop/clean" and found["namespaceAssumed"] is None and found["exempt"] is None


def test_a_bad_namespace_flag_is_one_line_and_exit_2() -> None:
    result = netpol_guard("check", "--namespace", "Not_Valid", "x.yaml")
    assert result.returncode == 2 and "--namespace" in result.stderr and "Traceback" not in result.stderr


def test_a_path_without_network_policies_says_so_plainly(tmp_path: Path) -> None:
    (tmp_path / "deploy.yaml").write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n")
    result = netpol_guard("check", str(tmp_path))
    assert result.returncode == 2
    assert f"{tmp_path}: error: no NetworkPolicy here (files read: 1, other documents: 1)" in result.stdout
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no *.yaml, *.yml or *.json file" in netpol_guard("check", str(empty)).stdout


@pytest.mark.parametrize("fmt", ["json", "sarif", "junit"])
def test_a_broken_rules_file_still_gives_a_valid_document_of_every_format(tmp_path: Path, fmt: str) -> None:
    config = tmp_path / "rules.yaml"
    config.write_text("apiVersion: netpol-guard.io/v1alpha1\nkind: RuleSet\nrules:\n  no-such-rule: {}\n")
    result = netpol_guard("check", "--format", fmt, "--config", str(config), str(tmp_path))
    assert result.returncode == 2
    assert "no-such-rule" in result.stderr
    if fmt == "junit":
        root = ElementTree.fromstring(result.stdout)
        assert root.get("errors") == "1" and "no-such-rule" in result.stdout
    elif fmt == "sarif":
        (invocation,) = json.loads(result.stdout)["runs"][0]["invocations"]
        assert invocation["executionSuccessful"] is False
        (note,) = invocation["toolExecutionNotifications"]
        assert "bad rules file" in note["message"]["text"] and "no-such-rule" in note["message"]["text"]
    else:
        document = json.loads(result.stdout)
        assert document["exitCode"] == 2 and "no-such-rule" in document["problems"][0]["message"]


def test_a_broken_input_is_a_sarif_tool_execution_notification(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("a:\n\tb: 1\n")
    result = netpol_guard("check", "--format", "sarif", str(broken))
    assert result.returncode == 2
    (invocation,) = json.loads(result.stdout)["runs"][0]["invocations"]
    (note,) = invocation["toolExecutionNotifications"]
    assert "a tab character" in note["message"]["text"]
    assert note["locations"][0]["physicalLocation"]["region"] == {"startLine": 2, "startColumn": 1}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a:\n\tb: 1\n", ":2:1: error: not valid YAML: a tab character"),
        (
            "a:\n  b: [1, 2\n  c: 3\n",
            ":3:4: error: not valid YAML: the '[' opened at line 2, column 6 is not closed",
        ),
        ("a: {x: 1\nb: 2\n", "the '{' opened at line 1, column 4 is not closed"),
        ('a: "abc\n', "the quote opened at line 1, column 4 is not closed"),
    ],
    ids=["tab", "bracket", "brace", "quote"],
)
def test_yaml_errors_read_like_a_person_wrote_them(tmp_path: Path, text: str, expected: str) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(text)
    assert expected in netpol_guard("check", str(broken)).stdout


def test_check_help_lists_the_exit_codes() -> None:
    result = netpol_guard("check", "--help")
    assert result.returncode == 0
    for line in ("exit codes:", "0  nothing denied", "1  something denied", "2  an input could not be read"):
        assert line in result.stdout
    assert "helm template" in result.stdout


def test_the_strict_summary_says_strict_caused_the_exit_code(tmp_path: Path) -> None:
    warned = tmp_path / "warned.yaml"
    warned.write_text(
        CLEAN.replace("podSelector: {}", "podSelector: {matchLabels: {app: a}}")
        + "  ingress:\n  - from:\n    - podSelector: {}\n"
    )
    plain = netpol_guard("check", str(warned))
    assert plain.returncode == 0 and "--strict" not in plain.stdout
    strict = netpol_guard("check", "--strict", str(warned))
    assert strict.returncode == 1
    assert strict.stdout.splitlines()[-1].endswith("exit code 1 because --strict fails on warnings")


def test_a_huge_number_in_the_rules_file_is_one_line_naming_it(tmp_path: Path) -> None:
    config = tmp_path / "rules.yaml"
    config.write_text(
        "apiVersion: netpol-guard.io/v1alpha1\nkind: RuleSet\nrules:\n  limit-port-range: {maxPorts: "
        + "9" * 5000
        + "}\n"
    )
    (tmp_path / "clean.yaml").write_text(CLEAN)
    result = netpol_guard("check", "--config", str(config), str(tmp_path / "clean.yaml"))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"netpol-guard: bad rules file: {config}:4:32: not valid YAML: "
        "a number of 5,000 digits cannot be read (no field holds one)"
    )
    sarif = netpol_guard("check", "--format", "sarif", "--config", str(config), str(tmp_path / "clean.yaml"))
    (note,) = json.loads(sarif.stdout)["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert note["locations"][0]["physicalLocation"]["region"] == {"startLine": 4, "startColumn": 32}
