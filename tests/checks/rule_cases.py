"""The rule cases stored as data: ``cases/<RULE-ID>/{pass,fail}*.yaml``.

Each file is a small, complete homelab spec. Its leading comments say what it shows and what
the rule must report: ``# expect: RULE WORKLOAD LINE`` once per finding (``-`` for a finding
that belongs to no workload), and optionally ``# today: YYYY-MM-DD`` for waiver expiry. A pass
file expects nothing of its rule.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

CASES = Path(__file__).parent / "cases"
_EXPECT = re.compile(r"^# expect: (\S+) (\S+) (\d+)$", re.M)
_TODAY = re.compile(r"^# today: (\S+)$", re.M)


@dataclass(frozen=True)
class Case:
    """One case file and what it expects of its rule."""

    path: Path
    rule: str
    passing: bool
    expected: tuple[tuple[str, str, int], ...]
    today: dt.date | None

    @property
    def name(self) -> str:
        return f"{self.rule}/{self.path.stem}"


def load(path: Path) -> Case:
    text = path.read_text(encoding="utf-8")
    expected = tuple((r, w, int(line)) for r, w, line in _EXPECT.findall(text))
    today = _TODAY.search(text)
    return Case(
        path=path,
        rule=path.parent.name,
        passing=path.stem.startswith("pass"),
        expected=tuple(sorted(expected)),
        today=dt.date.fromisoformat(today.group(1)) if today else None,
    )


def all_cases() -> list[Case]:
    return [load(p) for p in sorted(CASES.glob("*/*.yaml"))]
