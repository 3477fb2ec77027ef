"""The shared real corpus (../shared/corpus/real) through `kubectl apply --dry-run=server`.

Policy by policy: the API server's own accept/reject must equal `check`'s api-validation verdict, and for
every policy it accepts, the webhook's decision (read from the audit annotations it returned) must equal
`check`'s with the same rules file. Files go to kubectl in batches (one kubectl per batch, its requests
in order), and each create's audit event is matched to the policy kubectl sent.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pytest
from guard import ROOT, WEBHOOK, Guard
from verdicts import PolicyVerdict, policy_verdicts

from app.apivalidation import dns1123_label_problems

pytestmark = [pytest.mark.controlplane, pytest.mark.timeout(300)]

CORPUS: Final = ROOT.parent / "shared" / "corpus" / "real"
BATCH: Final = 40  # files per kubectl: a few seconds each, and a failure stays easy to place
DEFAULT_NAMESPACE: Final = "default"


@dataclass(frozen=True)
class Answer:
    """What the API server did with one create: its HTTP code and our audit annotations (if called)."""

    code: int
    annotations: dict[str, str]
    message: str

    @property
    def webhook_called(self) -> bool:
        return f"{WEBHOOK}/decision" in self.annotations

    @property
    def api_rejected(self) -> bool:
        return self.code >= 400 and not self.webhook_called

    @property
    def decision(self) -> str:
        return self.annotations.get(f"{WEBHOOK}/decision", "not called")

    @property
    def rules(self) -> frozenset[str]:
        return frozenset(filter(None, self.annotations.get(f"{WEBHOOK}/rules", "").split(",")))


def where(verdict: PolicyVerdict) -> tuple[str, str]:
    namespace, _, name = verdict.name.rpartition("/")
    return namespace or DEFAULT_NAMESPACE, name


def batches(files: Sequence[Path]) -> Iterator[Sequence[Path]]:
    for start in range(0, len(files), BATCH):
        yield files[start : start + BATCH]


def creates(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        event
        for event in events
        if event["verb"] == "create"
        and event.get("stage") == "ResponseComplete"
        and event.get("objectRef", {}).get("resource") == "networkpolicies"
        and "dryRun=All" in event.get("requestURI", "")
    ]


def settled_creates(guard: Guard, before: int) -> list[dict[str, Any]]:
    """The dry-run creates audited since event ``before``, once no more arrive (the audit backend writes
    an event as its request completes, which may be just after kubectl has exited)."""
    events = creates(guard.audit_events()[before:])
    for _ in range(20):
        time.sleep(0.25)
        again = creates(guard.audit_events()[before:])
        if len(again) == len(events):
            break
        events = again
    return events


def match(expected: list[PolicyVerdict], events: list[dict[str, Any]]) -> dict[int, Answer]:
    """Pair each create event with the policy kubectl sent, in order; a policy kubectl itself refused
    (never sent) has no answer. An event without a name (the body did not decode) is the next policy's."""
    answers: dict[int, Answer] = {}
    position = 0
    for event in events:
        ref = event.get("objectRef", {})
        while position < len(expected):
            namespace, name = where(expected[position])
            if not ref.get("name") or (ref.get("namespace"), ref["name"]) == (namespace, name):
                break
            position += 1  # kubectl refused this one before sending it
        else:
            raise AssertionError(f"an audit event matches no policy kubectl was given: {ref}")
        status = event.get("responseStatus", {})
        answers[position] = Answer(
            status.get("code", 0), event.get("annotations", {}), status.get("message", "")
        )
        position += 1
    return answers


def webhook_disagreement(verdict: PolicyVerdict, answer: Answer) -> str | None:
    if verdict.exempt is not None:
        return (
            None
            if answer.decision in ("exempt", "not called")
            else f"webhook {answer.decision}, check exempt"
        )
    fired = verdict.denies | verdict.warns
    expected = "denied" if verdict.denies else "warned" if verdict.warns else "allowed"
    if answer.decision != expected or answer.rules != fired:
        return f"webhook {answer.decision} {sorted(answer.rules)}, check {expected} {sorted(fired)}"
    return None


def test_the_api_server_and_the_webhook_agree_with_check_on_every_corpus_policy(guard: Guard) -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"the shared corpus is absent ({CORPUS})")
    files = sorted(
        p for p in CORPUS.rglob("*") if p.suffix in {".yaml", ".yml", ".json"} and p.name != "index.json"
    )
    verdicts = policy_verdicts(files, guard.rules_file)
    by_file: dict[str, list[PolicyVerdict]] = {}
    for verdict in verdicts:
        by_file.setdefault(verdict.file, []).append(verdict)
    namespaces = {where(v)[0] for v in verdicts}
    for namespace in sorted(n for n in namespaces if not dns1123_label_problems(n)):
        guard.kubectl("create", "namespace", namespace)  # already there is fine

    mismatches: list[str] = []
    counts = {"accepted": 0, "rejected": 0, "not sent": 0}
    decisions: dict[str, int] = {}
    for batch in batches(files):
        expected = [v for path in batch for v in by_file.get(str(path), [])]
        before = len(guard.audit_events())
        args = [arg for path in batch for arg in ("-f", str(path))]
        guard.kubectl("apply", "--dry-run=server", *args, timeout=300)
        answers = match(expected, settled_creates(guard, before))
        for index, verdict in enumerate(expected):
            answer = answers.get(index)
            label = f"{Path(verdict.file).relative_to(CORPUS)} {verdict.name}"
            if answer is None:
                counts["not sent"] += 1
                if not verdict.api_rejects:
                    mismatches.append(f"{label}: kubectl refused to send it, check accepts it")
                continue
            counts["rejected" if answer.api_rejected else "accepted"] += 1
            if answer.api_rejected != verdict.api_rejects:
                mismatches.append(
                    f"{label}: API server {'rejected' if answer.api_rejected else 'accepted'} "
                    f"(HTTP {answer.code} {answer.message[:200]}), check api-validation "
                    f"{'rejects ' + str(list(verdict.api_paths)) if verdict.api_rejects else 'accepts'}"
                )
            elif not answer.api_rejected:
                decisions[answer.decision] = decisions.get(answer.decision, 0) + 1
                problem = webhook_disagreement(verdict, answer)
                if problem:
                    mismatches.append(f"{label}: {problem}")
    total = len(verdicts)
    print(
        f"\ncorpus: {total} policies in {len(files)} files; API server accepted {counts['accepted']}, "
        f"rejected {counts['rejected']}, kubectl refused to send {counts['not sent']}; webhook decisions "
        f"{dict(sorted(decisions.items()))}; {total - len(mismatches)}/{total} agree with check"
    )
    assert not mismatches, f"{len(mismatches)} disagreements:\n" + "\n".join(mismatches)
