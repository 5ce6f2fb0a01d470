"""The doctor: read the live layers (or a snapshot of them) and say where to look first.

Public surface: :func:`diagnose` (spec + :class:`Inputs` → :class:`Report`),
:func:`read_snapshot`, the live readers in :mod:`bulkhead.doctor.live`, the rule table
:data:`RULES`, and the text/JSON renderings in :mod:`bulkhead.doctor.output`. The doctor talks
to the cluster and the Docker engine only through the adapters the apply layer builds, handed
in by the ``doctor`` command, so there is one client per live system.
"""

from bulkhead.doctor.inputs import Containers, ContainerView, Drift, Inputs, Readiness, Unread
from bulkhead.doctor.model import Diagnosis, Layer, LayerReport, Report, Rule, Severity, State
from bulkhead.doctor.report import diagnose
from bulkhead.doctor.rules import RULES
from bulkhead.doctor.snapshot import read_snapshot

__all__ = [
    "RULES",
    "ContainerView",
    "Containers",
    "Diagnosis",
    "Drift",
    "Inputs",
    "Layer",
    "LayerReport",
    "Readiness",
    "Report",
    "Rule",
    "Severity",
    "State",
    "Unread",
    "diagnose",
    "read_snapshot",
]
