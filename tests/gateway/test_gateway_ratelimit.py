"""Rate-limit windows: requests and tokens per minute counted separately, sliding, with headers."""

from __future__ import annotations

from bulkhead.gateway.ratelimit import RateLimiter, SlidingWindow, TokenLimits, retry_after_header


def test_window_slides_and_says_when_room_returns() -> None:
    window = SlidingWindow(limit=3)
    for t in (0.0, 10.0, 20.0):
        window.charge(t, 1)
    assert window.remaining(30.0) == 0
    assert window.wait_for(30.0, 1) == 30.0  # the charge at t=0 leaves at t=60
    assert window.remaining(60.5) == 1
    assert window.reset_in(60.5) == 9.5


def test_requests_and_tokens_are_separate_windows() -> None:
    limits = TokenLimits(requests=SlidingWindow(100), tokens=SlidingWindow(50))
    first = limits.check(0.0, estimated_tokens=60)  # admitted: the token window was empty
    assert first.allowed
    refused = limits.check(1.0, estimated_tokens=1)
    assert (refused.allowed, refused.reason) == (False, "rate_limit_tokens")
    assert refused.headers["x-ratelimit-remaining-requests"] == "99"
    assert refused.headers["x-ratelimit-remaining-tokens"] == "0"
    assert 58 < refused.retry_after_s <= 59


def test_request_limit_refuses_with_retry_after() -> None:
    limits = TokenLimits(requests=SlidingWindow(2), tokens=None)
    assert limits.check(0.0, 0).allowed
    assert limits.check(0.2, 0).allowed
    refused = limits.check(0.4, 0)
    assert (refused.allowed, refused.reason) == (False, "rate_limit_requests")
    assert set(refused.headers) == {
        "x-ratelimit-limit-requests",
        "x-ratelimit-remaining-requests",
        "x-ratelimit-reset-requests",
    }
    assert retry_after_header(refused.retry_after_s) == "60"


def test_settle_replaces_the_estimate_by_the_exact_count() -> None:
    limits = TokenLimits(requests=None, tokens=SlidingWindow(1000))
    limits.check(0.0, estimated_tokens=100)
    limits.settle(0.01, estimated=100, actual=40)
    assert limits.tokens is not None
    assert limits.tokens.remaining(0.02) == 960


def test_limiter_rebuilds_windows_when_a_tokens_limits_change() -> None:
    limiter = RateLimiter()
    a = limiter.for_token("tok_1", 10, None)
    assert limiter.for_token("tok_1", 10, None) is a
    assert limiter.for_token("tok_1", 20, None) is not a


def test_memory_stays_bounded_at_high_rates() -> None:
    window = SlidingWindow(limit=10**9)
    for i in range(100_000):
        window.charge(i * 0.0005, 1)  # 2000 per second for 50 s
    assert window.used(50.0) == 100_000
    assert len(window._charges) <= 501
