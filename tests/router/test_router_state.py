"""What the router keeps and forgets: provider and setting updates, overall figures, its random
source and its timing constants (gaps mutation testing found: scripts/mutate router.py)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
import random

import pytest

from custom_components.aicleaner.router import (
    BreakerSettings,
    ProviderSettings,
    RouterConfig,
    RoutingRule,
    SelectionStrategy,
)
from custom_components.aicleaner.router.errors import (
    AllProvidersFailed,
    ProviderServerError,
)
from custom_components.aicleaner.router.models import AIRequest, Completion, ImageInput

from .conftest import UNLIMITED, RouterFactory
from .fakes import FakeClock, FakeProvider, FakeSleep

PRIORITY = RouterConfig(selection_strategy=SelectionStrategy.PRIORITY, cache_ttl=0)
ROUND_ROBIN = RouterConfig(
    selection_strategy=SelectionStrategy.ROUND_ROBIN, cache_ttl=0
)


def ranked(*names: str, **changes: object) -> dict[str, ProviderSettings]:
    return {
        name: replace(UNLIMITED, priority=index + 1, **changes)  # type: ignore[arg-type]
        for index, name in enumerate(names)
    }


async def served_by(router: object, n: int) -> list[str]:
    return [
        (await router.process(AIRequest(prompt=f"q{i}"))).provider  # type: ignore[attr-defined]
        for i in range(n)
    ]


# --- provider updates --------------------------------------------------------------------------


async def test_a_newcomer_joins_round_robin_level_with_the_least_served(
    make_router: RouterFactory,
) -> None:
    a, b, c = FakeProvider("a"), FakeProvider("b"), FakeProvider("c")
    router = make_router([a, b], ROUND_ROBIN)
    assert await served_by(router, 3) == ["a", "b", "a"]  # passes now a 2, b 1
    router.update_providers([a, b, c], dict.fromkeys("abc", UNLIMITED))
    # c starts at the lowest pass (b's), not the highest: neither far behind nor starved.
    assert await served_by(router, 2) == ["b", "c"]


async def test_an_unchanged_provider_keeps_its_open_breaker_across_an_update(
    make_router: RouterFactory,
) -> None:
    breaker = BreakerSettings(failure_threshold=1, timeout_seconds=600)
    settings = ranked("a", "b", breaker=breaker)
    a = FakeProvider("a", script=[ProviderServerError("down", provider="a")])
    b, c = FakeProvider("b"), FakeProvider("c")
    router = make_router([a, b], PRIORITY, settings)
    assert (await router.process(AIRequest(prompt="one"))).provider == "b"
    assert len(a.calls) == 1  # a failed once: its breaker is open
    router.update_providers(
        [a, b, c], {**settings, "c": replace(UNLIMITED, priority=3)}
    )
    assert (await router.process(AIRequest(prompt="two"))).provider == "b"
    assert len(a.calls) == 1  # still open: not called


async def test_a_provider_whose_settings_changed_gets_a_new_breaker(
    make_router: RouterFactory,
) -> None:
    breaker = BreakerSettings(failure_threshold=1, timeout_seconds=600)
    settings = ranked("a", "b", breaker=breaker)
    a = FakeProvider("a", script=[ProviderServerError("down", provider="a")])
    b = FakeProvider("b")
    router = make_router([a, b], PRIORITY, settings)
    await router.process(AIRequest(prompt="one"))
    changed = {**settings, "a": replace(settings["a"], timeout_seconds=45.0)}
    router.update_providers([a, b], changed)
    assert (await router.process(AIRequest(prompt="two"))).provider == "a"


async def test_an_unchanged_provider_keeps_its_spent_rate_limit_across_an_update(
    make_router: RouterFactory,
) -> None:
    settings = ranked("a", "b", rate_limit_rpm=1, burst_allowance=0)
    a, b = FakeProvider("a"), FakeProvider("b")
    router = make_router([a, b], PRIORITY, settings)
    assert (await router.process(AIRequest(prompt="one"))).provider == "a"
    router.update_providers([a, b], settings)
    # a's one request a minute is spent, and stays spent: b answers, a is not waited for.
    assert (await router.process(AIRequest(prompt="two"))).provider == "b"
    assert len(a.calls) == 1


async def test_new_routing_rules_apply_from_the_next_request(
    make_router: RouterFactory,
) -> None:
    a, b = FakeProvider("a"), FakeProvider("b")
    router = make_router([a, b], PRIORITY, ranked("a", "b"))
    assert (await router.process(AIRequest(prompt="one"))).provider == "a"
    router.update_config(
        replace(
            PRIORITY, routing_rules=(RoutingRule(condition="text", providers=("b",)),)
        )
    )
    assert (await router.process(AIRequest(prompt="two"))).provider == "b"


# --- overall figures ---------------------------------------------------------------------------


async def test_the_average_response_time_is_in_seconds(
    make_router: RouterFactory, clock: FakeClock
) -> None:
    router = make_router([FakeProvider("a", clock=clock, latency=0.25)], PRIORITY)
    await router.process(AIRequest(prompt="one"))
    await router.process(AIRequest(prompt="two"))
    assert router.snapshot().average_response_time == pytest.approx(0.25)


# --- randomness and timing constants -----------------------------------------------------------


async def test_retry_jitter_is_drawn_from_the_random_source_given(
    make_router: RouterFactory, sleep: FakeSleep
) -> None:
    provider = FakeProvider(
        "a", script=[ProviderServerError("busy", provider="a", status=503)]
    )
    router = make_router(
        [provider],
        PRIORITY,
        {"a": replace(UNLIMITED, max_retries=1)},
        rng=random.Random(7),
    )
    await router.process(AIRequest(prompt="p"))
    config = router.config
    expected = random.Random(7).uniform(0, min(config.backoff_max, config.backoff_base))
    assert sleep.calls == [pytest.approx(expected)]


async def test_a_leader_that_failed_with_time_left_shares_its_failure(
    make_router: RouterFactory, clock: FakeClock
) -> None:
    # The leader fails half a second before its deadline: its own failure, not a lack of time,
    # so an identical follower with more time shares it instead of calling again.
    gate = asyncio.Event()
    provider = FakeProvider(
        "a",
        gate=gate,
        clock=clock,
        latency=4.5,
        script=[ProviderServerError("broken", provider="a", status=500)],
    )
    router = make_router(
        [provider], RouterConfig(cache_ttl=60), {"a": replace(UNLIMITED, max_retries=0)}
    )
    leader = asyncio.create_task(router.process(AIRequest(prompt="same", timeout=5)))
    await asyncio.sleep(0)
    follower = asyncio.create_task(
        router.process(AIRequest(prompt="same", timeout=120))
    )
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(leader, follower, return_exceptions=True)
    assert all(isinstance(result, AllProvidersFailed) for result in results)
    assert len(provider.calls) == 1


async def test_a_leader_out_of_its_own_time_lets_followers_route_themselves(
    make_router: RouterFactory, clock: FakeClock
) -> None:
    # Failing exactly `_DEADLINE_SLACK` (0.05 s) before its deadline counts as out of time.
    def fail_at_the_slack(request: AIRequest) -> Completion:
        clock.now = 1005.0 - 0.05
        raise ProviderServerError("broken", provider="a", status=500)

    gate = asyncio.Event()
    provider = FakeProvider("a", gate=gate, script=[fail_at_the_slack])
    router = make_router(
        [provider], RouterConfig(cache_ttl=60), {"a": replace(UNLIMITED, max_retries=0)}
    )
    assert clock.now == 1000.0
    leader = asyncio.create_task(router.process(AIRequest(prompt="same", timeout=5)))
    await asyncio.sleep(0)
    follower = asyncio.create_task(
        router.process(AIRequest(prompt="same", timeout=120))
    )
    await asyncio.sleep(0)
    gate.set()
    with pytest.raises(AllProvidersFailed):
        await leader
    assert (await follower).provider == "a"
    assert len(provider.calls) == 2


async def test_a_follower_reports_its_own_wait_as_latency(
    make_router: RouterFactory, clock: FakeClock
) -> None:
    gate = asyncio.Event()
    provider = FakeProvider("a", gate=gate, clock=clock, latency=2.0)
    router = make_router([provider], RouterConfig(cache_ttl=60))
    leader = asyncio.create_task(router.process(AIRequest(prompt="same")))
    await asyncio.sleep(0)
    clock.advance(0.5)  # the follower arrives half a second later
    follower = asyncio.create_task(router.process(AIRequest(prompt="same")))
    await asyncio.sleep(0)
    gate.set()
    first, second = await asyncio.gather(leader, follower)
    assert first.latency_ms == pytest.approx(2500.0)
    assert second.cached
    assert second.latency_ms == pytest.approx(2000.0)


# --- what the strategies are given -------------------------------------------------------------


async def test_adaptive_prefers_the_provider_with_more_rate_limit_left(
    make_router: RouterFactory,
) -> None:
    a, b = FakeProvider("a"), FakeProvider("b")
    settings = {
        "a": replace(UNLIMITED, rate_limit_rpm=10, burst_allowance=0),
        "b": replace(UNLIMITED, rate_limit_rpm=10, burst_allowance=0),
    }
    router = make_router(
        [a, b],
        RouterConfig(selection_strategy=SelectionStrategy.ADAPTIVE, cache_ttl=0),
        settings,
    )
    for i in range(8):
        await router.process(AIRequest(prompt=f"p{i}", provider="a"))
        await router.process(AIRequest(prompt=f"q{i}", provider="b"))
    await router.process(AIRequest(prompt="one more", provider="a"))
    # Equal in every other respect, a has 1 request of 10 left and b 2: b goes first.
    assert (await router.process(AIRequest(prompt="open"))).provider == "b"


async def test_adaptive_ranks_a_half_open_provider_below_a_closed_one(
    make_router: RouterFactory, clock: FakeClock
) -> None:
    a = FakeProvider("a", script=[ProviderServerError("down", provider="a")])
    b = FakeProvider("b", script=[ProviderServerError("down", provider="b")])
    settings = {
        "a": replace(
            UNLIMITED,
            max_retries=0,
            breaker=BreakerSettings(failure_threshold=1, timeout_seconds=10.0),
        ),
        "b": replace(
            UNLIMITED,
            max_retries=0,
            breaker=BreakerSettings(failure_threshold=5, timeout_seconds=10.0),
        ),
    }
    router = make_router(
        [a, b],
        RouterConfig(selection_strategy=SelectionStrategy.ADAPTIVE, cache_ttl=0),
        settings,
    )
    # One failure each: a's breaker opens (threshold 1), b's stays closed (threshold 5).
    with pytest.raises(AllProvidersFailed):
        await router.process(AIRequest(prompt="both fail"))
    clock.advance(10.0)  # a is half-open now; otherwise the two look the same
    assert router.snapshot().providers["a"].breaker_state == "half_open"
    assert (await router.process(AIRequest(prompt="next"))).provider == "b"


async def test_no_provider_with_vision_says_so_not_that_it_is_not_local(
    make_router: RouterFactory,
) -> None:
    router = make_router([FakeProvider("a", vision=False)], PRIORITY)
    with pytest.raises(AllProvidersFailed) as raised:
        await router.process(
            AIRequest(prompt="look", images=(ImageInput(b"\xff\xd8", "image/jpeg"),))
        )
    assert "a (no vision)" in str(raised.value)


# --- manual control ----------------------------------------------------------------------------


async def test_provider_returns_the_client_and_reset_breaker_closes_it(
    make_router: RouterFactory,
) -> None:
    breaker = BreakerSettings(failure_threshold=1, timeout_seconds=600)
    a = FakeProvider("a", script=[ProviderServerError("down", provider="a")])
    router = make_router(
        [a, FakeProvider("b")], PRIORITY, ranked("a", "b", breaker=breaker)
    )
    assert router.provider("a") is a
    await router.process(AIRequest(prompt="one"))
    assert (await router.process(AIRequest(prompt="two"))).provider == "b"
    router.reset_breaker("a")
    assert (await router.process(AIRequest(prompt="three"))).provider == "a"
