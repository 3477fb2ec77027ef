"""Warning lines stay within what the API server and kubectl handle: 120 preferred, 256 max, 4096 total."""

from __future__ import annotations

import pytest

from app.admission.warnings import HARD_LIMIT, PREFERRED, TOTAL_LIMIT, fit_warnings, shorten, warning_lines
from app.engine import Violation
from app.rules.base import Action


def _violation(problem: str, fix: str = "do the thing", rule: str = "some-rule") -> Violation:
    return Violation(rule=rule, action=Action.WARN, path="spec.ingress[0]", problem=problem, fix=fix)


def test_a_short_violation_is_one_warning_in_the_rendered_form() -> None:
    violation = _violation("rule has no ports")

    assert warning_lines(violation) == [violation.render()]


def test_a_long_violation_becomes_a_problem_line_and_a_fix_line_naming_the_rule() -> None:
    problem, fix = "x" * 70 + " problem", "y" * 70 + " fix"

    lines = warning_lines(_violation(problem, fix))

    assert lines == [f"[some-rule] spec.ingress[0]: {problem}.", f"[some-rule] Fix: {fix}"]
    assert all(len(line) <= PREFERRED for line in lines)


@pytest.mark.parametrize("length", [300, 1000, 20000], ids=["300", "1000", "20000"])
def test_no_warning_is_ever_over_256_characters(length: int) -> None:
    words = ("word " * length)[:length]

    lines = warning_lines(_violation(words, words))

    assert all(len(line) <= HARD_LIMIT for line in lines)
    assert all(line.endswith("...") for line in lines)


def test_shortening_cuts_at_a_word_boundary() -> None:
    assert shorten("alpha beta gamma delta", 16) == "alpha beta..."


def test_warnings_that_do_not_fit_the_total_are_counted_in_a_last_line() -> None:
    violations = [_violation(f"problem number {i} " + "z" * 90) for i in range(100)]

    lines = fit_warnings(violations)

    total = sum(len(line.encode()) + 1 for line in lines)
    assert total < TOTAL_LIMIT
    shown = sum(1 for line in lines if "Fix:" in line)
    assert lines[-1].startswith(f"... and {100 - shown} more warning(s) left out")
    assert 0 < shown < 100


def test_warnings_that_fit_are_all_shown_without_a_summary() -> None:
    violations = [_violation(f"problem {i}") for i in range(10)]

    assert fit_warnings(violations) == [v.render() for v in violations]
