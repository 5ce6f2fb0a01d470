"""``bulkhead explain [RULE]``: one rule's docs (what it does, why, example, fix), or the list.

Check rules (``BH-…``) print their section of ``docs/rules.md``; doctor diagnoses (``DR-…``)
their section of ``docs/doctor.md``; both are generated from the same rows.
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
    """Explain a check rule (BH-…) or a doctor diagnosis (DR-…): what, why, example, fix."""
    from bulkhead.checks import RULES, rule
    from bulkhead.checks.docs import rule_markdown
    from bulkhead.doctor import docs as doctor_docs
    from bulkhead.doctor.rules import RULES as DIAGNOSES
    from bulkhead.spec.suggest import did_you_mean

    if rule_id is None:
        for row in RULES:
            typer.echo(f"{row.id:<11} {row.severity.value:<8} {row.title}")
        for diag in DIAGNOSES:
            typer.echo(f"{diag.id:<11} {diag.severity.value:<8} {diag.title}")
        return
    found = rule(rule_id)
    if found is not None:
        typer.echo(rule_markdown(found), nl=False)
        return
    diagnosis = doctor_docs.rule(rule_id)
    if diagnosis is not None:
        typer.echo(doctor_docs.rule_markdown(diagnosis), nl=False)
        return
    hint = did_you_mean(rule_id.upper(), [r.id for r in RULES] + [d.id for d in DIAGNOSES])
    typer.echo(f"error: unknown rule {rule_id!r}{hint} (bulkhead explain lists them)", err=True)
    raise typer.Exit(3)
