"""Waiting for rate-limit tokens: taken ahead, in arrival order, given back by a waiter that leaves."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace

import pytest

from custom_components.aicleaner.router import (
    ProviderSettings,
    RouterConfig,
    SelectionStrategy,
)
from custom_components.aicleaner.router.errors import (
    AllProvidersFailed,
    ProviderServerError,
)
from custom_components.aicleaner.router.limits import RateLimiter, TokenBucket
from custom_components.aicleaner.router.models import AIRequest
from custom_components.aicleaner.router.router import Router

from .conftest import RouterFactory
from .fakes import FakeClock, FakeProvider


def _limiter(clock: FakeClock, rpm: int) -> RateLimiter:
    settings = ProviderSettings(
        rate_limit_rpm=rpm, rate_limit_tpm=None, rate_limit_rph=None, burst_allowance=0
    )
    return RateLimiter(settings, clock)


def test_tokens_taken_ahead_make_the_next_caller_wait_behind() -> None:
    bucket = TokenBucket(capacity=1, rate=1.0, now=0.0)
    bucket.take(1)
    assert bucket.wait_time(1) == pytest.approx(1.0)
    bucket.take_ahead(1)
    assert bucket.tokens == -1
    assert bucket.wait_time(1) == pytest.approx(2.0)
    bucket.refill(1.0)
    assert bucket.tokens == pytest.approx(0.0)  # the first waiter's token is there


def test_tokens_given_back_repay_a_debt_and_a_charge_never_deepens_it() -> None:
    bucket = TokenBucket(capacity=5, rate=1.0, now=0.0)
    bucket.take(5)
    bucket.take_ahead(1)
    bucket.take_ahead(1)
    bucket.give_back(1)
    assert bucket.tokens == -1  # the waiter still queued keeps its place
    bucket.give_back(-3)
    assert bucket.tokens == -1
    bucket.give_back(10)
    assert bucket.tokens == 5


def test_waiters_are_queued_in_arrival_order() -> None:
    clock = FakeClock()
    limits = _limiter(clock, rpm=2)  # a bucket of two, one more every 30 s
    assert limits.try_acquire(0)[0] == 0
    assert limits.try_acquire(0)[0] == 0
    waits = []
    for _ in range(3):
        waits.append(limits.wait_time(0))
        limits.acquire_ahead(0)  # one request each
    assert waits == [pytest.approx(30), pytest.approx(60), pytest.approx(90)]
    assert limits.headroom() == 0.0  # never below 0, debt or not
    limits.cancel(0)
    assert limits.wait_time(0) == pytest.approx(90)


def test_a_retry_after_blocks_for_its_own_seconds() -> None:
    clock = FakeClock()
    limits = _limiter(clock, rpm=60)
    assert limits.blocked_for() == 0.0
    limits.on_rate_limited(0.5)
    assert limits.blocked_for() == pytest.approx(0.5)
    clock.advance(0.5)
    assert limits.blocked_for() == 0.0


async def test_a_waiter_waits_again_for_a_retry_after_that_came_while_it_waited(
    make_router: RouterFactory, clock: FakeClock
) -> None:
    provider = FakeProvider("a")
    settings = ProviderSettings(
        rate_limit_rpm=1, rate_limit_tpm=None, rate_limit_rph=None, burst_allowance=0
    )
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds)
        if len(waits) == 1:
            # Meanwhile the provider answered another caller 429, Retry-After 0.5 s.
            router._slots["a"].limiter.on_rate_limited(0.5)

    router = make_router([provider], settings={"a": settings}, sleep=sleep)
    await router.process(AIRequest(prompt="first", use_cache=False))
    response = await router.process(
        AIRequest(prompt="second", use_cache=False, timeout=120)
    )
    assert response.provider == "a"
    assert waits == [pytest.approx(60), pytest.approx(0.5)]
    assert len(provider.calls) == 2


async def test_a_waiter_cancelled_while_it_waits_gives_its_place_back(
    make_router: RouterFactory, clock: FakeClock
) -> None:
    released = asyncio.Event()

    async def never(_seconds: float) -> None:
        await released.wait()

    provider = FakeProvider("a")
    settings = ProviderSettings(
        rate_limit_rpm=1, rate_limit_tpm=None, rate_limit_rph=None, burst_allowance=0
    )
    router = make_router([provider], settings={"a": settings}, sleep=never)
    await router.process(AIRequest(prompt="first", use_cache=False))
    limiter = router._slots["a"].limiter
    before = limiter.wait_time(0)
    waiting = asyncio.create_task(
        router.process(AIRequest(prompt="second", use_cache=False, timeout=120))
    )
    await asyncio.sleep(0)
    assert limiter.wait_time(0) == pytest.approx(before + 60)  # its place is taken
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert limiter.wait_time(0) == pytest.approx(before)
    assert len(provider.calls) == 1


def test_tokens_taken_ahead_are_what_a_full_bucket_can_hold_and_cancel_returns_them() -> (
    None
):
    clock = FakeClock()
    settings = ProviderSettings(
        rate_limit_rpm=None, rate_limit_tpm=1000, rate_limit_rph=None
    )
    limits = RateLimiter(settings, clock)
    assert limits.acquire_ahead(600) == 600
    assert limits.acquire_ahead(5000) == 1000  # more than a full bucket would never fit
    assert limits.wait_time(100) == pytest.approx((100 + 600) / (1000 / 60))
    limits.cancel(1000)
    assert limits.wait_time(400) == 0.0
    assert limits.wait_time(500) > 0


_ONE_A_MINUTE = ProviderSettings(
    rate_limit_rpm=1, rate_limit_tpm=None, rate_limit_rph=None, burst_allowance=0
)


async def _refused_after_waiting(
    make_router: RouterFactory,
    clock: FakeClock,
    meanwhile: Callable[[Router], None],
    *,
    timeout: float = 120,
    daily_budget: float | None = None,
) -> tuple[Router, AllProvidersFailed, list[float]]:
    """A second request waits 60 s for its token; `meanwhile` happens during the wait."""
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds)
        if len(waits) == 1:
            meanwhile(router)

    settings = replace(_ONE_A_MINUTE, daily_budget=daily_budget)
    router = make_router([FakeProvider("a")], settings={"a": settings}, sleep=sleep)
    await router.process(AIRequest(prompt="first", use_cache=False))
    with pytest.raises(AllProvidersFailed) as caught:
        await router.process(
            AIRequest(prompt="second", use_cache=False, timeout=timeout)
        )
    return router, caught.value, waits


async def test_a_waiter_whose_retry_after_outlasts_its_deadline_gives_its_place_back(
    make_router: RouterFactory, clock: FakeClock
) -> None:
    # Exactly at the deadline once the 429's Retry-After (0.5 s) is waited out: too late.
    router, error, waits = await _refused_after_waiting(
        make_router,
        clock,
        lambda router: router._slots["a"].limiter.on_rate_limited(0.5),
        timeout=60.5,
    )
    assert [(a.provider, a.category) for a in error.attempts] == [("a", "deadline")]
    assert waits == [pytest.approx(60)]
    # Its token is back: only the Retry-After still holds the provider.
    assert router._slots["a"].limiter.wait_time(0) == pytest.approx(0.5)


async def test_a_waiter_whose_breaker_opened_meanwhile_gives_its_place_back(
    make_router: RouterFactory, clock: FakeClock
) -> None:
    router, error, _ = await _refused_after_waiting(
        make_router,
        clock,
        lambda router: router._slots["a"].breaker.record_auth_failure(),
    )
    assert [(a.provider, a.category) for a in error.attempts] == [("a", "breaker_open")]
    assert router._slots["a"].limiter.wait_time(0) == 0.0


async def test_a_waiter_whose_budget_was_spent_meanwhile_gives_its_place_back(
    make_router: RouterFactory, clock: FakeClock
) -> None:
    def spend(router: Router) -> None:
        assert router._budget.reserve("a", router._budget.remaining("a") or 0.0)

    router, error, _ = await _refused_after_waiting(
        make_router, clock, spend, daily_budget=1.0
    )
    assert [(a.provider, a.category) for a in error.attempts] == [("a", "budget")]
    assert router._slots["a"].limiter.wait_time(0) == 0.0


async def test_the_revisit_order_counts_the_requests_own_tokens(
    make_router: RouterFactory,
) -> None:
    # Token limits: a's bucket is empty, b's holds half of what the request needs; c fails.
    tpm = ProviderSettings(
        rate_limit_rpm=None, rate_limit_tpm=1000, rate_limit_rph=None, priority=1
    )
    failing = FakeProvider("c", script=[ProviderServerError("down", provider="c")])
    router = make_router(
        [FakeProvider("a"), FakeProvider("b"), failing],
        settings={
            "a": tpm,
            "b": replace(tpm, priority=2),
            "c": ProviderSettings(
                rate_limit_rpm=None,
                rate_limit_tpm=None,
                rate_limit_rph=None,
                priority=3,
                max_retries=0,
            ),
        },
        config=RouterConfig(selection_strategy=SelectionStrategy.PRIORITY),
    )
    router._slots["a"].limiter.acquire(1000)
    router._slots["b"].limiter.acquire(750)
    response = await router.process(
        AIRequest(prompt="x", max_tokens=500, use_cache=False, timeout=120)
    )
    # b is free soonest for this request's 500-odd tokens: it goes first.
    assert response.provider == "b"
    assert [(a.provider, a.outcome.value) for a in response.attempts] == [
        ("a", "skipped"),
        ("b", "skipped"),
        ("c", "error"),
        ("b", "success"),
    ]
