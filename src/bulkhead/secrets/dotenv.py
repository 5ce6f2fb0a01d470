"""A strict dotenv parser: ``KEY=value`` lines, ``#`` comments, ``export``, quoted values.

Double-quoted values understand ``\\n``, ``\\t``, ``\\"`` and ``\\\\``; single-quoted values are
literal; unquoted values end at `` #``. A malformed line is reported by line number only, never
with its content (it may hold a secret).
"""

from __future__ import annotations

import re

_LINE = re.compile(r"^(?:export\s+)?(?P<key>[A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(?P<value>.*)$")
_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "r": "\r"}


class DotenvError(ValueError):
    """A line of a dotenv file cannot be parsed; carries the line number only."""

    def __init__(self, line: int, reason: str) -> None:
        self.line = line
        super().__init__(f"line {line}: {reason}")


def parse_dotenv(text: str) -> dict[str, str]:
    """Parse dotenv text into a dict; later keys win, as in shells."""
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            raise DotenvError(number, "expected KEY=value")
        values[match["key"]] = _value(match["value"], number)
    return values


def _value(raw: str, line: int) -> str:
    if raw.startswith('"'):
        return _double_quoted(raw, line)
    if raw.startswith("'"):
        end = raw.find("'", 1)
        if end < 0:
            raise DotenvError(line, "unterminated single quote")
        return raw[1:end]
    return raw.split(" #", 1)[0].strip()


def _double_quoted(raw: str, line: int) -> str:
    out: list[str] = []
    i = 1
    while i < len(raw):
        char = raw[i]
        if char == "\\" and i + 1 < len(raw):
            out.append(_ESCAPES.get(raw[i + 1], "\\" + raw[i + 1]))
            i += 2
            continue
        if char == '"':
            return "".join(out)
        out.append(char)
        i += 1
    raise DotenvError(line, "unterminated double quote")
