"""What `netpol-guard check` found: per file, per policy, every violation at a line and column.

`check_files` walks the data forward once (files -> documents with positions -> engine -> results);
the reporters (text, json, sarif, junit) only render a `CheckReport`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Final

from app.engine import Verdict, Violation, evaluate_document
from app.manifests import (
    MAX_FILE_BYTES,
    STDIN,
    STDIN_NAME,
    ManifestFile,
    PolicyDocument,
    UnreadableManifest,
    read_path,
)
from app.netpol import display_name, metadata_string, undecoded_display_name
from app.rules.base import Action, Context
from app.ruleset import Mode, RuleSet

EXIT_OK: Final = 0
EXIT_FINDINGS: Final = 1
EXIT_ERROR: Final = 2
DEFAULT_NAMESPACE: Final = "default"
"""The namespace of a manifest that sets none, as kubectl assumes (``--namespace``)."""


@dataclass(frozen=True, slots=True)
class LocatedViolation:
    """A violation and the 1-based line and column of its field in the file."""

    violation: Violation
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class PolicyResult:
    """The verdict on one NetworkPolicy document.

    ``internal_error`` is set when a rule crashed on this policy (a bug to report); the run then exits 2.
    ``assumed_namespace`` is set when the manifest has no ``metadata.namespace`` and was judged as if in
    that one (``--namespace``).
    """

    name: str
    line: int
    column: int
    verdict: Verdict | None
    findings: tuple[LocatedViolation, ...] = ()
    internal_error: str | None = None
    assumed_namespace: str | None = None

    @property
    def namespace_note(self) -> str:
        """`` (namespace "default" assumed)`` when the namespace was assumed, else empty."""
        if self.assumed_namespace is None:
            return ""
        return f' (namespace "{self.assumed_namespace}" assumed: the manifest sets none; see --namespace)'

    @property
    def denied(self) -> bool:
        return any(f.violation.action is Action.DENY for f in self.findings)

    def count(self, action: Action) -> int:
        """How many findings have ``action``."""
        return sum(1 for f in self.findings if f.violation.action is action)

    @property
    def exempt(self) -> str | None:
        """Why the policy was not judged (an exempt namespace), else None."""
        return self.verdict.exempt if self.verdict is not None else None


@dataclass(frozen=True, slots=True)
class FileResult:
    """Everything found in one file: its policies, the other documents skipped, and read errors (the
    whole file, or single documents of it). ``note`` says why a file was skipped unread.

    It keeps no YAML nodes: positions are resolved while judging, so a large tree is freed file by file.
    """

    path: str
    policies: tuple[PolicyResult, ...]
    skipped: int = 0
    errors: tuple[UnreadableManifest, ...] = ()
    note: str | None = None

    @property
    def error(self) -> UnreadableManifest | None:
        """The first read error, or None."""
        return self.errors[0] if self.errors else None


@dataclass(frozen=True, slots=True)
class Summary:
    """The counts shown at the end of every report."""

    files: int
    policies: int
    skipped: int
    denied: int
    warned: int
    exempt: int
    denials: int
    warnings: int
    audits: int
    errors: int


@dataclass(frozen=True, slots=True)
class CheckReport:
    """The result of one `check` run.

    ``problems`` are errors of the run itself rather than of one file: a rules file that cannot be
    loaded, a PATH that holds no NetworkPolicy.
    """

    files: tuple[FileResult, ...]
    mode: Mode
    strict: bool = False
    problems: tuple[UnreadableManifest, ...] = ()

    @property
    def summary(self) -> Summary:
        policies = [p for f in self.files for p in f.policies]
        return Summary(
            files=len(self.files),
            policies=len(policies),
            skipped=sum(f.skipped for f in self.files),
            denied=sum(1 for p in policies if p.denied),
            warned=sum(1 for p in policies if not p.denied and p.count(Action.WARN)),
            exempt=sum(1 for p in policies if p.exempt is not None),
            denials=sum(p.count(Action.DENY) for p in policies),
            warnings=sum(p.count(Action.WARN) for p in policies),
            audits=sum(p.count(Action.AUDIT) for p in policies),
            errors=sum(len(f.errors) for f in self.files)
            + sum(1 for p in policies if p.internal_error is not None)
            + len(self.problems),
        )

    def fails(self, policy: PolicyResult) -> bool:
        """True when this policy makes the run fail: a denial, or a warning with ``--strict``."""
        return policy.denied or (self.strict and policy.count(Action.WARN) > 0)

    @property
    def exit_code(self) -> int:
        """2 when input could not be read (or a rule crashed), 1 when something fails, else 0."""
        summary = self.summary
        if summary.errors:
            return EXIT_ERROR
        if summary.denials or (self.strict and summary.warnings):
            return EXIT_FINDINGS
        return EXIT_OK

    @property
    def strict_caused_exit(self) -> bool:
        """True when only ``--strict`` made the run fail (warnings, no denial, no error)."""
        summary = self.summary
        return self.strict and not summary.errors and not summary.denials and summary.warnings > 0


def _judge(document: PolicyDocument, ruleset: RuleSet, namespace: str) -> PolicyResult:
    line, column = document.start
    # A manifest's own namespace wins; only one without is judged in the assumed one, as kubectl applies it.
    own = metadata_string(document.obj, "namespace")
    assumed = None if own else namespace
    context = Context(source="manifest", namespace=assumed or "", duplicate_fields=document.duplicates)
    try:
        verdict = evaluate_document(document.obj, ruleset, context)
    except Exception as exc:  # a crashing rule must not hide the other files' results
        name = undecoded_display_name(document.obj, assumed)
        problem = f"internal error while checking this policy ({type(exc).__name__}: {exc}); please report it"
        return PolicyResult(name, line, column, None, internal_error=problem, assumed_namespace=assumed)
    located = sorted(
        (LocatedViolation(v, *document.locate(v.path)) for v in verdict.violations),
        key=lambda f: (f.line, f.column),
    )
    name = verdict.policy
    if assumed is not None and not name.startswith(f"{assumed}/"):
        name = display_name(assumed, metadata_string(document.obj, "name") or name)
    return PolicyResult(name, line, column, verdict, tuple(located), assumed_namespace=assumed)


def check_manifest(
    manifest: ManifestFile, ruleset: RuleSet, namespace: str = DEFAULT_NAMESPACE
) -> FileResult:
    """Judge every NetworkPolicy of one read file (``namespace`` for manifests that set none)."""
    policies = tuple(_judge(document, ruleset, namespace) for document in manifest.policies)
    return FileResult(manifest.path, policies, manifest.skipped, manifest.errors, manifest.note)


def check_manifests(
    manifests: Iterable[ManifestFile],
    ruleset: RuleSet,
    *,
    strict: bool = False,
    namespace: str = DEFAULT_NAMESPACE,
) -> CheckReport:
    """Judge already-read files."""
    files = tuple(check_manifest(m, ruleset, namespace) for m in manifests)
    return CheckReport(files, ruleset.mode, strict)


def _nothing_found(path: str, files: Sequence[FileResult]) -> UnreadableManifest | None:
    """The problem of a PATH that holds no NetworkPolicy (and no broken file that might), else None."""
    if any(f.policies or f.errors for f in files):
        return None
    name = STDIN_NAME if path == STDIN else path
    if not any(f.note is None for f in files):
        problem = "no NetworkPolicy here: no *.yaml, *.yml or *.json file (after --exclude)"
    else:
        read = [f for f in files if f.note is None]
        others = sum(f.skipped for f in read)
        counted = f"files read: {len(read)}, other documents: {others}"
        problem = f"no NetworkPolicy here ({counted}); is this the right path?"
    return UnreadableManifest(name, problem)


def check_files(
    paths: Sequence[str],
    ruleset: RuleSet,
    *,
    strict: bool = False,
    stdin: BinaryIO | None = None,
    exclude: Sequence[str] = (),
    namespace: str = DEFAULT_NAMESPACE,
    max_file_bytes: int = MAX_FILE_BYTES,
    require_policies: bool = True,
) -> CheckReport:
    """Read and judge files, directories and ``-`` (stdin); never raises for bad input.

    A PATH that holds no NetworkPolicy at all is a problem of the run (a CI job pointed at the wrong
    folder must notice), unless ``require_policies`` is off (a pre-commit hook names every staged file).
    """
    checked: set[str] = set()
    files: list[FileResult] = []
    problems: list[UnreadableManifest] = []
    for path in paths:
        found = []
        for manifest in read_path(path, stdin, exclude=exclude, max_file_bytes=max_file_bytes):
            result = check_manifest(manifest, ruleset, namespace)
            found.append(result)
            # A file two PATHs name is reported once (the second PATH still counts it as found).
            real = os.path.realpath(manifest.path) if manifest.path != STDIN_NAME else STDIN_NAME
            if real not in checked:
                checked.add(real)
                files.append(result)
        empty = _nothing_found(path, found) if require_policies else None
        if empty is not None:
            problems.append(empty)
    return CheckReport(tuple(files), ruleset.mode, strict, tuple(problems))
