"""What `netpol-guard check` found: per file, per policy, every violation at a line and column.

`check_files` walks the data forward once (files -> documents with positions -> engine -> results);
the reporters (text, json, sarif, junit) only render a `CheckReport`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Final

from app.engine import Verdict, Violation, evaluate_document
from app.manifests import ManifestFile, PolicyDocument, UnreadableManifest, read_manifests
from app.netpol import undecoded_display_name
from app.rules.base import Action, Context
from app.ruleset import Mode, RuleSet

EXIT_OK: Final = 0
EXIT_FINDINGS: Final = 1
EXIT_ERROR: Final = 2

_CONTEXT: Final = Context(source="manifest")


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
    """

    name: str
    line: int
    column: int
    verdict: Verdict | None
    findings: tuple[LocatedViolation, ...] = ()
    internal_error: str | None = None

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
    """Everything found in one file: its policies, the other documents skipped, or a read error.

    It keeps no YAML nodes: positions are resolved while judging, so a large tree is freed file by file.
    """

    path: str
    policies: tuple[PolicyResult, ...]
    skipped: int = 0
    error: UnreadableManifest | None = None


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
    """The result of one `check` run."""

    files: tuple[FileResult, ...]
    mode: Mode
    strict: bool = False

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
            errors=sum(1 for f in self.files if f.error is not None)
            + sum(1 for p in policies if p.internal_error is not None),
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


def _judge(document: PolicyDocument, ruleset: RuleSet) -> PolicyResult:
    line, column = document.start
    try:
        verdict = evaluate_document(document.obj, ruleset, _CONTEXT)
    except Exception as exc:  # a crashing rule must not hide the other files' results
        name = undecoded_display_name(document.obj)
        problem = f"internal error while checking this policy ({type(exc).__name__}: {exc}); please report it"
        return PolicyResult(name, line, column, None, internal_error=problem)
    located = sorted(
        (LocatedViolation(v, *document.locate(v.path)) for v in verdict.violations),
        key=lambda f: (f.line, f.column),
    )
    return PolicyResult(verdict.policy, line, column, verdict, tuple(located))


def check_manifest(manifest: ManifestFile, ruleset: RuleSet) -> FileResult:
    """Judge every NetworkPolicy of one read file."""
    policies = tuple(_judge(document, ruleset) for document in manifest.policies)
    return FileResult(manifest.path, policies, manifest.skipped, manifest.error)


def check_manifests(
    manifests: Iterable[ManifestFile], ruleset: RuleSet, *, strict: bool = False
) -> CheckReport:
    """Judge already-read files."""
    return CheckReport(tuple(check_manifest(m, ruleset) for m in manifests), ruleset.mode, strict)


def check_files(
    paths: Sequence[str], ruleset: RuleSet, *, strict: bool = False, stdin: BinaryIO | None = None
) -> CheckReport:
    """Read and judge files, directories and ``-`` (stdin); never raises for bad input."""
    return check_manifests(read_manifests(paths, stdin), ruleset, strict=strict)
