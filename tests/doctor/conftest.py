"""Fixtures of the doctor tests: the same real podman engine the apply tests use."""

from __future__ import annotations

from tests.apply.conftest import podman

__all__ = ["podman"]
