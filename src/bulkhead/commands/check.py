"""``bulkhead check FILE``: run the rules over the spec and its placement.

``--format text`` (grouped by workload, for people), ``json`` (for scripts) or ``sarif`` (for
code scanning). Exit codes: 0 no errors, 1 errors found, 2 unplaceable workloads, 3 invalid
spec; malformed input is reported exactly as ``bulkhead validate`` reports it.
"""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from bulkhead.commands._common import SpecPath, guarded

if TYPE_CHECKING:
    from bulkhead.checks import CheckReport


class CheckFormat(StrEnum):
    """Output formats of ``check``."""

    text = "text"
    json = "json"
    sarif = "sarif"


FormatOption = Annotated[
    CheckFormat, typer.Option("--format", "-f", help="text, json or sarif.", case_sensitive=False)
]
TodayOption = Annotated[
    dt.datetime | None,
    typer.Option(
        "--today",
        formats=["%Y-%m-%d"],
        help="Judge waiver expiry as of this date (YYYY-MM-DD; default: today).",
        show_default=False,
    ),
]


def command(
    file: SpecPath, fmt: FormatOption = CheckFormat.text, today: TodayOption = None
) -> None:
    """Check FILE against the separation rules (see `bulkhead explain`)."""
    from bulkhead.checks import run_checks
    from bulkhead.placement import plan
    from bulkhead.spec import load_spec

    spec = guarded(lambda: load_spec(file))
    placement = plan(spec)
    report = run_checks(spec, placement, today=today.date() if today else None)
    _emit(report, fmt)
    if not placement.ok:
        raise typer.Exit(2)
    if not report.ok:
        raise typer.Exit(1)


def _emit(report: CheckReport, fmt: CheckFormat) -> None:
    from rich.console import Console

    from bulkhead.checks.output import print_text, to_json
    from bulkhead.checks.sarif import to_sarif

    if fmt is CheckFormat.text:
        print_text(report, Console(highlight=False))
    else:
        render = to_json if fmt is CheckFormat.json else to_sarif
        typer.echo(json.dumps(render(report), indent=2))
