"""One provider's attempts: the timer around a client that does not enforce its timeout, the short
rate-limit wait worth taking, and round-robin turns on retries (gaps scripts/mutate attempts.py
found)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from custom_components.aicleaner.router import (
    BreakerSettings,
    RouterConfig,
    SelectionStrategy,
)
from custom_components.aicleaner.router.errors import (
    AllProvidersFailed,
    ProviderServerError,
)
from custom_components.aicleaner.router.models import AIRequest

from .conftest import UNLIMITED, RouterFactory
from .fakes import FakeClock, FakeProvider

PRIORITY = RouterConfig(selection_strategy=SelectionStrategy.PRIORITY, cache_ttl=0)


async def test_a_client_that_never_answers_is_timed_out_a_second_after_its_timeout(
    make_router: RouterFactory,
) -> None:
    # A client that does not say it enforces its own timeout gets a timer of the attempt timeout
    # plus a one-second grace (`_TIMEOUT_GRACE`): later than the client's own, never before it.
    hung = FakeProvider("a", gate=asyncio.Event())
    router = make_router(
        [hung], PRIORITY, {"a": replace(UNLIMITED, timeout_seconds=0.01, max_retries=0)}
    )
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(AllProvidersFailed) as raised:
        await router.process(AIRequest(prompt="p"))
    elapsed = loop.time() - started
    assert [(a.outcome.value, a.category) for a in raised.value.attempts] == [
        ("error", "timeout")
    ]
    assert hung.timeouts == [pytest.approx(0.01)]
    assert 1.0 <= elapsed < 1.9


async def test_a_short_rate_limit_wait_is_not_worth_waiting_for_before_failover(
    make_router: RouterFactory, clock: FakeClock
) -> None:
    # Half a second of rate limit on the first of two: fail over at once, do not wait.
    settings = {
        "a": replace(UNLIMITED, priority=1, rate_limit_rpm=1, burst_allowance=0),
        "b": replace(UNLIMITED, priority=2),
    }
    a, b = FakeProvider("a"), FakeProvider("b")
    router = make_router([a, b], PRIORITY, settings)
    assert (await router.process(AIRequest(prompt="one"))).provider == "a"
    clock.advance(59.5)  # a's next request is due in 0.5 s
    response = await router.process(AIRequest(prompt="two"))
    assert response.provider == "b"
    assert [(x.provider, x.category) for x in response.attempts] == [
        ("a", "rate_limited_local"),
        ("b", None),
    ]


async def test_a_wait_within_the_slack_is_taken_instead_of_failing_over(
    make_router: RouterFactory, clock: FakeClock
) -> None:
    settings = {
        "a": replace(UNLIMITED, priority=1, rate_limit_rpm=1, burst_allowance=0),
        "b": replace(UNLIMITED, priority=2),
    }
    router = make_router([FakeProvider("a"), FakeProvider("b")], PRIORITY, settings)
    await router.process(AIRequest(prompt="one"))
    clock.advance(59.96)  # 0.04 s left: less than the 0.05 s slack
    assert (await router.process(AIRequest(prompt="two"))).provider == "a"


async def test_a_retry_does_not_take_another_round_robin_turn(
    make_router: RouterFactory,
) -> None:
    a = FakeProvider(
        "a", script=[ProviderServerError("busy", provider="a", status=503)]
    )
    router = make_router(
        [a, FakeProvider("b")],
        RouterConfig(selection_strategy=SelectionStrategy.ROUND_ROBIN, cache_ttl=0),
        {name: replace(UNLIMITED, max_retries=1) for name in "ab"},
    )
    served = [
        (await router.process(AIRequest(prompt=f"q{i}"))).provider for i in range(3)
    ]
    assert len(a.calls) == 3  # the first request took two calls of a
    assert served == ["a", "b", "a"]


async def test_round_robin_turns_follow_fractional_weights(
    make_router: RouterFactory,
) -> None:
    router = make_router(
        [FakeProvider("a"), FakeProvider("b")],
        RouterConfig(selection_strategy=SelectionStrategy.ROUND_ROBIN, cache_ttl=0),
        {"a": replace(UNLIMITED, weight=0.5), "b": replace(UNLIMITED, weight=1.0)},
    )
    served = [
        (await router.process(AIRequest(prompt=f"q{i}"))).provider for i in range(6)
    ]
    assert served.count("b") == 2 * served.count("a")


async def test_a_trial_cancelled_mid_call_frees_its_half_open_slot(
    make_router: RouterFactory, clock: FakeClock
) -> None:
    gate = asyncio.Event()
    a = FakeProvider("a", script=[ProviderServerError("down", provider="a")])
    breaker = BreakerSettings(
        failure_threshold=1, timeout_seconds=10.0, half_open_max_calls=1
    )
    router = make_router(
        [a], PRIORITY, {"a": replace(UNLIMITED, max_retries=0, breaker=breaker)}
    )
    with pytest.raises(AllProvidersFailed):
        await router.process(AIRequest(prompt="opens the breaker"))
    clock.advance(10.0)  # half-open: one trial at a time
    a.gate = gate
    trial = asyncio.create_task(router.process(AIRequest(prompt="trial")))
    await asyncio.sleep(0)
    assert len(a.calls) == 2
    trial.cancel()
    with pytest.raises(asyncio.CancelledError):
        await trial
    gate.set()
    # The cancelled trial gave its slot back: the next request is the new trial.
    assert (await router.process(AIRequest(prompt="next trial"))).provider == "a"


async def test_each_attempt_reports_its_own_latency_in_milliseconds(
    make_router: RouterFactory, clock: FakeClock
) -> None:
    a = FakeProvider(
        "a",
        clock=clock,
        latency=0.25,
        script=[ProviderServerError("down", provider="a", status=500)],
    )
    b = FakeProvider("b", clock=clock, latency=0.5)
    router = make_router(
        [a, b],
        PRIORITY,
        {
            "a": replace(UNLIMITED, priority=1, max_retries=0),
            "b": replace(UNLIMITED, priority=2),
        },
    )
    response = await router.process(AIRequest(prompt="p"))
    assert [x.latency_ms for x in response.attempts] == [
        pytest.approx(250.0),
        pytest.approx(500.0),
    ]
    assert response.latency_ms == pytest.approx(750.0)
