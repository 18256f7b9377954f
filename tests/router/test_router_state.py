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
from custom_components.aicleaner.router.models import AIRequest

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
