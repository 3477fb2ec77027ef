"""Check a release tag against the tree and print its release notes (the release workflow's first step).

    python scripts/release_notes.py vX.Y.Z > notes.md

Exit 1 with one line per problem when the tag does not match every version in the tree (pyproject.toml,
app/__init__.py, the chart's version and appVersion) or CHANGELOG.md has no ``## [X.Y.Z]`` section: a
release must never go out with the wrong version or empty notes. Only the standard library, so it runs on a
bare CI runner before anything is installed.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TAG = re.compile(r"^v(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)$")


def tree_versions(root: Path) -> dict[str, str]:
    """Every place the version is written, by the file (and field) that holds it."""
    pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    init = (root / "app" / "__init__.py").read_text(encoding="utf-8")
    chart = (root / "charts" / "netpol-guard" / "Chart.yaml").read_text(encoding="utf-8")
    found = {"pyproject.toml project.version": pyproject["project"]["version"]}
    match = re.search(r'^__version__ = "([^"]+)"', init, re.MULTILINE)
    found["app/__init__.py __version__"] = match.group(1) if match else "(missing)"
    for field in ("version", "appVersion"):
        match = re.search(rf"^{field}:\s*\"?([^\"\s]+)\"?\s*$", chart, re.MULTILINE)
        found[f"Chart.yaml {field}"] = match.group(1) if match else "(missing)"
    return found


def changelog_section(changelog: str, version: str) -> str | None:
    """The body of ``## [version]`` (up to the next ``## `` heading or the link list), or None."""
    lines = changelog.splitlines()
    heading = re.compile(rf"^## \[{re.escape(version)}\](\s|$)")
    for start, line in enumerate(lines):
        if heading.match(line):
            body: list[str] = []
            for following in lines[start + 1 :]:
                if following.startswith("## ") or re.match(r"^\[[^\]]+\]:\s", following):
                    break
                body.append(following)
            text = "\n".join(body).strip()
            return text + "\n" if text else None
    return None


def release_notes(root: Path, tag: str) -> tuple[str | None, list[str]]:
    """(the notes, problems); the notes are None when there is any problem."""
    match = TAG.match(tag)
    if match is None:
        return None, [f"tag {tag!r} is not a version tag: expected vMAJOR.MINOR.PATCH, e.g. v0.2.0"]
    version = match.group(1)
    problems = [
        f"{where} is {found}, the tag says {version}: set it and run `make manifests`"
        for where, found in tree_versions(root).items()
        if found != version
    ]
    notes = changelog_section((root / "CHANGELOG.md").read_text(encoding="utf-8"), version)
    if notes is None:
        problems.append(
            f"CHANGELOG.md has no non-empty '## [{version}] - YYYY-MM-DD' section: move the "
            "[Unreleased] entries under it"
        )
    return (None if problems else notes), problems


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: release_notes.py vX.Y.Z", file=sys.stderr)
        return 2
    notes, problems = release_notes(ROOT, argv[1])
    for problem in problems:
        print(f"release_notes: {problem}", file=sys.stderr)
    if notes is None:
        return 1
    sys.stdout.write(notes)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
