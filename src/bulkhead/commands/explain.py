"""``bulkhead explain [RULE]``: one rule's docs (what it does, why, example, fix), or the list.

The text is the rule's section of ``docs/rules.md``, generated from the same registry row.
"""

from __future__ import annotations

from typing import Annotated

import typer


def command(
    rule_id: Annotated[
        str | None,
        typer.Argument(metavar="RULE", help="A rule id such as BH-SEP-003; omit to list them."),
    ] = None,
) -> None:
    """Explain a rule: what it does, why it matters, an example, the fix."""
    from bulkhead.checks import RULES, rule
    from bulkhead.checks.docs import rule_markdown
    from bulkhead.spec.suggest import did_you_mean

    if rule_id is None:
        for row in RULES:
            typer.echo(f"{row.id:<11} {row.severity.value:<8} {row.title}")
        return
    found = rule(rule_id)
    if found is None:
        hint = did_you_mean(rule_id.upper(), [r.id for r in RULES])
        typer.echo(f"error: unknown rule {rule_id!r}{hint} (bulkhead explain lists them)", err=True)
        raise typer.Exit(3)
    typer.echo(rule_markdown(found), nl=False)
