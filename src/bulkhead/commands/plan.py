"""``bulkhead plan FILE``: where each workload runs, how full each node is, what if one dies.

Text output: one table per environment (node → workloads, with headroom bars; the k3s server
overhead is drawn inside the bar as ``▒`` because the scheduler does not see it), the runners,
then every replica that did not fit with the Kubernetes line, every failing predicate per node
and a remedy when one exists, then the what-if per node. ``--format json`` prints the stable
document of :mod:`bulkhead.placement.document`. Exit 0 when everything is placed, 2 when
something is not, 3 when the spec is invalid.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Annotated

import typer
from rich.box import SIMPLE_HEAD
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from bulkhead.commands._common import OutputFormat, SpecPath, guarded
from bulkhead.placement import NodeUsage, PlacementResult, RunnerUsage, Unplaced, plan, to_json
from bulkhead.spec.quantity import human_cpu, human_memory

BAR_WIDTH = 6
EXIT_UNPLACED = 2


def command(
    file: SpecPath,
    output: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="text (tables) or json.")
    ] = OutputFormat.text,
) -> None:
    """Place every workload of FILE: environment, node, headroom, explanations, what-if."""
    from bulkhead.spec import load_spec

    spec = guarded(lambda: load_spec(file))
    result = plan(spec)
    if output is OutputFormat.json:
        typer.echo(to_json(result), nl=False)
    else:
        Console(highlight=False).print(render(spec.metadata.name, result))
    raise typer.Exit(0 if result.ok else EXIT_UNPLACED)


def render(name: str, result: PlacementResult) -> RenderableType:
    """The whole text report."""
    parts: list[RenderableType] = [_summary(name, result)]
    parts.extend(_environment_table(env, nodes) for env, nodes in _by_environment(result.nodes))
    if result.runners:
        parts.append(_runner_table(result.runners))
    parts.extend(_unplaced(result.unplaced))
    parts.append(_resilience(result))
    return Group(*parts)


def _summary(name: str, result: PlacementResult) -> Text:
    total = len(result.assignments) + len(result.unplaced)
    style = "bold green" if result.ok else "bold red"
    return Text(f"{name}: {len(result.assignments)} of {total} replicas placed", style=style)


def _by_environment(nodes: Sequence[NodeUsage]) -> list[tuple[str, list[NodeUsage]]]:
    grouped: dict[str, list[NodeUsage]] = {}
    for node in nodes:
        grouped.setdefault(node.environment, []).append(node)
    return list(grouped.items())


def bar(used: int, overhead: int, total: int, width: int = BAR_WIDTH) -> Text:
    """``███▒▒░░░░░``: requested, then the unseen server overhead, then what is free."""
    if total <= 0:
        return Text("—")
    full = min(width, round(width * used / total))
    extra = min(width - full, round(width * overhead / total))
    share = (used + overhead) / total
    style = "green" if share < 0.7 else "yellow" if share < 0.9 else "red"
    return Text("█" * full + "▒" * extra + "░" * (width - full - extra), style=style)


def _gauge(used: int, overhead: int, total: int, show: Callable[[int], str]) -> Text:
    if total <= 0:
        return Text("—")
    return bar(used, overhead, total) + Text(f" {show(used)}/{show(total)}")


def _environment_table(env: str, nodes: Sequence[NodeUsage]) -> Group:
    docker = nodes[0].kind.value == "docker"
    table = Table(title=f"{env} ({nodes[0].kind.value})", title_justify="left", box=SIMPLE_HEAD)
    columns = ["node", "cpu", "memory", *([] if docker else ["pods"]), "storage"]
    for column in [*columns, *(["gpu memory"] if docker else [])]:
        table.add_column(column, no_wrap=True)
    for node in nodes:
        table.add_row(*_node_row(node, docker))
    if any(node.overhead_cpu or node.overhead_memory for node in nodes):
        table.caption = "▒ k3s server overhead: the scheduler does not see it"
        table.caption_justify = "left"
    return Group(table, _workload_lines(nodes))


def _node_row(node: NodeUsage, docker: bool) -> list[RenderableType]:
    row: list[RenderableType] = [
        Text(f"{node.name} ({node.role})" if not docker else node.name),
        _gauge(node.cpu.requested, node.overhead_cpu, node.cpu.allocatable, human_cpu),
        _gauge(node.memory.requested, node.overhead_memory, node.memory.allocatable, human_memory),
    ]
    if not docker:
        row.append(Text(f"{node.pods.requested}/{node.pods.allocatable}"))
    storage = node.storage
    row.append(Text(f"{human_memory(storage.requested)}/{human_memory(storage.allocatable)}"))
    if docker:
        row.append(_gpu_cell(node))
    return row


def _workload_lines(nodes: Sequence[NodeUsage]) -> Text:
    text = Text()
    for node in nodes:
        text.append(f"  {node.name}: ", style="bold")
        text.append((", ".join(node.workloads) or "—") + "\n")
    return text


def _gpu_cell(node: NodeUsage) -> Text:
    if not node.gpus:
        return Text("—")
    lines = [_gauge(g.requested, 0, g.allocatable, human_memory) for g in node.gpus]
    return Text("\n").join(lines)


def _runner_table(runners: Iterable[RunnerUsage]) -> Table:
    table = Table(title="runners (gitea)", title_justify="left", box=SIMPLE_HEAD)
    for column in ("runner", "host", "labels", "jobs/capacity"):
        table.add_column(column, no_wrap=True)
    table.add_column("jobs", overflow="fold", ratio=1)
    for r in runners:
        load = f"{len(r.jobs)}/{r.capacity}"
        table.add_row(r.name, r.node, ", ".join(r.labels), load, ", ".join(r.jobs) or "—")
    return table


def _unplaced(unplaced: Sequence[Unplaced]) -> list[RenderableType]:
    if not unplaced:
        return []
    parts: list[RenderableType] = [Text(f"\nNot placed ({len(unplaced)})", style="bold red")]
    parts.extend(_explanation(item) for item in unplaced)
    return parts


def _explanation(item: Unplaced) -> Text:
    where = item.environment or "no environment"
    text = Text(f"{item.workload}/{item.replica} → {where}", style="bold")
    if item.unresolvable:
        text.append("  (unresolvable: no node could hold it even empty)", style="red")
    text.append(f"\n  {item.kubernetes}")
    for detail in (f.detail for f in item.failures):
        text.append(f"\n    {detail}", style="dim")
    if item.suggestion:
        text.append(f"\n  hint: {item.suggestion}", style="cyan")
    return text


def _resilience(result: PlacementResult) -> Text:
    text = Text("\nIf a node dies", style="bold")
    for node, lost in result.resilience.items():
        if not lost:
            text.append(f"\n  {node}: everything is rescheduled", style="green")
            continue
        reasons = result.resilience_reasons.get(node, {})
        text.append(f"\n  {node}: ", style="yellow")
        text.append(", ".join(lost))
        for workload in lost:
            text.append(f"\n    {workload}: {reasons.get(workload, '')}", style="dim")
    return text
