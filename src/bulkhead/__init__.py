"""bulkhead: right workload, right environment.

The public surface is small: the CLI (``bulkhead``), the spec loader
(:func:`bulkhead.spec.load_spec`), the planner (:func:`bulkhead.placement.plan`), the checks
(:func:`bulkhead.checks.run_checks`) and the renderers. Everything else is private detail.
"""

__version__ = "0.1.0"
