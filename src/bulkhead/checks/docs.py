"""``docs/rules.md`` and ``bulkhead explain``, generated from the registry table.

Every rule gets the same sections: what it does, why it matters, an example that triggers it,
and the fix. :func:`rule_markdown` is the one rendering of a rule; the docs page, ``bulkhead
explain RULE`` and SARIF help text all use it, so they never disagree.

Regenerate the page with ``python -m bulkhead.checks.docs`` (``--check`` only compares); a test
fails when the committed page is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bulkhead.checks.model import FAMILIES, Rule
from bulkhead.checks.registry import RULES
from bulkhead.generated import generate_main

DEFAULT_PATH = Path("docs/rules.md")
_INTRO = """\
# bulkhead rules

<!-- Generated from the rule registry by `python -m bulkhead.checks.docs`; do not edit. -->

`bulkhead check homelab.yaml` runs every rule below over the spec and its placement. Each rule
has an id that is never reused, a default severity, and the same four sections: what it does,
why it matters, an example that triggers it, and the fix. `bulkhead explain RULE` prints a
rule's section from the terminal.

Change a rule's severity, or turn it off, with `policy.severity`; silence one finding with a
waiver, which needs a reason and may expire (an expired or unused waiver is itself reported):

```yaml
policy:
  severity: {BH-IMG-002: off, BH-PRB-001: error}
  waivers:
    - {rule: BH-PLC-002, workload: postgres, reason: "one NVMe node; nightly restore tested",
       expires: 2027-01-01}
```

Exit codes of `bulkhead check`: 0 no errors, 1 errors found, 2 unplaceable workloads,
3 invalid spec.
"""


def rule_markdown(rule: Rule) -> str:
    """One rule's section, in Markdown."""
    return (
        f"### {rule.id}: {rule.title}\n\n"
        f"Default severity: **{rule.severity.value}** · family: {FAMILIES[rule.family]}\n\n"
        f"#### What it does\n\n{rule.summary}\n\n"
        f"#### Why it matters\n\n{rule.rationale}\n\n"
        f"#### Example\n\n```yaml\n{rule.example}\n```\n\n"
        f"#### Fix\n\n{rule.fix}\n"
    )


def rule_text(rule: Rule) -> str:
    """One rule's section as plain text (SARIF's help.text)."""
    return (
        f"{rule.id}: {rule.title} (default severity: {rule.severity.value})\n\n"
        f"What it does: {rule.summary}\n\nWhy it matters: {rule.rationale}\n\n"
        f"Example:\n{rule.example}\n\nFix: {rule.fix}\n"
    )


def rules_markdown() -> str:
    """The whole ``docs/rules.md`` page."""
    parts = [_INTRO, _table()]
    for family, name in FAMILIES.items():
        rules = [r for r in RULES if r.family == family]
        if rules:
            parts.append(f"## {family}: {name}\n")
            parts.extend(rule_markdown(r) for r in rules)
    return "\n".join(parts)


def _table() -> str:
    rows = [f"| [{r.id}](#{_anchor(r)}) | {r.severity.value} | {r.title} |" for r in RULES]
    return "| Rule | Severity | Title |\n|---|---|---|\n" + "\n".join(rows) + "\n"


def _anchor(rule: Rule) -> str:
    """GitHub's anchor for the rule's heading."""
    text = f"{rule.id}: {rule.title}".lower()
    kept = "".join(c for c in text if c.isalnum() or c in " -")
    return kept.replace(" ", "-")


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` compare) the page; exit 1 when it is stale."""
    return generate_main(
        "bulkhead.checks.docs", DEFAULT_PATH, rules_markdown, f"{len(RULES)} rules", argv
    )


if __name__ == "__main__":
    sys.exit(main())
