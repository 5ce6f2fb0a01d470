"""The shared YAML dumper: order kept, surprising scalars quoted, no aliases, round trips."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from bulkhead.render.dump import comment, dump_document, dump_documents, needs_quotes

YAML_11_WORDS = [
    "on",
    "off",
    "yes",
    "no",
    "y",
    "n",
    "Y",
    "N",
    "On",
    "OFF",
    "true",
    "False",
    "null",
    "~",
]
YAML_12_NUMBERS = ["1e3", "1E-3", "0o17", "0x1F", ".inf", "-.Inf", ".nan", "1_000", "012", "3.14"]


@pytest.mark.parametrize("word", YAML_11_WORDS + YAML_12_NUMBERS + ["", "2024-01-01", "12:30"])
def test_ambiguous_scalars_are_quoted(word: str) -> None:
    text = dump_document({"key": word})
    assert text == f"key: '{word}'\n"
    assert yaml.safe_load(text) == {"key": word}


def test_on_as_a_key_stays_a_string() -> None:
    text = dump_document({"on": {"push": {}}})
    assert text.startswith("'on':")
    assert yaml.safe_load(text) == {"on": {"push": {}}}


@pytest.mark.parametrize(
    "word", ["bible-api", "nginx:1.27", "0 3 * * *", "10.0.0.1:80:80", "onion"]
)
def test_ordinary_strings_stay_plain(word: str) -> None:
    assert dump_document({"key": word}) == f"key: {word}\n"


def test_key_order_is_the_order_built() -> None:
    text = dump_document({"kind": "X", "apiVersion": "v1", "metadata": {"name": "a"}})
    assert [line.split(":")[0] for line in text.splitlines()] == [
        "kind",
        "apiVersion",
        "metadata",
        "  name",
    ]


def test_multi_line_strings_are_literal_blocks() -> None:
    assert dump_document({"run": "set -eu\necho hi\n"}) == "run: |\n  set -eu\n  echo hi\n"


def test_shared_objects_are_written_twice_never_aliased() -> None:
    shared = {"a": 1}
    text = dump_document({"x": shared, "y": shared})
    assert "&" not in text
    assert "*" not in text


def test_documents_and_header() -> None:
    text = dump_documents([{"a": 1}, {"b": 2}], comment("hello", ""))
    assert text == "# hello\n#\n---\na: 1\n---\nb: 2\n"
    assert list(yaml.safe_load_all(text)) == [{"a": 1}, {"b": 2}]


@given(st.text())
def test_any_string_round_trips(text: str) -> None:
    assert yaml.safe_load(dump_document({"value": text, text: 1})) == {"value": text, text: 1}


@given(st.from_regex(r"[-+.0-9a-zA-Z_:~]{1,8}", fullmatch=True))
def test_a_plain_scalar_that_yaml_reads_as_a_non_string_is_quoted(text: str) -> None:
    try:
        read = yaml.safe_load(f"key: {text}")
    except yaml.YAMLError:
        return
    if not isinstance(read["key"], str):
        assert needs_quotes(text) or f"'{text}'" in dump_document({"key": text})
