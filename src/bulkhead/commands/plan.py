"""``bulkhead plan FILE``: where each workload runs, how full each node is, what if one dies.

Text output: one table per environment (node → workloads, with headroom bars; the k3s server
overhead is drawn inside the bar as ``▒`` because the scheduler does not see it), the runners,
then every replica that did not fit with the Kubernetes line, every failing predicate per node
and a remedy when one exists, then the what-if per node. ``--format json`` prints the stable
document of :mod:`bulkhead.placement.document`. Exit 0 when everything is placed, 2 when
something is not, 3 when the spec is invalid.
"""

from __future__ import annotations

from typing import Annotated

import typer

from bulkhead.commands._common import OutputFormat, SpecPath, guarded

EXIT_UNPLACED = 2


def command(
    file: SpecPath,
    output: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="text (tables) or json.")
    ] = OutputFormat.text,
) -> None:
    """Place every workload of FILE: environment, node, headroom, explanations, what-if."""
    from rich.console import Console

    from bulkhead.commands._plan_report import render
    from bulkhead.placement import plan, to_json
    from bulkhead.spec import load_spec

    spec = guarded(lambda: load_spec(file))
    result = plan(spec)
    if output is OutputFormat.json:
        typer.echo(to_json(result), nl=False)
    else:
        Console(highlight=False).print(render(spec.metadata.name, result))
    raise typer.Exit(0 if result.ok else EXIT_UNPLACED)
