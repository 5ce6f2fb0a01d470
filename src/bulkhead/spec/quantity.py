"""Kubernetes resource quantities (``250m``, ``1.5``, ``512Mi``, ``8Gi``), parsed exactly.

A :class:`Quantity` holds an exact :class:`~fractions.Fraction`; nothing here ever goes through a
float. CPU is compared in millicores and memory in bytes, both rounded up as Kubernetes does.
Formatting gives back canonical Kubernetes strings (``1500m``, ``8Gi``) and a short human form
(``1.1Gi``) for explanations.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 10**3),
    "": Fraction(1),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
}
_PATTERN = re.compile(
    r"^(?P<sign>[+-]?)(?P<num>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
    r"(?:(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE](?P<exp>[+-]?[0-9]+))?$"
)
SYNTAX_HINT = "use Kubernetes notation such as 250m, 1.5, 512Mi or 8Gi"


class QuantityError(ValueError):
    """A string is not a Kubernetes quantity."""


@dataclass(frozen=True, order=True)
class Quantity:
    """An exact, non-negative Kubernetes quantity."""

    value: Fraction

    @classmethod
    def parse(cls, raw: object) -> Quantity:
        """Parse a YAML scalar (int or string) into a quantity; reject negatives and junk."""
        if isinstance(raw, Quantity):
            return raw
        if isinstance(raw, bool) or not isinstance(raw, int | str):
            raise QuantityError(f"expected a quantity, got {type(raw).__name__}; {SYNTAX_HINT}")
        value = _parse_text(str(raw).strip())
        if value < 0:
            raise QuantityError(f"{raw!r} is negative; quantities must be zero or more")
        return cls(value)

    @classmethod
    def of(cls, text: str) -> Quantity:
        """Shorthand for constants in code: ``Quantity.of("100m")``."""
        return cls.parse(text)

    @property
    def millis(self) -> int:
        """The value in thousandths, rounded up (CPU in millicores)."""
        return math.ceil(self.value * 1000)

    @property
    def units(self) -> int:
        """The value rounded up to a whole unit (memory in bytes, GPUs in devices)."""
        return math.ceil(self.value)

    def __add__(self, other: Quantity) -> Quantity:
        return Quantity(self.value + other.value)

    def __sub__(self, other: Quantity) -> Quantity:
        return Quantity(self.value - other.value)

    def __str__(self) -> str:
        return format_memory(self.units) if self.value >= 1024 else format_cpu(self.millis)


def _parse_text(text: str) -> Fraction:
    match = _PATTERN.match(text)
    if not match:
        raise QuantityError(f"{text!r} is not a quantity; {SYNTAX_HINT}")
    number = Fraction(match["num"])
    if match["sign"] == "-":
        number = -number
    if match["exp"] is not None:
        return number * Fraction(10) ** int(match["exp"])
    suffix = match["suffix"] or ""
    return number * (_BINARY[suffix] if suffix in _BINARY else _DECIMAL[suffix])


def format_cpu(millis: int) -> str:
    """Canonical Kubernetes CPU: whole cores when exact, else millicores (``4``, ``250m``)."""
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def format_memory(num_bytes: int) -> str:
    """Canonical Kubernetes memory: the largest binary suffix that divides exactly."""
    if num_bytes == 0:
        return "0"
    for suffix, factor in reversed(_BINARY.items()):
        if num_bytes % factor == 0:
            return f"{num_bytes // factor}{suffix}"
    return str(num_bytes)


def human_memory(num_bytes: int) -> str:
    """A short human form with one decimal (``1.1Gi``), for explanations and tables."""
    sign = "-" if num_bytes < 0 else ""
    size = abs(num_bytes)
    for suffix, factor in reversed(_BINARY.items()):
        if size >= factor:
            whole = size / factor
            text = f"{whole:.1f}".rstrip("0").rstrip(".")
            return f"{sign}{text}{suffix}"
    return f"{sign}{size}"


def human_cpu(millis: int) -> str:
    """A short human CPU form (``1.5``, ``250m``)."""
    if millis % 1000 == 0 or abs(millis) >= 1000:
        return f"{millis / 1000:.2f}".rstrip("0").rstrip(".")
    return f"{millis}m"


def json_schema() -> dict[str, Any]:
    """JSON Schema for a quantity field: a non-negative number or a Kubernetes quantity string."""
    return {
        "anyOf": [
            {"type": "number", "minimum": 0},
            {"type": "string", "pattern": _PATTERN.pattern.replace("[+-]?", "[+]?", 1)},
        ],
        "description": "A Kubernetes quantity: " + SYNTAX_HINT + ".",
    }
