"""Placement: right workload, right environment, right node — with explanations.

Public surface: :func:`plan` (spec → :class:`PlacementResult`), the result types, and
:func:`as_document` / :func:`to_json` (the stable JSON form ``bulkhead plan --format json``
prints). Everything else is private: the K3s scheduler simulation (:mod:`.filters`,
:mod:`.scores`, :mod:`.scheduler`), Docker bin-packing (:mod:`.docker`), CI runners
(:mod:`.ci`), environment choice (:mod:`.environments`), what-if (:mod:`.whatif`) and the
repair search (:mod:`.repair`, :mod:`.exact`).
"""

from bulkhead.placement.document import as_document, to_json
from bulkhead.placement.planner import plan
from bulkhead.placement.result import (
    Assignment,
    Capacity,
    EnvKind,
    NodeFailure,
    NodeUsage,
    PlacementResult,
    RunnerUsage,
    Unplaced,
)

__all__ = [
    "Assignment",
    "Capacity",
    "EnvKind",
    "NodeFailure",
    "NodeUsage",
    "PlacementResult",
    "RunnerUsage",
    "Unplaced",
    "as_document",
    "plan",
    "to_json",
]
