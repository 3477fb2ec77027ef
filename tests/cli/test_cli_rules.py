"""`netpol-guard rules`: the catalog comes from the registry, and the copy in docs/rules.md cannot drift."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from app.__main__ import main
from app.rules import REGISTRY

ROOT = Path(__file__).parents[2]


def rules_output(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["rules", *args]) == 0
    return capsys.readouterr().out


def test_json_catalog_lists_every_rule_with_its_default_action_and_parameters(
    capsys: pytest.CaptureFixture[str],
) -> None:
    document = json.loads(rules_output(capsys, "--format", "json"))
    rules = {rule["id"]: rule for rule in document["rules"]}
    assert list(rules) == list(REGISTRY)
    for rule_id, rule in REGISTRY.items():
        assert rules[rule_id]["defaultAction"] == rule.settings_model().action.value
        assert rules[rule_id]["rationale"] == rule.rationale
    assert {p["key"] for p in document["commonParameters"]} == {"action", "namespaces", "excludeNamespaces"}


@pytest.mark.parametrize(
    ("rule_id", "key", "default"),
    [
        ("forbid-broad-cidr", "ipv4MinPrefix", 16),
        ("forbid-allow-all", "allowPortScoped", True),
        ("limit-port-range", "maxPorts", 100),
        ("require-labels", "labels", []),
    ],
    ids=["broad-cidr", "allow-all", "port-range", "labels"],
)
def test_parameters_use_the_rules_file_keys_and_defaults(
    capsys: pytest.CaptureFixture[str], rule_id: str, key: str, default: object
) -> None:
    if rule_id not in REGISTRY:
        pytest.skip(f"{rule_id} is not registered")
    document = json.loads(rules_output(capsys, "--format", "json"))
    (rule,) = (r for r in document["rules"] if r["id"] == rule_id)
    parameters = {p["key"]: p for p in rule["parameters"]}
    assert parameters[key]["default"] == default
    assert parameters[key]["description"]


def test_text_catalog_shows_id_default_action_parameters_and_rationale(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = rules_output(capsys)
    for rule_id, rule in REGISTRY.items():
        assert f"{rule_id}  [default: {rule.settings_model().action.value};" in text
        assert rule.rationale in text
    assert "ipv4MinPrefix: integer = 16" in text


def test_the_docs_catalog_is_the_generated_one(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("render_catalog", ROOT / "scripts" / "render_catalog.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    page = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert script.BEGIN in page, "docs/rules.md has no generated catalog block"
    block = page.split(script.BEGIN, 1)[1].split(script.END, 1)[0].lstrip("\n")
    assert block == rules_output(capsys, "--format", "markdown"), (
        "docs/rules.md's rule catalog differs from `netpol-guard rules --format markdown`; "
        "run `.venv/bin/python scripts/render_catalog.py` and review the diff"
    )


def test_rules_init_prints_a_starter_file_that_loads_as_the_built_in_defaults(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from app.ruleset import load_ruleset, parse_ruleset_text

    starter = rules_output(capsys, "init")

    loaded = parse_ruleset_text(starter, "starter.yaml")
    assert loaded == load_ruleset(None)
    assert (
        loaded.model_dump()
        == type(loaded)
        .model_validate({"apiVersion": "netpol-guard.io/v1alpha1", "kind": "RuleSet"})
        .model_dump()
    )


def test_rules_init_names_every_rule_its_default_action_and_every_parameter_with_a_comment(
    capsys: pytest.CaptureFixture[str],
) -> None:
    starter = rules_output(capsys, "init").splitlines()

    for rule_id, rule in REGISTRY.items():
        start = starter.index(f"  {rule_id}:")
        assert starter[start - 1].startswith("  # "), f"{rule_id} has no comment"
        block = []
        for line in starter[start + 1 :]:
            if not line.startswith("    "):
                break
            block.append(line)
        settings = rule.settings_model()
        assert f"    action: {yaml_scalar(settings.action.value)}" in block
        keys = [info.alias or name for name, info in rule.settings_model.model_fields.items()]
        written = [line.split(":", 1)[0].strip() for line in block if not line.lstrip().startswith("#")]
        assert written == keys
        for index, line in enumerate(block):
            if not line.lstrip().startswith("#"):
                assert block[index - 1].lstrip().startswith("#"), f"{rule_id}: {line.strip()} has no comment"


def yaml_scalar(value: str) -> str:
    return "'off'" if value == "off" else value


def test_rules_init_output_serves_check_config(tmp_path: Path) -> None:
    import subprocess
    import sys

    starter = subprocess.run(
        [sys.executable, "-m", "app", "rules", "init"], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    rules = tmp_path / "rules.yaml"
    rules.write_text(starter)
    good = ROOT / "deploy" / "examples" / "policies" / "good"

    result = subprocess.run(
        [sys.executable, "-m", "app", "check", "--config", str(rules), str(good)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )

    assert result.returncode == 0, result.stdout + result.stderr
