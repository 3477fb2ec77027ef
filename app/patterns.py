"""Every pattern a rules file holds, on RE2: matching takes time linear in the value, whatever the pattern.

Python's ``re`` backtracks: ``^(a+)+$`` against 29 ``a`` and a ``!`` takes seconds, and a label value is
written by whoever creates the NetworkPolicy. RE2 (the google-re2 package) never backtracks; its syntax is
the one Go's regexp package reads, so Helm's ``regexMatch`` and the chart's render-time check accept
exactly the patterns the server does. What RE2 cannot do in linear time (lookaround, backreferences) is a
syntax error at load, with RE2's one-line reason. docs/patterns.md has the syntax.

Namespace and user globs (``team-*``) are translated to RE2 as well, so no rules-file input reaches a
backtracking matcher.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import re2

_OPTIONS: Final = re2.Options()
_OPTIONS.log_errors = False  # RE2 would print each syntax error to stderr; ours is raised instead


class PatternError(ValueError):
    """A pattern RE2 cannot compile; the message is RE2's reason (``missing ): a(``)."""


class Pattern:
    """A compiled pattern that must match the whole value (as Kubernetes and Helm users expect)."""

    __slots__ = ("_regex", "source")

    def __init__(self, source: str, regex: str | None = None) -> None:
        self.source = source
        try:
            self._regex: Any = re2.compile(source if regex is None else regex, _OPTIONS)
        except re2.error as exc:
            reason = exc.args[0] if exc.args else exc
            text = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
            raise PatternError(f"not a valid RE2 regular expression: {text}") from None

    def matches(self, value: str) -> bool:
        """True when the whole ``value`` matches."""
        return self._regex.fullmatch(value) is not None

    def __repr__(self) -> str:
        return f"Pattern({self.source!r})"


def compile_pattern(pattern: str) -> Pattern:
    """Compile a rules-file regular expression (RE2 syntax), or raise `PatternError`."""
    return Pattern(pattern)


def _class(body: str) -> str:
    # Inside [...] only '-' keeps its meaning; every other punctuation mark is taken literally.
    negate = body.startswith("!")
    if negate:
        body = body[1:]
    escaped = "".join(c if c == "-" or c.isalnum() or ord(c) > 127 else "\\" + c for c in body)
    return f"[{'^' if negate else ''}{escaped}]"


def glob_regex(glob: str) -> str:
    """The RE2 expression of a shell-style glob, as `fnmatch.fnmatchcase` reads it: ``*`` any run of
    characters, ``?`` one character, ``[abc]``/``[!abc]`` a set, anything else literal."""
    parts: list[str] = []
    index = 0
    while index < len(glob):
        char = glob[index]
        index += 1
        if char == "*":
            if not parts or parts[-1] != ".*":
                parts.append(".*")
        elif char == "?":
            parts.append(".")
        elif char == "[":
            end = index
            if glob[end : end + 1] == "!":
                end += 1
            if glob[end : end + 1] == "]":  # a ']' first in the set is a member, not its end
                end += 1
            end = glob.find("]", end)
            if end < 0:
                parts.append(re2.escape("["))
            else:
                parts.append(_class(glob[index:end]))
                index = end + 1
        else:
            parts.append(re2.escape(char))
    return "".join(parts)


def compile_globs(globs: Sequence[str]) -> Pattern | None:
    """One pattern matching a whole name against any of the ``globs``; None for no globs."""
    if not globs:
        return None
    return Pattern(", ".join(globs), "(?s)" + "|".join(f"(?:{glob_regex(glob)})" for glob in globs))
