"""``plan(spec)``: the whole placement answer, pure and deterministic.

Layout (environments, nodes, pods) → simulation per environment → explanations for whatever is
left over, each with a verified remedy when one exists → headroom per node → what-if per node.
Remedies are searched for the first :data:`MAX_REMEDIES` stranded workloads only, and their
verifications share one budget (:class:`.repair.Budget`), which keeps a plan of thousands of
workloads fast when many do not fit.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from bulkhead.placement import repair, whatif
from bulkhead.placement.ci import usage
from bulkhead.placement.environments import Target
from bulkhead.placement.headroom import node_usage
from bulkhead.placement.layout import Layout, layout_of
from bulkhead.placement.model import Cluster, PodSpec
from bulkhead.placement.result import Assignment, NodeUsage, PlacementResult, Unplaced
from bulkhead.placement.simulate import Placed, assignments, explanations, place
from bulkhead.spec.models import Homelab

MAX_REMEDIES = 5


def plan(spec: Homelab) -> PlacementResult:
    """Place every workload of ``spec``: where each replica runs, or why it cannot."""
    layout = layout_of(spec)
    placed = place(layout)
    found = assignments(layout, placed)
    report = whatif.resilience(layout, placed)
    return PlacementResult(
        assignments=found,
        unplaced=tuple(_with_remedies(layout, placed, explanations(layout, placed))),
        nodes=tuple(_usages(placed)),
        resilience=whatif.as_lists(report),
        environments=_environments(layout, found),
        runners=usage(layout.runners, placed.ci_placed),
        resilience_reasons=report,
    )


def _usages(placed: Placed) -> Iterator[NodeUsage]:
    for _, _, outcome in placed.outcomes():
        yield from (node_usage(state) for state in outcome.cluster.values())


def _environments(layout: Layout, found: tuple[Assignment, ...]) -> dict[str, str]:
    """workload → where it runs; where it was meant to run when nothing of it is placed."""
    where = {a.workload: a.environment for a in reversed(found)}
    for name, chosen in layout.targets.items():
        meant = chosen.environments[0] if isinstance(chosen, Target) else chosen.environment
        if name not in where and meant is not None:
            where[name] = meant
    return {name: where[name] for name in layout.spec.workloads if name in where}


def _with_remedies(layout: Layout, placed: Placed, unplaced: list[Unplaced]) -> Iterator[Unplaced]:
    tried: set[str] = set()
    budget = repair.Budget()
    for item in unplaced:
        if item.unresolvable or item.workload in tried or len(tried) >= MAX_REMEDIES:
            yield item
            continue
        tried.add(item.workload)
        yield replace(item, suggestion=_remedy(layout, placed, item, budget))


def _remedy(layout: Layout, placed: Placed, item: Unplaced, budget: repair.Budget) -> str | None:
    key = f"{item.workload}/{item.replica}"
    for profile, env, outcome in placed.outcomes():
        pod = next((p for p in outcome.pending if p.key == key), None)
        if pod is not None:
            pods, start = _inputs(layout, env)
            case = repair.Case(pods, start, outcome, pod, profile, budget, layout.cache)
            return repair.suggest(case)
    return None


def _inputs(layout: Layout, env: str | None) -> tuple[tuple[PodSpec, ...], Cluster]:
    if env is None:
        return layout.docker_pods, layout.machines
    return layout.cluster_pods.get(env, ()), layout.clusters[env]
