"""Checks: the separation rules as one registry table, run over a spec and its placement.

Public surface: :func:`run_checks` (spec, placement → :class:`CheckReport`), the table
:data:`RULES` and :func:`rule` to look one up, and the values :class:`Rule`,
:class:`Finding`, :class:`Waived`. Output formats live in :mod:`bulkhead.checks.output` and
:mod:`bulkhead.checks.sarif`, the generated docs in :mod:`bulkhead.checks.docs`.
"""

from bulkhead.checks.engine import run_checks
from bulkhead.checks.model import CheckReport, Finding, Hit, Rule, Waived
from bulkhead.checks.registry import RULES, rule

__all__ = ["RULES", "CheckReport", "Finding", "Hit", "Rule", "Waived", "rule", "run_checks"]
