"""Label selectors as the API server parses them from ``?labelSelector=``.

Grammar (the subset clients send): ``k=v``, ``k==v``, ``k!=v``, ``k``, ``!k``,
``k in (a,b)``, ``k notin (a,b)``, joined by commas. A malformed selector is a ValueError,
which the server answers with 400 BadRequest.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

Requirement = Callable[[Mapping[str, str]], bool]

_SET = re.compile(r"^\s*([^\s!=,()]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_EQ = re.compile(r"^\s*([^\s!=,()]+)\s*(==|=|!=)\s*([^\s!=,()]*)\s*$")
_EXISTS = re.compile(r"^\s*(!?)\s*([^\s!=,()]+)\s*$")


def parse(selector: str) -> list[Requirement]:
    """Every requirement of a selector; all must hold for an object to match."""
    return [_requirement(part) for part in _split(selector) if part.strip()]


def matches(requirements: list[Requirement], labels: Mapping[str, str]) -> bool:
    """Whether labels satisfy every requirement."""
    return all(req(labels) for req in requirements)


def _split(selector: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in selector:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current]


def _requirement(text: str) -> Requirement:
    if found := _SET.match(text):
        key, op, raw = found.groups()
        values = {v.strip() for v in raw.split(",") if v.strip()}
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if found := _EQ.match(text):
        key, op, value = found.groups()
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if found := _EXISTS.match(text):
        negate, key = found.groups()
        return (lambda labels: key not in labels) if negate else (lambda labels: key in labels)
    raise ValueError(f"unable to parse requirement: {text!r}")
