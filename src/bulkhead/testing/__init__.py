"""Test doubles bulkhead ships for its own suite and for users' contract tests.

Only :mod:`bulkhead.testing.fakekube` lives here: an in-process fake Kubernetes API server,
because no real API server can run on the machines the suite runs on. Everything else bulkhead
talks to in tests is real (podman for Docker, a real gateway process).
"""
