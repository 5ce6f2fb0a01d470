"""Kubernetes quantities are parsed exactly and formatted canonically."""

from __future__ import annotations

from fractions import Fraction

import pytest

from bulkhead.spec.quantity import (
    Quantity,
    QuantityError,
    format_cpu,
    format_memory,
    human_memory,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("250m", Fraction(1, 4)),
        ("1.5", Fraction(3, 2)),
        (4, Fraction(4)),
        ("512Mi", Fraction(512 * 2**20)),
        ("8Gi", Fraction(8 * 2**30)),
        ("1k", Fraction(1000)),
        ("1e3", Fraction(1000)),
        ("2E-3", Fraction(2, 1000)),
        ("0.1", Fraction(1, 10)),
        ("100n", Fraction(1, 10**7)),
    ],
)
def test_parses_exactly(text: str | int, value: Fraction) -> None:
    assert Quantity.parse(text).value == value


@pytest.mark.parametrize("text", ["5Gigs", "", "abc", "1.2.3", "Gi", "8 Gi", "1mi", True, 1.5])
def test_rejects_junk(text: object) -> None:
    with pytest.raises(QuantityError):
        Quantity.parse(text)


def test_rejects_negative() -> None:
    with pytest.raises(QuantityError, match="negative"):
        Quantity.parse("-1")


def test_rounding_follows_kubernetes() -> None:
    assert Quantity.parse("0.1").millis == 100
    assert Quantity.parse("100n").millis == 1  # sub-millicore rounds up
    assert Quantity.parse("1.5Ki").units == 1536
    assert Quantity.parse("0.5").units == 1


def test_formats() -> None:
    assert format_cpu(250) == "250m"
    assert format_cpu(4000) == "4"
    assert format_memory(8 * 2**30) == "8Gi"
    assert format_memory(1536 * 2**20) == "1536Mi"
    assert format_memory(1000) == "1000"
    assert human_memory(int(1.1 * 2**30)) == "1.1Gi"
    assert human_memory(-(2**20)) == "-1Mi"
