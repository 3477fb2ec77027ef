"""Fit warning lines into the limits the API server and kubectl handle well.

Each warning should be at most 120 characters where possible and never over 256; all of them together stay
under 4096 bytes. A long violation is split into its problem and its fix (each still names the rule), an
over-long part is cut at a word boundary, and what does not fit is summarised by one last line saying how
many were left out. `explain`'s admission lines share the same budget, after the rule warnings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from app.engine import Violation

PREFERRED: Final = 120
HARD_LIMIT: Final = 256
TOTAL_LIMIT: Final = 4096
_ELLIPSIS: Final = "..."


def shorten(text: str, limit: int = HARD_LIMIT) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, marked with ``...``."""
    if len(text) <= limit:
        return text
    cut = text[: limit - len(_ELLIPSIS)]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:") + _ELLIPSIS


def warning_lines(violation: Violation) -> list[str]:
    """One line when the rendered violation is short, else a problem line and a fix line."""
    note = " (already present before this update)" if violation.grandfathered else ""
    full = violation.render() + note
    if len(full) <= PREFERRED:
        return [full]
    where = f" {violation.path}:" if violation.path else ""
    problem = f"[{violation.rule}]{where} {violation.problem.rstrip('.')}{note}."
    fix = f"[{violation.rule}] Fix: {violation.fix}"
    return [shorten(problem), shorten(fix)]


def _size(lines: Sequence[str]) -> int:
    # UTF-8 bytes plus one separator each: stricter than counting characters.
    return sum(len(line.encode()) + 1 for line in lines)


def _left_out(count: int) -> str:
    return f"... and {count} more warning(s) left out: run `netpol-guard check` to see them all"


def _explain_left_out(count: int) -> str:
    return f"... {count} more: run netpol-guard diff"


def fit_warnings(violations: Sequence[Violation], explain: Sequence[str] = ()) -> list[str]:
    """The violations' warning lines, then the ``explain`` lines (already one line each), within the
    limits: rule warnings come first, and the last line says how many were left out."""
    units = [warning_lines(v) for v in violations] + [[line] for line in explain]
    lines: list[str] = []
    used = 0  # _size(lines), kept as it grows rather than recounted for every unit
    # Room for the summary line is kept free until the last unit, sized for the largest count.
    reserve = _size([_left_out(len(units))])
    for index, candidate in enumerate(units):
        needed = _size(candidate)
        last = index == len(units) - 1
        if used + needed + (0 if last else reserve) >= TOTAL_LIMIT:
            left = len(units) - index
            lines.append(_left_out(left) if index < len(violations) else _explain_left_out(left))
            break
        lines.extend(candidate)
        used += needed
    return lines
