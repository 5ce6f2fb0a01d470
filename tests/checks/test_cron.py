"""Cron schedules as Kubernetes CronJobs and Gitea read them."""

from __future__ import annotations

import pytest

from bulkhead.checks.cron import cron_problem


@pytest.mark.parametrize(
    "schedule",
    ["0 3 * * *", "*/15 * * * *", "0 3 * * mon-fri", "0 0 1 jan,jul *", "@daily", "0 0 ? * sun"],
)
def test_valid(schedule: str) -> None:
    assert cron_problem(schedule) is None


@pytest.mark.parametrize(
    ("schedule", "problem"),
    [
        ("0 3 * *", "4 fields"),
        ("61 * * * *", "outside 0-59"),
        ("0 24 * * *", "outside 0-23"),
        ("0 0 0 * *", "outside 1-31"),
        ("0 0 * * 7", "outside 0-6"),
        ("0 3 5-1 * *", "runs backwards"),
        ("*/0 * * * *", "step '0'"),
        ("0 3 * foo *", "not a number or name"),
        ("@every 5m", "unknown macro"),
        ("TZ=UTC 0 3 * * *", "time zone"),
    ],
)
def test_invalid_says_why(schedule: str, problem: str) -> None:
    found = cron_problem(schedule)
    assert found is not None
    assert problem in found
