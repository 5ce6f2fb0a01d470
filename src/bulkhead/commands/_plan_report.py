"""The text report of ``bulkhead plan``: tables with headroom bars, explanations, what-if.

Imported only when ``plan`` runs (rich tables and the placement layer are too heavy for
``bulkhead --help``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from rich.box import SIMPLE_HEAD
from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from bulkhead.placement import NodeUsage, PlacementResult, RunnerUsage, Unplaced
from bulkhead.spec.quantity import human_cpu, human_memory

BAR_WIDTH = 6


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


def _explanation(item: Unplaced) -> Group:
    title = Text(f"{item.workload}/{item.replica} → {item.environment or 'no environment'}")
    title.stylize("bold")
    if item.unresolvable:
        title.append("  (unresolvable: no node could hold it even empty)", style="red")
    lines: list[RenderableType] = [title, _indent(Text(item.kubernetes), 2)]
    lines.extend(_indent(Text(f.detail, style="dim"), 4) for f in item.failures)
    if item.suggestion:
        lines.append(_indent(Text(f"hint: {item.suggestion}", style="cyan"), 2))
    return Group(*lines)


def _indent(text: Text, width: int) -> Padding:
    return Padding(text, (0, 0, 0, width), expand=False)


def _resilience(result: PlacementResult) -> Group:
    lines: list[RenderableType] = [Text("\nIf a node dies", style="bold")]
    for node, lost in result.resilience.items():
        if not lost:
            lines.append(_indent(Text(f"{node}: everything is rescheduled", style="green"), 2))
            continue
        lines.append(_indent(Text(f"{node}: ", style="yellow") + Text(", ".join(lost)), 2))
        reasons = result.resilience_reasons.get(node, {})
        for workload in lost:
            why = Text(f"{workload}: {reasons.get(workload, '')}", style="dim")
            lines.append(_indent(why, 4))
    return Group(*lines)
