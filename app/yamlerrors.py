"""YAML parse errors said the way a person would say them, at the line and column to look at.

libyaml reports what its scanner expected ("found character that cannot start any token", "did not
find expected ',' or ']'"). People need the cause: a tab where YAML wants spaces, a bracket or quote
that was opened somewhere and never closed (both places are named), a ``key: value`` where the
indentation says otherwise.
"""

from __future__ import annotations

from typing import Final

import yaml

_OPENERS: Final = {
    "while parsing a flow sequence": "the '[' opened",
    "while parsing a flow mapping": "the '{' opened",
    "while scanning a quoted scalar": "the quote opened",
}


def _at(mark: yaml.Mark, line_offset: int) -> str:
    return f"line {mark.line + 1 + line_offset}, column {mark.column + 1}"


def _char_at(text: str, mark: yaml.Mark) -> str:
    # From line and column: libyaml's index counts bytes, not characters.
    lines = text.split("\n", mark.line + 1)
    line = lines[mark.line] if mark.line < len(lines) else ""
    return line[mark.column] if 0 <= mark.column < len(line) else ""


def _reader_problem(exc: yaml.reader.ReaderError, text: str) -> tuple[str, int, int]:
    # No mark, and the offset is in bytes (libyaml) or characters (pure Python): the reader stops at
    # the first character it refuses, so that character's first occurrence is the place.
    offset = max(text.find(chr(exc.character)), 0)
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"not valid YAML: {exc.reason} (U+{exc.character:04X}); remove it", line, column


def describe_yaml_error(exc: yaml.YAMLError, text: str, line_offset: int = 0) -> tuple[str, int, int]:
    """``(message, line, column)`` for a YAML error in ``text`` (1-based; 0, 0 when unknown), the lines
    counted from ``line_offset`` (where ``text`` starts in its file)."""
    if isinstance(exc, yaml.reader.ReaderError):
        message, line, column = _reader_problem(exc, text)
        return message, line + line_offset, column
    mark = getattr(exc, "problem_mark", None)
    context_mark = getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None) or ""
    where = mark or context_mark
    if where is None:
        return f"not valid YAML: {problem}", 0, 0
    line, column = where.line + 1 + line_offset, where.column + 1
    if mark is not None and (_char_at(text, mark) == "\t" or "tab character" in problem):
        message = "a tab character: YAML indents with spaces only; replace the tab with spaces"
    elif context in _OPENERS and context_mark is not None and mark is not None:
        closer = {"[": "']'", "{": "'}'"}.get(_char_at(text, context_mark), "its closing quote")
        message = (
            f"{_OPENERS[context]} at {_at(context_mark, line_offset)} is not closed: {problem} here "
            f"(add {closer}, or check the lines in between)"
        )
    elif "mapping values are not allowed" in problem:
        message = (
            "a 'key: value' where this line's indentation does not allow one: check the indentation, "
            "or quote a value that contains ': '"
        )
    elif context and context_mark is not None and context_mark is not mark:
        message = f"{problem} ({context} at {_at(context_mark, line_offset)})"
    else:
        message = problem + (f" ({context})" if context else "")
    return f"not valid YAML: {message}", line, column
