"""A tolerant JSON reader for templates as people keep them: ``//`` and ``/* */`` comments, trailing commas.

Azure's own tools (Bicep output, VS Code's ARM extension, ``az deployment``) accept JSON with comments, so
templates in the wild carry them. We blank comments and trailing commas out with spaces of the same length,
so every position the strict parser reports is still the position in the file the user wrote.
"""

from __future__ import annotations

import json
from typing import Any


class JsonSyntaxError(ValueError):
    """The text is not JSON even with comments and trailing commas allowed; carries a 1-based position."""

    def __init__(self, message: str, *, line: int, column: int) -> None:
        super().__init__(f"{message} (line {line}, column {column})")
        self.reason = message
        self.line = line
        self.column = column


def loads_tolerant(text: str) -> Any:
    """Parse JSON that may contain comments and trailing commas.

    Args:
        text: the file's text (a leading byte-order mark is ignored).

    Returns:
        The parsed value, as ``json.loads`` would return it.

    Raises:
        JsonSyntaxError: the text is not (tolerant) JSON; the message names the line and column.
    """
    text = text.removeprefix("\ufeff")
    cleaned = _drop_trailing_commas(_blank_comments(text))
    try:
        return json.loads(cleaned, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise JsonSyntaxError(exc.msg, line=exc.lineno, column=exc.colno) from None
    except _ConstantFound as exc:
        line, column = _position(cleaned, max(cleaned.find(exc.name), 0))
        raise JsonSyntaxError(f"'{exc.name}' is not a JSON value", line=line, column=column) from None


class _ConstantFound(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _reject_constant(name: str) -> Any:
    # json.loads accepts NaN and Infinity by default; ARM and AIB do not.
    raise _ConstantFound(name)


def _position(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _blank(chars: list[str], start: int, end: int) -> None:
    for i in range(start, end):
        if chars[i] not in "\r\n":
            chars[i] = " "


def _string_end(text: str, start: int) -> int:
    """Index just past the string literal opening at ``start`` (or len(text) when unterminated)."""
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == '"':
            return i + 1
        i += 1
    return len(text)


def _blank_comments(text: str) -> str:
    chars = list(text)
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            i = _string_end(text, i)
        elif text.startswith("//", i):
            end = text.find("\n", i)
            end = len(text) if end < 0 else end
            _blank(chars, i, end)
            i = end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                line, column = _position(text, i)
                raise JsonSyntaxError("Unterminated /* comment", line=line, column=column)
            _blank(chars, i, end + 2)
            i = end + 2
        else:
            i += 1
    return "".join(chars)


def _drop_trailing_commas(text: str) -> str:
    chars = list(text)
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            i = _string_end(text, i)
            continue
        if ch == ",":
            j = i + 1
            while j < len(text) and text[j] in " \t\r\n":
                j += 1
            if j < len(text) and text[j] in "]}":
                chars[i] = " "
        i += 1
    return "".join(chars)
