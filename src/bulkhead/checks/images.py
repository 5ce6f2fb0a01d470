"""Container image references parsed as the distribution spec defines them.

``[domain[:port]/]path[:tag][@algorithm:hex]``. The first path component is a registry domain
only when it holds a ``.``, a ``:`` or an uppercase letter, or is ``localhost``: the colon of
``registry:5000/app`` belongs to the registry and that image has no tag (which means ``latest``).
A digest pins the content whatever the tag says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_DOMAIN = re.compile(
    r"^(?:localhost|\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*)(?::[0-9]+)?$"
)
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$")
_SHA256 = re.compile(r"^sha256:[a-f0-9]{64}$")


class ImageError(ValueError):
    """A string is not a valid image reference; the message says which part is wrong."""


@dataclass(frozen=True)
class ImageRef:
    """The parts of an image reference."""

    domain: str | None
    path: str
    tag: str | None
    digest: str | None

    @property
    def effective_tag(self) -> str:
        """The tag a pull resolves when there is no digest: ``latest`` when none is written."""
        return self.tag or "latest"

    @property
    def floating(self) -> bool:
        """True when the reference can point at different content over time (``latest``)."""
        return self.digest is None and self.effective_tag == "latest"


def parse_image(text: str) -> ImageRef:
    """Parse an image reference, or raise :class:`ImageError` naming the bad part."""
    name, _, digest = text.partition("@")
    if digest and not _valid_digest(digest):
        raise ImageError(f"digest {digest!r} is not algorithm:hex (sha256 takes 64 hex digits)")
    slash = name.rfind("/")
    last = name[slash + 1 :]
    repo_end, colon, tag = last.rpartition(":") if ":" in last else (last, "", "")
    if colon and not _TAG.match(tag):
        raise ImageError(f"tag {tag!r} must be letters, digits, '_', '.', '-' (at most 128)")
    domain, path = _split_domain(name[: slash + 1] + repo_end)
    return ImageRef(domain, path, tag if colon else None, digest or None)


def _valid_digest(digest: str) -> bool:
    if digest.startswith("sha256:"):
        return bool(_SHA256.match(digest))
    return bool(_DIGEST.match(digest))


def _split_domain(name: str) -> tuple[str | None, str]:
    if len(name) > 255:
        raise ImageError("the name is longer than 255 characters")
    first, slash, rest = name.partition("/")
    marked = any(c in first for c in ".:") or first == "localhost" or first != first.lower()
    has_domain = bool(slash) and marked
    domain, path = (first, rest) if has_domain else (None, name)
    if domain is not None and not _DOMAIN.match(domain):
        raise ImageError(f"registry {domain!r} is not a host name with an optional :port")
    for component in path.split("/"):
        if not _COMPONENT.match(component):
            raise ImageError(
                f"path component {component!r} must be lowercase letters and digits, "
                "separated by '.', '_', '__' or '-'"
            )
    return domain, path
