"""Mutated specs never crash the loader: a valid Homelab or a SpecError with located problems."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bulkhead.errors import Problem, SpecError
from bulkhead.spec import Homelab, load_spec
from tests.support.cli import run_cli

EXAMPLE = (Path(__file__).resolve().parents[2] / "examples" / "homelab.yaml").read_bytes()
JUNK = [
    b"\t",
    b":",
    b"-",
    b"{",
    b"}",
    b"[",
    b"]",
    b"&a",
    b"*a",
    b"<<: *a",
    b"\xff",
    b"\xc3",
    b"'",
    b'"',
    b"#",
    b"\n",
    b"  ",
    b"-1",
    b"5Gigs",
    b"null",
    b"~",
    b"!!binary",
    b"%",
    b"!foo ",
    b"2027-13-45",
    b"!!int ",
]

mutation = st.tuples(
    st.sampled_from(["insert", "delete", "replace", "dup-line", "drop-line"]),
    st.floats(min_value=0, max_value=1, allow_nan=False),
    st.sampled_from(JUNK),
    st.integers(min_value=1, max_value=12),
)


def mutate(data: bytes, ops: list[tuple[str, float, bytes, int]]) -> bytes:
    for op, where, junk, width in ops:
        at = int(where * len(data))
        if op == "insert":
            data = data[:at] + junk + data[at:]
        elif op == "delete":
            data = data[:at] + data[at + width :]
        elif op == "replace":
            data = data[:at] + junk + data[at + len(junk) :]
        else:
            lines = data.split(b"\n")
            i = int(where * (len(lines) - 1))
            lines[i : i + 1] = [lines[i], lines[i]] if op == "dup-line" else []
            data = b"\n".join(lines)
    return data


def load_problems(path: Path) -> list[Problem]:
    try:
        assert isinstance(load_spec(path), Homelab)
    except SpecError as error:
        problems = list(error.problems)
    else:
        return []
    assert problems
    return problems


def check_located(path: Path, data: bytes) -> None:
    line_count = data.count(b"\n") + 2
    for problem in load_problems(path):
        assert problem.location is not None
        assert problem.location.file == str(path)
        assert 1 <= problem.location.line <= line_count
        assert problem.location.column >= 1
        assert problem.message


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutation, min_size=1, max_size=4))
def test_mutated_specs_give_located_errors(ops: list[tuple[str, float, bytes, int]]) -> None:
    data = mutate(EXAMPLE, ops)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "homelab.yaml"
        path.write_bytes(data)
        check_located(path, data)


@settings(max_examples=8, deadline=None)
@given(st.lists(mutation, min_size=2, max_size=4))
def test_cli_never_shows_a_traceback(ops: list[tuple[str, float, bytes, int]]) -> None:
    data = mutate(EXAMPLE, ops)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "homelab.yaml"
        path.write_bytes(data)
        result = run_cli("validate", str(path))
    assert "Traceback" not in result.stderr + result.stdout
    assert result.returncode in (0, 3)
    if result.returncode == 3:
        assert result.stderr.startswith(f"{path}:")
