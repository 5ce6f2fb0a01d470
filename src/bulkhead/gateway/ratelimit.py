"""Per-token rate limits: requests per minute and tokens per minute, in separate windows.

Each limit is a sliding 60-second window of charges, bucketed to 100 ms so memory stays bounded
whatever the rate. Requests are counted when admitted; model tokens are charged with an
estimate when admitted and corrected to the exact count when the work is done, so the token
window never lags far behind reality. The windows live in this process: several gateway
processes would each enforce the full limit (run one per GPU machine, or move to a shared store).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

WINDOW_S = 60.0
_BUCKET_S = 0.1


class SlidingWindow:
    """Amounts charged within the last ``window_s`` seconds, against a limit."""

    def __init__(self, limit: int, window_s: float = WINDOW_S) -> None:
        self.limit = limit
        self.window_s = window_s
        self._charges: deque[list[float]] = deque()  # [time, amount]
        self._total = 0.0

    def _expire(self, now: float) -> None:
        horizon = now - self.window_s
        while self._charges and self._charges[0][0] <= horizon:
            self._total -= self._charges.popleft()[1]

    def used(self, now: float) -> float:
        """Amount charged in the window ending at ``now``."""
        self._expire(now)
        return self._total

    def remaining(self, now: float) -> int:
        """What may still be charged now."""
        return max(0, math.floor(self.limit - self.used(now)))

    def wait_for(self, now: float, amount: float) -> float:
        """Seconds until ``amount`` more fits (0 if it fits now)."""
        excess = self.used(now) + amount - self.limit
        if excess <= 0:
            return 0.0
        freed = 0.0
        for at, charged in self._charges:
            freed += charged
            if freed >= excess:
                return max(0.0, at + self.window_s - now)
        return self.window_s

    def reset_in(self, now: float) -> float:
        """Seconds until the oldest charge leaves the window (0 when empty)."""
        self._expire(now)
        return max(0.0, self._charges[0][0] + self.window_s - now) if self._charges else 0.0

    def charge(self, now: float, amount: float) -> None:
        """Record ``amount`` at ``now`` (negative amounts correct an earlier estimate)."""
        self._expire(now)
        if self._charges and now - self._charges[-1][0] < _BUCKET_S:
            self._charges[-1][1] += amount
        else:
            self._charges.append([now, amount])
        self._total += amount


@dataclass(frozen=True)
class Verdict:
    """The outcome of one admission check."""

    allowed: bool
    reason: str | None
    retry_after_s: float
    headers: dict[str, str]


@dataclass
class TokenLimits:
    """The two windows of one API token."""

    requests: SlidingWindow | None
    tokens: SlidingWindow | None

    def check(self, now: float, estimated_tokens: int) -> Verdict:
        """Admit one request costing about ``estimated_tokens``, charging it if allowed."""
        if self.requests is not None and (wait := self.requests.wait_for(now, 1)) > 0:
            return Verdict(False, "rate_limit_requests", wait, self.headers(now))
        if self.tokens is not None and self.tokens.used(now) >= self.tokens.limit:
            wait = self.tokens.wait_for(now, 1)
            return Verdict(False, "rate_limit_tokens", wait, self.headers(now))
        if self.requests is not None:
            self.requests.charge(now, 1)
        if self.tokens is not None:
            self.tokens.charge(now, estimated_tokens)
        return Verdict(True, None, 0.0, self.headers(now))

    def settle(self, now: float, estimated: int, actual: int) -> None:
        """Replace an admission-time estimate by the exact token count."""
        if self.tokens is not None and actual != estimated:
            self.tokens.charge(now, actual - estimated)

    def headers(self, now: float) -> dict[str, str]:
        """OpenAI's ``x-ratelimit-*`` headers for the limits this token has."""
        out: dict[str, str] = {}
        for kind, window in (("requests", self.requests), ("tokens", self.tokens)):
            if window is not None:
                out[f"x-ratelimit-limit-{kind}"] = str(window.limit)
                out[f"x-ratelimit-remaining-{kind}"] = str(window.remaining(now))
                out[f"x-ratelimit-reset-{kind}"] = f"{window.reset_in(now):.3f}s"
        return out


class RateLimiter:
    """The windows of every token seen, created on first use."""

    def __init__(self) -> None:
        self._limits: dict[str, TokenLimits] = {}

    def for_token(self, token_id: str, rpm: int | None, tpm: int | None) -> TokenLimits:
        """The windows of one token; rebuilt if its limits changed."""
        limits = self._limits.get(token_id)
        if limits is None or _limit(limits.requests) != rpm or _limit(limits.tokens) != tpm:
            limits = TokenLimits(
                requests=SlidingWindow(rpm) if rpm is not None else None,
                tokens=SlidingWindow(tpm) if tpm is not None else None,
            )
            self._limits[token_id] = limits
        return limits


def _limit(window: SlidingWindow | None) -> int | None:
    return window.limit if window is not None else None


def retry_after_header(seconds: float) -> str:
    """Retry-After in whole seconds, never 0 (a client retrying at once would be refused)."""
    return str(max(1, math.ceil(seconds)))
