"""Generate ``docs/doctor.md`` from the doctor's rule table, one section per diagnosis.

Run ``python -m bulkhead.doctor.docs`` (``--check`` only compares); a test fails when the page
is stale. ``bulkhead explain DR-…`` prints the same section.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bulkhead.doctor.model import Layer, Rule
from bulkhead.doctor.rules import RULES

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
    parser = argparse.ArgumentParser(prog="python -m bulkhead.doctor.docs")
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_PATH)
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 if stale")
    args = parser.parse_args(argv)
    text = page()
    current = args.path.read_text(encoding="utf-8") if args.path.exists() else None
    if args.check:
        if current != text:
            print(f"{args.path} is stale: run python -m bulkhead.doctor.docs", file=sys.stderr)
        return int(current != text)
    args.path.write_text(text, encoding="utf-8")
    print(f"wrote {args.path} ({len(RULES)} diagnoses)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
