"""IMG: images. References parse, name a fixed version rather than ``latest``, and a digest
pin is suggested (never demanded)."""

from __future__ import annotations

from collections.abc import Iterator

from bulkhead.checks import facts
from bulkhead.checks.images import ImageError, ImageRef, parse_image
from bulkhead.checks.model import Hit, Rule
from bulkhead.placement.result import PlacementResult
from bulkhead.spec.models import Homelab, Severity


def _images(spec: Homelab) -> Iterator[tuple[str, str, ImageRef | ImageError]]:
    for name, workload in facts.workloads(spec):
        if workload.image is None:
            continue
        try:
            yield name, workload.image, parse_image(workload.image)
        except ImageError as exc:
            yield name, workload.image, exc


def tag_not_latest(spec: Homelab, placement: PlacementResult) -> Iterator[Hit]:
    """An image names a tag other than latest (or a digest)."""
    for name, image, ref in _images(spec):
        if isinstance(ref, ImageRef) and ref.floating:
            why = "has no tag, which means latest" if ref.tag is None else "uses the latest tag"
            yield Hit(facts.at(spec, name, "image"), f"{name}'s image {image} {why}", name)


def digest_pinned(spec: Homelab, placement: PlacementResult) -> Iterator[Hit]:
    """A tagged image could also be pinned by digest."""
    for name, image, ref in _images(spec):
        if isinstance(ref, ImageRef) and not ref.floating and ref.digest is None:
            message = f"{name}'s image {image} is not pinned by digest (good practice, optional)"
            yield Hit(facts.at(spec, name, "image"), message, name)


def valid_reference(spec: Homelab, placement: PlacementResult) -> Iterator[Hit]:
    """An image reference parses."""
    for name, image, ref in _images(spec):
        if isinstance(ref, ImageError):
            message = f"{name}'s image {image!r} is not a valid reference: {ref}"
            yield Hit(facts.at(spec, name, "image"), message, name)


RULES = (
    Rule(
        id="BH-IMG-001",
        title="Images name a version, not latest",
        severity=Severity.error,
        summary=(
            "Reports an image with no tag or the tag latest, unless it is pinned by digest. An "
            "untagged registry:5000/app is latest: the colon belongs to the registry."
        ),
        rationale=(
            "latest moves. Replicas on different Pis run different builds, a restart silently "
            "upgrades, a rollback has nothing to roll back to, and with IfNotPresent a node keeps "
            "whatever it pulled first."
        ),
        example="workloads:\n  api:\n    image: registry.lab.home:5000/me/api   # no tag",
        fix="Tag every build (git.lab.home/me/api:1.4.2, or the commit SHA) and deploy that tag.",
        check=tag_not_latest,
    ),
    Rule(
        id="BH-IMG-002",
        title="Images may be pinned by digest",
        severity=Severity.info,
        summary="Suggests a digest for a tagged image that has none; a digest is never required.",
        rationale=(
            "A tag can be pushed again; a digest cannot. Pinning (image:1.4.2@sha256:...) makes "
            "every node run byte-identical content and needs no pullPolicy: Always."
        ),
        example="workloads:\n  api:\n    image: git.lab.home/me/api:1.4.2",
        fix=(
            "Optional: append the digest (docker buildx imagetools inspect IMAGE), or turn this "
            "rule off with policy: {severity: {BH-IMG-002: off}}."
        ),
        check=digest_pinned,
    ),
    Rule(
        id="BH-IMG-003",
        title="Image references are valid",
        severity=Severity.error,
        summary="Reports an image that is not a valid reference (path, tag or digest malformed).",
        rationale=(
            "An invalid reference fails at pull time on the node (InvalidImageName), after the "
            "deploy has already replaced the working version."
        ),
        example="workloads:\n  api:\n    image: git.lab.home/Me/API:1.0   # uppercase path",
        fix="Use lowercase paths, a tag of letters, digits, '_', '.', '-', and sha256:<64 hex>.",
        check=valid_reference,
    ),
)
