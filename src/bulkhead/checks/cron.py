"""Cron schedules as Kubernetes CronJobs and Gitea Actions read them: five fields or a macro.

Kubernetes validates a CronJob's schedule only when the object reaches the API server, and Gitea
drops a workflow with a bad ``schedule`` silently; bulkhead checks them while the file is open.
Fields: minute 0-59, hour 0-23, day of month 1-31, month 1-12 or jan-dec, day of week 0-6 or
sun-sat (``7`` is not accepted by the Go cron parser both use). Each field is a comma list of
``*``, ``N``, ``N-M``, each optionally ``/step``; ``?`` stands for ``*`` in the day fields.
"""

from __future__ import annotations

MACROS = frozenset(
    {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 6, _DAYS),
)


def cron_problem(schedule: str) -> str | None:
    """Why ``schedule`` is not a valid cron expression, or None when it is."""
    text = schedule.strip()
    if text.startswith(("TZ=", "CRON_TZ=")):
        return "a time zone prefix is not allowed in the schedule; Kubernetes has spec.timeZone"
    if text.startswith("@"):
        return None if text in MACROS else f"unknown macro {text!r}; use one of {sorted(MACROS)}"
    fields = text.split()
    if len(fields) != len(_FIELDS):
        return f"{len(fields)} fields; a schedule has 5 (minute hour day-of-month month weekday)"
    for value, spec in zip(fields, _FIELDS, strict=True):
        problem = _field_problem(value, *spec)
        if problem:
            return problem
    return None


def _field_problem(
    value: str, name: str, low: int, high: int, names: tuple[str, ...]
) -> str | None:
    if value == "?" and name.startswith("day"):
        return None
    for item in value.split(","):
        problem = _item_problem(item, low, high, names)
        if problem:
            return f"{name} {value!r}: {problem}"
    return None


def _item_problem(item: str, low: int, high: int, names: tuple[str, ...]) -> str | None:
    body, slash, step = item.partition("/")
    if slash and not (step.isdigit() and int(step) > 0):
        return f"step {step!r} must be a positive number"
    if body == "*":
        return None
    start, dash, end = body.partition("-")
    bounds = [_number(part, low, names) for part in ((start, end) if dash else (start,))]
    if any(b is None for b in bounds):
        return f"{body!r} is not a number or name"
    numbers = [b for b in bounds if b is not None]
    if any(not low <= n <= high for n in numbers):
        return f"{body!r} is outside {low}-{high}"
    if dash and numbers[0] > numbers[1]:
        return f"range {body!r} runs backwards"
    return None


def _number(text: str, low: int, names: tuple[str, ...]) -> int | None:
    if text.isdigit():
        return int(text)
    lowered = text.lower()
    return names.index(lowered) + low if lowered in names else None
