"""Rules-file patterns run on RE2: linear time whatever the pattern; what RE2 cannot run is refused at load
with one line naming the key; namespace globs mean what fnmatch says."""

from __future__ import annotations

import fnmatch
import time

import pytest

from app.engine import evaluate_document
from app.errors import RulesFileError
from app.patterns import PatternError, compile_globs, compile_pattern
from app.ruleset import parse_ruleset_text

HEADER = "apiVersion: netpol-guard.io/v1alpha1\nkind: RuleSet\n"


def _rules_with_pattern(pattern: str, rule: str = "require-labels", field: str = "labels") -> str:
    requirement = f"      - key: team\n        pattern: '{pattern}'\n"
    return f"{HEADER}rules:\n  {rule}:\n    action: deny\n    {field}:\n{requirement}"


def _policy(team: str) -> dict[str, object]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": "p",
            "namespace": "shop",
            "labels": {"team": "a"},
            "annotations": {"team": team},
        },
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
    }


@pytest.mark.parametrize("length", [29, 100_000], ids=["29-characters", "100k-characters"])
def test_a_nested_quantifier_pattern_judges_a_hostile_value_without_backtracking(length: int) -> None:
    rules = _rules_with_pattern("^(a+)+$", "require-annotations", "annotations")
    ruleset = parse_ruleset_text(rules, "rules.yaml")

    started = time.monotonic()
    hostile = evaluate_document(_policy("a" * length + "b"), ruleset)
    fitting = evaluate_document(_policy("a" * length), ruleset)
    elapsed = time.monotonic() - started

    assert elapsed < 10, "Python's backtracking re needs seconds for 29 characters; RE2 microseconds"
    assert [v.rule for v in hostile.denials] == ["require-annotations"]
    assert "does not match the pattern '^(a+)+$'" in hostile.denials[0].problem
    assert not fitting.denied


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        pytest.param("(?=team)x", "invalid perl operator: (?=", id="lookahead"),
        pytest.param(r"(a)\1", r"invalid escape sequence: \1", id="backreference"),
        pytest.param("[a-", "missing ]: [a-", id="unclosed-class"),
        pytest.param("a{1001}", "invalid repetition size: {1001}", id="repeat-over-1000"),
    ],
)
def test_a_pattern_re2_cannot_run_is_refused_at_load_in_one_line_naming_the_key(
    pattern: str, reason: str
) -> None:
    with pytest.raises(RulesFileError) as raised:
        parse_ruleset_text(_rules_with_pattern(pattern), "rules.yaml")

    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("rules.yaml: rules.require-labels.labels[0].pattern: not a valid RE2 regular")
    assert reason in message


def test_re2_errors_are_not_printed_on_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(PatternError):
        compile_pattern("(")
    assert capfd.readouterr().err == ""


def test_a_pattern_must_match_the_whole_value() -> None:
    pattern = compile_pattern("team-[a-z]+")
    assert pattern.matches("team-shop")
    assert not pattern.matches("my-team-shop")
    assert not pattern.matches("team-shop-2")


GLOBS = ["*", "team-*", "a?c", "[abc]x", "[!abc]x", "[]a]", "[!]a]", "a[", "kube-*-x", "*.*", "x(y)+z", "é*"]
NAMES = [
    "",
    "a",
    "team-a",
    "team-",
    "abc",
    "ax",
    "dx",
    "]",
    "]a",
    "a[",
    "kube-1-x",
    "kube-x",
    "a.b",
    "x(y)+z",
    "é1",
    "team-\n",
]


@pytest.mark.parametrize("glob", GLOBS)
def test_namespace_globs_match_exactly_what_fnmatch_matches(glob: str) -> None:
    pattern = compile_globs([glob])
    assert pattern is not None
    assert [name for name in NAMES if pattern.matches(name)] == [
        name for name in NAMES if fnmatch.fnmatchcase(name, glob)
    ]


def test_several_globs_match_any_of_them_and_no_globs_match_nothing() -> None:
    pattern = compile_globs(["team-*", "shop"])
    assert pattern is not None
    assert pattern.matches("team-a") and pattern.matches("shop")
    assert not pattern.matches("shopping")
    assert compile_globs([]) is None
