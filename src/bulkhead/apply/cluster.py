"""Diff, apply and prune for a k3s environment, over the cluster adapter.

:func:`plan_cluster` asks the server what every rendered object would become (server-side
dry-run) and compares that with the live object, so defaults the server adds never show as
changes; it also lists what prune would delete. :func:`apply_cluster` refuses every conflict
up front (all of them, before anything changes) unless forced, then applies in kind order and
prunes in reverse order. Prune deletes only objects that carry both inventory labels and are no
longer rendered; namespaces and volume claims are never deleted, only reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from bulkhead.apply.kube import FieldConflict, FieldConflicts, Target
from bulkhead.apply.objects import (
    KEPT_KINDS,
    KINDS,
    ObjectRef,
    apply_order,
    delete_order,
    in_inventory,
    inventory_labels,
    unified_diff,
    with_inventory,
)
from bulkhead.apply.rollout import Reader
from bulkhead.errors import ApplyError, ConflictError


class Action(StrEnum):
    """What apply does (or would do) to one object."""

    create = "create"
    update = "update"
    unchanged = "unchanged"
    prune = "prune"
    conflict = "conflict"
    orphan = "orphan"  # no longer rendered, but a kind bulkhead never deletes


class Cluster(Reader, Protocol):
    """The verbs planning and applying need (implemented by :class:`~.kube.KubeCluster`)."""

    target: Target

    def apply(self, obj: Mapping[str, Any], *, dry_run: bool, force: bool) -> dict[str, Any]: ...

    def delete(self, ref: ObjectRef, *, dry_run: bool) -> None: ...

    def serves(self, api_version: str, kind: str) -> bool: ...


@dataclass(frozen=True)
class Change:
    """One object's fate, with the unified diff of live vs desired."""

    ref: ObjectRef
    action: Action
    diff: str = ""
    conflicts: tuple[FieldConflict, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class ClusterPlan:
    """Every change apply would make to one cluster, in apply order, then prune order."""

    target: Target
    changes: tuple[Change, ...]
    desired: tuple[dict[str, Any], ...] = field(repr=False, default=())

    @property
    def changed(self) -> bool:
        """Whether applying would change anything (conflicts count)."""
        return any(c.action not in (Action.unchanged, Action.orphan) for c in self.changes)

    def having(self, *actions: Action) -> tuple[Change, ...]:
        """The changes of some actions."""
        return tuple(c for c in self.changes if c.action in actions)


class ConflictReport(ConflictError):
    """Every conflict of a plan, refused before anything was changed."""

    def __init__(self, changes: Sequence[Change]) -> None:
        self.changes = tuple(changes)
        lines = [
            f"{c.ref}: {f.field} is owned by {f.manager!r}" for c in changes for f in c.conflicts
        ]
        fix = (
            "nothing was changed. Take the fields over with --force-conflicts, or stop the "
            "other manager from setting them"
        )
        super().__init__("conflicts with other field managers:\n  " + "\n  ".join([*lines, fix]))


def plan_cluster(
    cluster: Cluster,
    objects: Iterable[Mapping[str, Any]],
    homelab: str,
    *,
    prune: bool = True,
    force: bool = False,
) -> ClusterPlan:
    """What applying ``objects`` would change: a server-side dry-run of each, plus prune."""
    desired = _desired(objects, homelab)
    new_namespaces: set[str] = set()
    changes = [_plan_one(cluster, obj, force, new_namespaces) for obj in desired]
    if prune:
        changes += _plan_prune(cluster, desired, homelab)
    return ClusterPlan(cluster.target, tuple(changes), tuple(desired))


def _desired(objects: Iterable[Mapping[str, Any]], homelab: str) -> list[dict[str, Any]]:
    ordered = apply_order(with_inventory(o, homelab) for o in objects)
    seen: set[ObjectRef] = set()
    for obj in ordered:
        ref = ObjectRef.of(obj)
        if ref in seen:
            raise ApplyError(f"the render holds {ref} twice")
        seen.add(ref)
    return ordered


def _plan_one(
    cluster: Cluster, obj: dict[str, Any], force: bool, new_namespaces: set[str]
) -> Change:
    """One object's change. In a namespace this apply creates, the server cannot dry-run it
    (the namespace does not exist yet), so it is a creation of exactly what was rendered."""
    ref = ObjectRef.of(obj)
    if ref.namespace in new_namespaces:
        note = f"namespace {ref.namespace} is created by this apply"
        return Change(ref, Action.create, unified_diff(ref, None, obj), note=note)
    live = cluster.get(ref)
    try:
        result = cluster.apply(obj, dry_run=True, force=force)
    except FieldConflicts as exc:
        return Change(ref, Action.conflict, conflicts=exc.conflicts)
    if live is None and ref.kind == "Namespace":
        new_namespaces.add(ref.name)
    diff = unified_diff(ref, live, result)
    action = Action.create if live is None else Action.update if diff else Action.unchanged
    return Change(ref, action, diff)


def _plan_prune(cluster: Cluster, desired: Sequence[dict[str, Any]], homelab: str) -> list[Change]:
    wanted = {ObjectRef.of(o) for o in desired}
    stale = [o for o in _inventory(cluster, desired, homelab) if ObjectRef.of(o) not in wanted]
    by_ref = {ObjectRef.of(o): o for o in stale}
    return [_prune_change(ref, by_ref[ref]) for ref in delete_order(by_ref)]


def _prune_change(ref: ObjectRef, live: dict[str, Any]) -> Change:
    if ref.kind in KEPT_KINDS:
        what = "the objects in it" if ref.kind == "Namespace" else "its data"
        note = (
            f"no longer rendered; bulkhead never deletes a {ref.kind} ({what}): delete it by hand"
        )
        return Change(ref, Action.orphan, note=note)
    return Change(ref, Action.prune, unified_diff(ref, live, None))


def _inventory(
    cluster: Cluster, desired: Sequence[dict[str, Any]], homelab: str
) -> list[dict[str, Any]]:
    """Every live object carrying this homelab's inventory labels, among the prunable kinds."""
    kinds = dict.fromkeys([*KINDS, *((o["apiVersion"], o["kind"]) for o in desired)])
    labels = inventory_labels(homelab)
    found = []
    for api_version, kind in kinds:
        if cluster.serves(api_version, kind):
            found += cluster.list(api_version, kind, labels=labels)
    return [o for o in found if in_inventory(o, homelab)]


def apply_cluster(
    cluster: Cluster,
    objects: Iterable[Mapping[str, Any]],
    homelab: str,
    *,
    prune: bool = False,
    force: bool = False,
    dry_run: bool = False,
) -> ClusterPlan:
    """Apply (or, with ``dry_run``, only plan) and prune; returns what was done."""
    plan = plan_cluster(cluster, objects, homelab, prune=prune, force=force)
    conflicts = plan.having(Action.conflict)
    if conflicts:
        raise ConflictReport(conflicts)
    if dry_run:
        return plan
    todo = {c.ref for c in plan.having(Action.create, Action.update)}
    for obj in plan.desired:
        if ObjectRef.of(obj) in todo:
            cluster.apply(obj, dry_run=False, force=force)
    for change in plan.having(Action.prune):
        cluster.delete(change.ref, dry_run=False)
    return plan
