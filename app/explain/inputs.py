"""Reading files, directories, stdin and git revisions into explanations (with file:line:column).

Files are read by `app.manifests` (as `check` reads them); each NetworkPolicy is decoded into the typed
view and explained with its field positions. What cannot be read or decoded becomes an `InputError`
naming the file and line; the other files are still explained.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from app.errors import NetpolGuardError
from app.explain.model import PolicyExplanation, explain_policy
from app.manifests import MANIFEST_SUFFIXES, STDIN, ManifestFile, parse_manifest, read_manifests
from app.netpol import PolicyShapeError, decode_policy


class GitError(NetpolGuardError):
    """A git revision or path could not be read (``--base``)."""


@dataclass(frozen=True, slots=True)
class InputError:
    """A file or a policy that could not be explained."""

    file: str
    line: int
    column: int
    message: str

    def render(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        return f"{where}: error: {self.message}"


@dataclass(slots=True)
class Explained:
    """The explanations of every policy read, in input order, and what could not be read."""

    policies: list[PolicyExplanation] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    files: int = 0


def explain_manifests(manifests: Iterable[ManifestFile], namespace: str | None = None) -> Explained:
    """Explain every NetworkPolicy of already-read files; ``namespace`` for manifests without one."""
    result = Explained()
    for manifest in manifests:
        result.files += 1
        if manifest.error is not None:
            error = manifest.error
            result.errors.append(InputError(manifest.path, error.line, error.column, error.problem))
        for document in manifest.policies:
            try:
                policy = decode_policy(document.obj)
            except PolicyShapeError as exc:
                path, problem = exc.problems[0]
                line, column = document.locate(path)
                shown = f"{path}: {problem}" if path else problem
                result.errors.append(InputError(manifest.path, line, column, f"not a NetworkPolicy: {shown}"))
                continue
            result.policies.append(
                explain_policy(policy, file=manifest.path, namespace=namespace, locate=document.locate)
            )
    return result


def explain_paths(
    paths: Sequence[str], namespace: str | None = None, stdin: BinaryIO | None = None
) -> Explained:
    """Read and explain files, directories and ``-`` (stdin)."""
    return explain_manifests(read_manifests(paths, stdin), namespace)


def _git(args: Sequence[str]) -> bytes:
    try:
        done = subprocess.run(["git", *args], capture_output=True, check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitError(f"cannot run git: {exc}") from None
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise GitError(f"git {' '.join(args)}: {message[-1] if message else 'failed'}")
    return done.stdout


def _object_type(revision: str, path: str) -> str | None:
    try:
        return _git(["cat-file", "-t", f"{revision}:./{path}"]).decode().strip()
    except GitError:
        return None  # not in that revision: the policies in it are all new


def read_revision(revision: str, paths: Sequence[str]) -> Iterator[ManifestFile]:
    """The files ``paths`` name as they are in git ``revision`` (paths relative to the working directory).

    A path missing from the revision reads as no policies; a bad revision is a `GitError`.
    """
    try:
        _git(["rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"])
    except GitError:
        raise GitError(
            f"git: --base {revision} is not a commit of the repository here (give a branch, tag or commit "
            "that `git log` shows, and run from inside the repository)"
        ) from None
    for path in paths:
        if path == STDIN:
            raise GitError("--base cannot read stdin from git; name files or directories")
        kind = _object_type(revision, path)
        if kind == "blob":
            yield parse_manifest(_git(["show", f"{revision}:./{path}"]), path)
        elif kind == "tree":
            listed = _git(["ls-tree", "-r", "--name-only", revision, "--", path]).decode().splitlines()
            for name in sorted(listed):
                if Path(name).suffix.lower() in MANIFEST_SUFFIXES:
                    yield parse_manifest(_git(["show", f"{revision}:./{name}"]), name)
