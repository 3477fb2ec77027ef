"""The Dockerfile, read as instructions: stages, user, entrypoint, and what reaches the runtime stage."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD_TOOLS = re.compile(r"\b(gcc|g\+\+|cc|clang|make|build-essential|apt-get|apk|pip|uv)\b")


@dataclass
class Stage:
    base: str
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def values(self, keyword: str) -> list[str]:
        return [value for key, value in self.instructions if key == keyword]


def parse(path: Path) -> list[Stage]:
    """Instructions per stage, with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    stages: list[Stage] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, value = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            parts = value.split()
            stages.append(Stage(base=parts[0], name=parts[2] if len(parts) > 2 else ""))
        elif stages:
            stages[-1].instructions.append((keyword, value.strip()))
    return stages


STAGES = parse(ROOT / "Dockerfile")
RUNTIME = STAGES[-1]


def test_the_image_is_built_in_two_stages_from_the_same_python() -> None:
    assert [stage.name for stage in STAGES] == ["build", "runtime"]
    assert STAGES[0].base == RUNTIME.base == "${PYTHON_IMAGE}"
    assert (
        "slim" in (ROOT / "Dockerfile").read_text(encoding="utf-8").split("ARG PYTHON_IMAGE=")[1].split()[0]
    )


def test_the_runtime_runs_as_the_numeric_nonroot_user() -> None:
    assert RUNTIME.values("USER") == ["65532:65532"]


def test_the_entrypoint_is_exec_form_netpol_guard_serving_by_default() -> None:
    assert [json.loads(v) for v in RUNTIME.values("ENTRYPOINT")] == [["netpol-guard"]]
    assert [json.loads(v) for v in RUNTIME.values("CMD")] == [["serve"]]


def test_the_runtime_stage_copies_only_the_built_venv_and_installs_nothing() -> None:
    assert RUNTIME.values("COPY") == ["--from=build /opt/venv /opt/venv"]
    assert not RUNTIME.values("ADD")
    for command in RUNTIME.values("RUN"):
        # The only RUN removes the base image's pip; it must not install anything.
        assert "install" not in command.replace("uninstall", ""), command
        assert "pip uninstall" in command or "rm -rf" in command, command
    assert "/opt/venv/bin" in " ".join(RUNTIME.values("ENV"))
    assert "PYTHONDONTWRITEBYTECODE=1" in " ".join(RUNTIME.values("ENV"))  # read-only root filesystem


def test_the_build_stage_installs_dependencies_before_copying_the_source() -> None:
    build = STAGES[0]
    keys = [(key, value) for key, value in build.instructions if key in ("COPY", "RUN")]
    deps = next(i for i, (key, value) in enumerate(keys) if key == "RUN" and value.endswith("deps"))
    source = next(i for i, (key, value) in enumerate(keys) if key == "COPY" and value.startswith("app/"))
    assert deps < source
    # The dependency layer is rebuilt only when what it reads changes (not on a README or source edit).
    before_deps = {source for key, value in keys[:deps] if key == "COPY" for source in value.split()[:-1]}
    assert before_deps == {"pyproject.toml", "scripts/install_runtime.py"}
    assert "PIP_NO_CACHE_DIR=1" in " ".join(build.values("ENV"))
    assert not any(
        BUILD_TOOLS.search(value) for value in build.values("RUN") if "install_runtime.py" not in value
    )


def test_the_build_context_is_an_allow_list() -> None:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert lines[lines.index("*")] == "*"
    allowed = {line[1:] for line in lines if line.startswith("!")}
    assert allowed == {"pyproject.toml", "README.md", "scripts/install_runtime.py", "app/"}
    copied = {value.split()[0] for stage in STAGES for value in stage.values("COPY") if "--from" not in value}
    assert copied <= allowed | {"app/"}
