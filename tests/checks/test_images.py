"""Image references parsed as registries and runtimes read them."""

from __future__ import annotations

import pytest

from bulkhead.checks.images import ImageError, parse_image

SHA = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("text", "domain", "path", "tag", "digest", "floating"),
    [
        ("postgres", None, "postgres", None, None, True),
        ("postgres:16.4", None, "postgres", "16.4", None, False),
        ("postgres:latest", None, "postgres", "latest", None, True),
        ("registry:5000/app", "registry:5000", "app", None, None, True),
        ("registry:5000/app:1.2", "registry:5000", "app", "1.2", None, False),
        ("localhost/app", "localhost", "app", None, None, True),
        ("ollama/ollama:0.5.4", None, "ollama/ollama", "0.5.4", None, False),
        ("git.lab.home/me/api:1.4.2", "git.lab.home", "me/api", "1.4.2", None, False),
        (f"app@{SHA}", None, "app", None, SHA, False),
        (f"app:latest@{SHA}", None, "app", "latest", SHA, False),
        ("[::1]:5000/app:v1", "[::1]:5000", "app", "v1", None, False),
        ("Registry/app:1", "Registry", "app", "1", None, False),
    ],
)
def test_parts(
    text: str, domain: str | None, path: str, tag: str | None, digest: str | None, floating: bool
) -> None:
    ref = parse_image(text)
    assert (ref.domain, ref.path, ref.tag, ref.digest) == (domain, path, tag, digest)
    assert ref.floating is floating


@pytest.mark.parametrize(
    ("text", "part"),
    [
        ("git.lab.home/Me/api:1", "path component 'Me'"),
        ("app:", "tag ''"),
        ("app:-bad", "tag '-bad'"),
        ("app@sha256:abc", "digest 'sha256:abc'"),
        ("a//b", "path component ''"),
        ("reg_istry.lab:5000/app", "registry 'reg_istry.lab:5000'"),
    ],
)
def test_invalid_references_name_the_bad_part(text: str, part: str) -> None:
    with pytest.raises(ImageError, match=part.replace("[", r"\[")):
        parse_image(text)
