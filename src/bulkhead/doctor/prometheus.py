"""A reader for the Prometheus text exposition format, enough for the gateway's ``/metrics``.

A file may hold several scrapes one after another (a snapshot taken twice): a series seen
again starts the next scrape, so the doctor can tell a growing queue from a busy one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

_SAMPLE = re.compile(
    r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})?\s+(?P<value>\S+)(?:\s+\S+)?$"
)
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Sample:
    """One sample: metric name, labels, value."""

    name: str
    labels: tuple[tuple[str, str], ...]
    value: float

    def label(self, key: str) -> str:
        """A label's value, or ``""``."""
        return dict(self.labels).get(key, "")


Scrape = tuple[Sample, ...]


def parse(text: str) -> list[Scrape]:
    """Every scrape in the text, in order (comments and malformed lines are skipped)."""
    scrapes: list[list[Sample]] = [[]]
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    for sample in filter(None, map(_sample, text.splitlines())):
        key = (sample.name, sample.labels)
        if key in seen:
            scrapes.append([])
            seen = set()
        seen.add(key)
        scrapes[-1].append(sample)
    return [tuple(s) for s in scrapes if s]


def _sample(line: str) -> Sample | None:
    found = _SAMPLE.match(line.strip())
    if not found or line.lstrip().startswith("#"):
        return None
    labels = tuple(sorted(_LABEL.findall(found["labels"] or "")))
    try:
        value = float(found["value"])
    except ValueError:
        return None
    return Sample(found["name"], labels, value) if not math.isnan(value) else None


def series(scrape: Iterable[Sample], name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Labels → value of one metric in one scrape."""
    return {s.labels: s.value for s in scrape if s.name == name}


def by_label(values: Mapping[tuple[tuple[str, str], ...], float], key: str) -> dict[str, float]:
    """Sum a metric's values by one label."""
    result: dict[str, float] = {}
    for labels, value in values.items():
        name = dict(labels).get(key, "")
        result[name] = result.get(name, 0.0) + value
    return result
