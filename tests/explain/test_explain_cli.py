"""`netpol-guard explain` and `netpol-guard diff` as a person or CI runs them: formats, exit codes,
stdin, directories, git revisions, and no server stack in their import path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_process import netpol_guard as run_cli
from explain_cases import manifest

ROOT = Path(__file__).parents[2]

API = {
    "podSelector": {"matchLabels": {"app": "api"}},
    "policyTypes": ["Ingress"],
    "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}], "ports": [{"port": 8080}]}],
}


def netpol_guard(*args: str, cwd: Path = ROOT, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    # A bare environment: the output must not depend on the caller's variables.
    return run_cli(*args, cwd=cwd, stdin=stdin, env={"PATH": "/usr/bin:/bin"})


def write(path: Path, *specs: tuple[str, dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all([manifest(spec, name) for name, spec in specs], sort_keys=False))
    return path


def test_explain_text_anchors_each_grant_at_its_line_and_path(tmp_path: Path) -> None:
    policy = write(tmp_path / "api.yaml", ("api", API))
    done = netpol_guard("explain", str(policy))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    grant = next(line for line in lines if "allows ingress" in line)
    assert grant.startswith(f"{policy}:")
    assert grant.endswith("[spec.ingress[0].from[0]]")
    assert "pods app=web in namespace shop (this policy's namespace) on TCP port 8080" in grant
    text = policy.read_text().splitlines()
    number = int(grant.split(":")[1])
    assert "podSelector" in text[number - 1]
    assert lines[-1] == "netpol-guard explain: 1 policy in 1 file"


def test_explain_json_is_the_model(tmp_path: Path) -> None:
    done = netpol_guard("explain", "--format", "json", str(write(tmp_path / "api.yaml", ("api", API))))
    document = json.loads(done.stdout)
    assert document["explainVersion"] == 1
    [policy] = document["policies"]
    assert policy["subject"]["phrase"] == "pods app=api in namespace shop"
    ingress, egress = policy["directions"]
    assert (ingress["state"], egress["state"]) == ("isolated", "not-affected")
    [grant] = ingress["grants"]
    assert grant["path"] == "spec.ingress[0].from[0]"
    assert grant["breadth"] == "pods"
    assert grant["ports"] == [{"protocol": "TCP", "ranges": [[8080, 8080]], "names": []}]
    assert isinstance(grant["line"], int) and isinstance(grant["column"], int)


def test_explain_reads_stdin_and_takes_a_namespace_for_manifests_without_one() -> None:
    text = yaml.safe_dump(manifest(API, "api", namespace=None))
    done = netpol_guard("explain", "--namespace", "payments", "-", stdin=text)
    assert done.returncode == 0, done.stderr
    assert "in namespace payments (this policy's namespace)" in done.stdout
    assert done.stdout.startswith("<stdin>:")


def test_explain_of_a_directory_has_a_by_subject_section(tmp_path: Path) -> None:
    write(tmp_path / "p" / "a.yaml", ("a", API))
    egress = {"podSelector": {"matchLabels": {"app": "api"}}, "policyTypes": ["Egress"], "egress": [{}]}
    write(tmp_path / "p" / "b.yaml", ("b", egress))
    other = {"podSelector": {"matchLabels": {"tier": "x"}}}
    write(tmp_path / "p" / "c.yaml", ("c", other))
    done = netpol_guard("explain", str(tmp_path / "p"))
    assert done.returncode == 0, done.stderr
    section = done.stdout.split("By subject")[1]
    assert (
        "pods app=api in namespace shop (shop): isolates ingress and egress; policies shop/a, shop/b"
        in section
    )
    assert "may select the same pods as: pods tier=x in namespace shop" in section
    assert "(shop/b," in section and "(shop/a," in section


def test_explain_markdown_renders_every_policy(tmp_path: Path) -> None:
    done = netpol_guard("explain", "--format", "markdown", str(write(tmp_path / "api.yaml", ("api", API))))
    assert done.stdout.startswith("### shop/api")
    assert "`spec.ingress[0].from[0]`" in done.stdout


def test_explain_of_a_broken_file_exits_2_and_still_explains_the_others(tmp_path: Path) -> None:
    good = write(tmp_path / "good.yaml", ("api", API))
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: NetworkPolicy\napiVersion: networking.k8s.io/v1\nspec: {ingress: [\n")
    done = netpol_guard("explain", str(broken), str(good))
    assert done.returncode == 2
    assert f"{broken}:" in done.stdout and "error: not valid YAML" in done.stdout
    assert "allows ingress" in done.stdout
    assert "Traceback" not in done.stderr


def test_explain_of_a_policy_that_does_not_decode_names_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(manifest({"ingress": {"from": []}}, "bad")))
    done = netpol_guard("explain", str(bad))
    assert done.returncode == 2
    assert "spec.ingress: must be a list" in done.stdout


WIDER = {**API, "ingress": [{**API["ingress"][0], "ports": [{"port": 8080}, {"port": 9090}]}]}


@pytest.mark.parametrize(
    ("new", "fail_on", "code"),
    [
        (API, "any", 0),
        (WIDER, "opens", 1),
        (WIDER, "closes", 0),
        (WIDER, "any", 1),
        (None, "closes", 1),
        (None, "opens", 1),  # a deleted policy stops isolating: more may get through
    ],
    ids=["same", "opens-fails-on-opens", "opens-passes-closes", "any", "deleted-closes", "deleted-opens"],
)
def test_diff_exit_codes_follow_fail_on(tmp_path: Path, new: Any, fail_on: str, code: int) -> None:
    old = write(tmp_path / "old.yaml", ("api", API))
    newer = write(tmp_path / "new.yaml", *([("api", new)] if new is not None else []))
    done = netpol_guard("diff", "--fail-on", fail_on, str(old), str(newer))
    assert done.returncode == code, done.stdout + done.stderr


def test_diff_without_fail_on_exits_0_and_prints_the_change(tmp_path: Path) -> None:
    old = write(tmp_path / "old.yaml", ("api", API))
    new = write(tmp_path / "new.yaml", ("api", WIDER))
    done = netpol_guard("diff", str(old), str(new))
    assert done.returncode == 0
    assert "widens: shop/api: widens ingress from pods app=web" in done.stdout
    assert "TCP port 8080 -> TCP ports 8080, 9090" in done.stdout
    assert done.stdout.splitlines()[-1] == "netpol-guard diff: 1 widens in 1 policy"


def test_diff_of_an_equal_rewrite_says_no_change(tmp_path: Path) -> None:
    old = write(tmp_path / "old.yaml", ("api", API))
    rewritten = tmp_path / "new.yaml"
    rewritten.write_text(json.dumps(manifest(API, "api")))  # same meaning, other format
    done = netpol_guard("diff", "--fail-on", "any", str(old), str(rewritten))
    assert done.returncode == 0
    assert done.stdout == "netpol-guard diff: no change in what is allowed\n"


def test_diff_of_a_missing_file_exits_2(tmp_path: Path) -> None:
    done = netpol_guard("diff", "--fail-on", "any", str(tmp_path / "nope.yaml"), str(tmp_path / "nope2.yaml"))
    assert done.returncode == 2
    assert "no such file or directory" in done.stdout


def test_diff_json_has_changes_and_summary(tmp_path: Path) -> None:
    old = write(tmp_path / "old.yaml", ("api", API))
    new = write(tmp_path / "new.yaml", ("api", WIDER))
    document = json.loads(netpol_guard("diff", "--format", "json", str(old), str(new)).stdout)
    assert document["diffVersion"] == 1
    [change] = document["changes"]
    assert change["kind"] == "widens" and change["direction"] == "ingress"
    assert change["oldPath"] == change["newPath"] == "spec.ingress[0].from[0]"
    assert document["summary"]["counts"]["widens"] == 1
    assert document["summary"]["text"] == "1 widens in 1 policy"


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def test_diff_base_reads_old_from_git(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    write(repo / "policies" / "api.yaml", ("api", API))
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "base")
    write(repo / "policies" / "api.yaml", ("api", WIDER))
    write(repo / "policies" / "new.yaml", ("extra", {"podSelector": {}, "ingress": [{}]}))
    done = netpol_guard("diff", "--base", "HEAD", "--fail-on", "opens", "policies", cwd=repo)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "widens: shop/api" in done.stdout
    assert "opens: shop/extra: opens ingress from anywhere" in done.stdout
    same = netpol_guard("diff", "--base", "HEAD", "policies/api.yaml", "policies/api.yaml", cwd=repo)
    assert "widens" in same.stdout
    bad = netpol_guard("diff", "--base", "no-such-rev", "policies", cwd=repo)
    assert bad.returncode == 2
    assert "netpol-guard diff: git" in bad.stderr


def test_explain_and_diff_import_no_server_stack() -> None:
    code = (
        "import sys, app.__main__ as m, app.cli.explain, app.cli.diff;"
        "import app.explain.admission, app.explain.document, app.explain.markdown, app.explain.text, "
        "app.explain.inputs;"
        "bad = [n for n in ('fastapi', 'uvicorn', 'kubernetes', 'starlette') if n in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    "module",
    [
        "app.explain.addresses",
        "app.explain.labels",
        "app.explain.model",
        "app.explain.admission",
        "app.rules",
    ],
)
def test_each_explain_module_imports_first_in_a_fresh_interpreter(module: str) -> None:
    # app.rules uses app.explain and the other way round: no import order may be circular.
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


def test_output_is_the_same_under_any_hash_seed(tmp_path: Path) -> None:
    old = write(tmp_path / "old.yaml", ("api", API))
    new = write(
        tmp_path / "new.yaml",
        ("api", {**WIDER, "egress": [{"ports": [{"port": "b"}, {"port": "a"}, {"protocol": "UDP"}]}]}),
    )
    outputs = set()
    for seed in ("1", "2", "3"):
        done = subprocess.run(
            [sys.executable, "-m", "app", "diff", "--format", "json", str(old), str(new)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "PYTHONHASHSEED": seed},
        )
        outputs.add(done.stdout)
    assert len(outputs) == 1
