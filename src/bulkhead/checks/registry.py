"""The one table of rules: every family's rows, joined explicitly, ordered by id.

Adding a rule means adding a row to its family's ``RULES`` tuple; ids are never reused (a retired
rule keeps its number and its row is removed, so the number is never handed out again — list it
in ``RETIRED``). Import this module to get the table; nothing registers itself.
"""

from __future__ import annotations

from bulkhead.checks import policy
from bulkhead.checks.model import FAMILIES, Rule
from bulkhead.checks.rules import (
    ci,
    images,
    network,
    placement,
    probes,
    reliability,
    resources,
    secrets,
    security,
    separation,
    volumes,
)

RETIRED: frozenset[str] = frozenset()

RULES: tuple[Rule, ...] = tuple(
    sorted(
        (
            *placement.RULES,
            *separation.RULES,
            *resources.RULES,
            *probes.RULES,
            *security.RULES,
            *secrets.RULES,
            *network.RULES,
            *images.RULES,
            *volumes.RULES,
            *reliability.RULES,
            *ci.RULES,
            *policy.RULES,
        ),
        key=lambda r: (list(FAMILIES).index(r.family), r.id),
    )
)
BY_ID: dict[str, Rule] = {r.id: r for r in RULES}


def rule(rule_id: str) -> Rule | None:
    """The row of a rule id (case-insensitive), or None."""
    return BY_ID.get(rule_id.strip().upper())
