"""Placement: right workload, right environment, right node — with explanations.

Public surface: :func:`plan` (spec → :class:`PlacementResult`) and the result types.
"""

from bulkhead.placement.result import (
    Assignment,
    Capacity,
    EnvKind,
    NodeFailure,
    NodeUsage,
    PlacementResult,
    Unplaced,
)

__all__ = [
    "Assignment",
    "Capacity",
    "EnvKind",
    "NodeFailure",
    "NodeUsage",
    "PlacementResult",
    "Unplaced",
]
