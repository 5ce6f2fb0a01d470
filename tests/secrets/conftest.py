"""Fixtures of the secrets tests: the same real podman engine the apply tests use."""

from __future__ import annotations

from tests.apply.conftest import podman

__all__ = ["podman"]
