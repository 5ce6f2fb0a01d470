"""Generate ``docs/doctor.md`` from the doctor's rule table, one section per diagnosis.

Run ``python -m bulkhead.doctor.docs`` (``--check`` only compares); a test fails when the page
is stale. ``bulkhead explain DR-…`` prints the same section.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bulkhead.doctor.model import Layer, Rule
from bulkhead.doctor.rules import RULES
from bulkhead.generated import generate_main

DEFAULT_PATH = Path("docs/doctor.md")
INTRO = """# bulkhead doctor: the diagnoses

<!-- Generated from the doctor's rule table by `python -m bulkhead.doctor.docs`; do not edit. -->

`bulkhead doctor homelab.yaml` reads the live layers (or a `--snapshot DIR` of them) and ends
with one verdict, "look here first: <layer> — <reason>", then the evidence. Each diagnosis is a
row below. Rank orders causes before symptoms (a NotReady node before its pods' troubles); the
lowest-ranked error decides the verdict. Exit codes: 0 healthy, 1 a problem found, 4 a layer
unreachable or unknown.

Snapshot files: `nodes.json`, `pods.json`, `events.json` (as `kubectl get nodes|pods|events -A
-o json` prints them), `gateway-ready.json` (status and body of the gateway's `/readyz`),
`gateway-metrics.txt` (its `/metrics`), `gitea-runs.json` (Gitea's list-workflow-runs
response). A missing file makes its layer unknown, never healthy.
"""


def rule_markdown(rule: Rule) -> str:
    """One diagnosis's section, in Markdown."""
    return (
        f"### {rule.id}: {rule.title}\n\n"
        f"Layer: **{rule.layer.value}** · severity: **{rule.severity.value}** · "
        f"rank: {rule.rank}\n\n"
        f"#### What it means\n\n{rule.explanation}\n\n"
        f"#### Fix\n\n{rule.fix}\n"
    )


def page() -> str:
    """The whole ``docs/doctor.md``."""
    table = "| Diagnosis | Layer | Severity | Title |\n|---|---|---|---|\n" + "\n".join(
        f"| {r.id} | {r.layer.value} | {r.severity.value} | {r.title} |" for r in RULES
    )
    parts = [INTRO, table + "\n"]
    for layer in Layer:
        rows = [r for r in RULES if r.layer is layer]
        if rows:
            parts.append(f"## {layer.value}\n")
            parts.extend(rule_markdown(r) for r in rows)
    return "\n".join(parts)


def rule(rule_id: str) -> Rule | None:
    """The row of a diagnosis id (case-insensitive), or None."""
    wanted = rule_id.strip().upper()
    return next((r for r in RULES if r.id == wanted), None)


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` compare) the page; exit 1 when it is stale."""
    return generate_main(
        "bulkhead.doctor.docs", DEFAULT_PATH, page, f"{len(RULES)} diagnoses", argv
    )


if __name__ == "__main__":
    sys.exit(main())
