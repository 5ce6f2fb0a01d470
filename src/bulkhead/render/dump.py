"""The one YAML dumper of render: stable key order, no aliases, no surprise booleans.

Every rendered YAML file goes through :func:`dump_documents`. Keys keep the order in which the
renderers build them (Kubernetes convention: ``apiVersion``, ``kind``, ``metadata``, ``spec``), so
the same input always gives the same bytes. Strings that some YAML reader would take for
something else are quoted: the YAML 1.1 booleans (``on``, ``off``, ``yes``, ``no``, ``y``,
``n``, ...) that Go's yaml.v2 still honours, null words, and YAML 1.2 numbers such as ``1e3``
that PyYAML would leave bare. Multi-line strings (workflow scripts) use the literal block style.
Dicts shared between two places are written twice, never as ``&anchor`` / ``*alias``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import yaml

_Base: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

_WORDS = frozenset(
    variant
    for word in ("y", "yes", "n", "no", "on", "off", "true", "false", "null")
    for variant in (word, word.capitalize(), word.upper())
) | {"~", ""}
_NUMBER = re.compile(
    r"^[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?$"
    r"|^0o[0-7]+$|^0x[0-9a-fA-F]+$|^[-+]?\.(inf|Inf|INF)$|^\.(nan|NaN|NAN)$"
)


class _Dumper(_Base):  # type: ignore[misc, valid-type]
    """SafeDumper that never emits anchors."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def needs_quotes(text: str) -> bool:
    """True when a YAML 1.1 or 1.2 reader would not read ``text`` back as that string."""
    return text in _WORDS or bool(_NUMBER.match(text))


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "'" if needs_quotes(text) else ("|" if "\n" in text else None)
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _represent_str)
_OPTIONS: dict[str, Any] = {
    "Dumper": _Dumper,
    "sort_keys": False,
    "default_flow_style": False,
    "allow_unicode": True,
    "width": 1 << 30,
}


def dump_document(document: Any) -> str:
    """One YAML document, without a leading ``---``."""
    text: str = yaml.dump(document, **_OPTIONS)
    return text


def dump_documents(documents: Iterable[Any], header: str = "") -> str:
    """Several documents, each opened by ``---``, after an optional comment header."""
    body: str = yaml.dump_all(documents, explicit_start=True, **_OPTIONS)
    return header + body


def comment(*lines: str) -> str:
    """A YAML (and shell) comment block, one ``# `` line per line."""
    return "".join(f"# {line}".rstrip() + "\n" for line in lines)
