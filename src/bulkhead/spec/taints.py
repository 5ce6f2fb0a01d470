"""Taints (``key=value:Effect``) and tolerations, with Kubernetes matching semantics."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
_KEY = r"[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?"
_VALUE = r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"


@dataclass(frozen=True, order=True)
class Taint:
    """A node taint: pods without a matching toleration are repelled (by effect)."""

    key: str
    value: str
    effect: str

    PATTERN: ClassVar[str] = rf"^{_KEY}(={_VALUE})?:({'|'.join(EFFECTS)})$"

    @classmethod
    def parse(cls, raw: object) -> Taint:
        """Parse ``key=value:Effect`` or ``key:Effect``."""
        if isinstance(raw, Taint):
            return raw
        if not isinstance(raw, str) or not re.match(cls.PATTERN, raw):
            raise ValueError(
                f"{raw!r} is not a taint; write key=value:Effect with Effect one of "
                + ", ".join(EFFECTS)
            )
        head, effect = raw.rsplit(":", 1)
        key, _, value = head.partition("=")
        return cls(key, value, effect)

    def __str__(self) -> str:
        return (
            f"{self.key}={self.value}:{self.effect}" if self.value else f"{self.key}:{self.effect}"
        )


@dataclass(frozen=True, order=True)
class Toleration:
    """A pod toleration. Empty effect tolerates every effect; ``exists`` ignores the value."""

    key: str
    value: str
    effect: str
    exists: bool

    PATTERN: ClassVar[str] = rf"^{_KEY}(={_VALUE})?(:({'|'.join(EFFECTS)}))?$"

    @classmethod
    def parse(cls, raw: object) -> Toleration:
        """Parse ``key=value:Effect``, ``key:Effect``, ``key=value`` or ``key``."""
        if isinstance(raw, Toleration):
            return raw
        if not isinstance(raw, str) or not re.match(cls.PATTERN, raw):
            raise ValueError(
                f"{raw!r} is not a toleration; write key=value:Effect, key:Effect, key=value or key"
            )
        head, effect = raw.rsplit(":", 1) if ":" in raw else (raw, "")
        key, eq, value = head.partition("=")
        return cls(key, value, effect, exists=not eq)

    def tolerates(self, taint: Taint) -> bool:
        """Kubernetes ToleratesTaint: key, effect (empty = all) and value unless Exists."""
        if self.key != taint.key:
            return False
        if self.effect and self.effect != taint.effect:
            return False
        return self.exists or self.value == taint.value

    def __str__(self) -> str:
        head = self.key if self.exists else f"{self.key}={self.value}"
        return f"{head}:{self.effect}" if self.effect else head
