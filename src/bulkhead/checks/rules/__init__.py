"""The rules, one module per family; each module ends with its ``RULES`` tuple of rows.

:mod:`bulkhead.checks.registry` joins those tuples into the one table. Nothing registers itself
on import.
"""
