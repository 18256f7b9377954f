"""The Router: failover, retries, breakers, limits, budgets, cache, batches, stats, logs, state."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
import json
import logging
import random
from zoneinfo import ZoneInfo

import pytest

from custom_components.aicleaner.router import (
    BreakerSettings,
    ProviderSettings,
    Router,
    RouterConfig,
    RoutingRule,
    SelectionStrategy,
    attempts as attempts_module,
)
from custom_components.aicleaner.router.errors import (
    AllProvidersFailed,
    AuthError,
    BadRequestError,
    ContentFilterError,
    ErrorCategory,
    InvalidInputError,
    MalformedResponseError,
    NetworkError,
    OverloadedError,
    ProviderError,
    ProviderServerError,
    ProviderTimeoutError,
    RateLimitError,
)
from custom_components.aicleaner.router.estimate import text_token_bound
from custom_components.aicleaner.router.models import (
    AIRequest,
    AttemptOutcome,
    Completion,
    ImageInput,
    ModelPrice,
    Usage,
)

from .conftest import UNLIMITED, RouterFactory
from .fakes import FakeClock, FakeProvider, FakeSleep

IMAGE = ImageInput(b"\xff\xd8 jpeg bytes", "image/jpeg")


def outcomes(response_or_error: object) -> list[tuple[str, str, str | None]]:
    attempts = response_or_error.attempts
    return [(a.provider, a.outcome.value, a.category) for a in attempts]


def by_priority(*names: str) -> dict[str, ProviderSettings]:
    return {
        name: ProviderSettings(
            priority=index + 1,
            rate_limit_rpm=None,
            rate_limit_tpm=None,
            rate_limit_rph=None,
            daily_budget=None,
        )
        for index, name in enumerate(names)
    }


PRIORITY = RouterConfig(selection_strategy=SelectionStrategy.PRIORITY, cache_ttl=0)


async def test_process_returns_the_providers_answer_with_one_success_attempt(
    make_router: RouterFactory,
) -> None:
    provider = FakeProvider("a")
    router = make_router([provider], PRIORITY)
    response = await router.process(AIRequest(prompt="hello", request_id="r1"))
    assert response.text == "a: hello"
    assert response.provider == "a"
    assert response.request_id == "r1"
    assert response.cost == provider.completion(AIRequest(prompt="hello")).cost
    assert not response.cached
    assert outcomes(response) == [("a", "success", None)]


async def test_a_priority_tie_goes_to_the_label_first_in_alphabetical_order(
    make_router: RouterFactory,
) -> None:
    # Keys in creation order ("a" first); the labels people see say the opposite.
    zeta = FakeProvider("a", label="Zeta")
    alpha = FakeProvider("b", label="alpha")
    settings = {name: by_priority("x")["x"] for name in ("a", "b")}
    router = make_router([zeta, alpha], PRIORITY, settings)
    response = await router.process(AIRequest(prompt="hello"))
    assert response.provider == "b"


@pytest.mark.parametrize(
    "error",
    [
        AuthError("bad key", provider="a", status=401),
        ContentFilterError("refused", provider="a"),
        BadRequestError("unknown model", provider="a", status=404),
    ],
)
async def test_non_retryable_error_fails_over_without_retrying(
    make_router: RouterFactory, sleep: FakeSleep, error: ProviderError
) -> None:
    first = FakeProvider("a", script=[error])
    second = FakeProvider("b")
    router = make_router([first, second], PRIORITY, by_priority("a", "b"))
    response = await router.process(AIRequest(prompt="p"))
    assert response.provider == "b"
    assert len(first.calls) == 1
    assert sleep.calls == []
    category = error.category.value
    assert outcomes(response) == [("a", "error", category), ("b", "success", None)]


@pytest.mark.parametrize(
    "error_type",
    [
        ProviderServerError,
        OverloadedError,
        ProviderTimeoutError,
        NetworkError,
        MalformedResponseError,
        RateLimitError,
    ],
)
async def test_retryable_error_is_retried_on_the_same_provider_with_jittered_backoff(
    make_router: RouterFactory, sleep: FakeSleep, error_type: type[Exception]
) -> None:
    first = FakeProvider(
        "a", script=[error_type("boom", provider="a"), error_type("boom", provider="a")]
    )
    second = FakeProvider("b")
    router = make_router([first, second], PRIORITY, by_priority("a", "b"))
    response = await router.process(AIRequest(prompt="p"))
    assert response.provider == "a"
    assert len(first.calls) == 3
    assert second.calls == []
    assert [a.retry for a in response.attempts] == [0, 1, 2]
    # Full jitter: each wait is drawn from [0, base * 2**retry].
    assert len(sleep.calls) == 2
    assert 0 <= sleep.calls[0] <= 0.5
    assert 0 <= sleep.calls[1] <= 1.0


async def test_retries_stop_at_max_retries_then_fail_over(
    make_router: RouterFactory,
) -> None:
    first = FakeProvider(
        "a", script=[ProviderServerError("boom", provider="a", status=500)] * 5
    )
    second = FakeProvider("b")
    settings = by_priority("a", "b")
    settings["a"] = ProviderSettings(
        priority=1,
        max_retries=2,
        rate_limit_rpm=None,
        rate_limit_tpm=None,
        rate_limit_rph=None,
    )
    router = make_router([first, second], PRIORITY, settings)
    response = await router.process(AIRequest(prompt="p"))
    assert response.provider == "b"
    assert len(first.calls) == 3
    assert outcomes(response)[:3] == [("a", "error", "provider")] * 3
    assert response.attempts[0].status == 500


async def test_retry_after_is_honoured_when_it_fits(
    make_router: RouterFactory, sleep: FakeSleep
) -> None:
    first = FakeProvider(
        "a",
        script=[RateLimitError("slow down", provider="a", status=429, retry_after=4.0)],
    )
    router = make_router([first, FakeProvider("b")], PRIORITY, by_priority("a", "b"))
    response = await router.process(AIRequest(prompt="p"))
    assert response.provider == "a"
    assert sleep.calls == [4.0]


async def test_retry_after_beyond_the_deadline_fails_over_at_once(
    make_router: RouterFactory, sleep: FakeSleep
) -> None:
    first = FakeProvider(
        "a", script=[OverloadedError("busy", provider="a", retry_after=8.0)]
    )
    router = make_router([first, FakeProvider("b")], PRIORITY, by_priority("a", "b"))
    response = await router.process(AIRequest(prompt="p", timeout=5.0))
    assert response.provider == "b"
    assert sleep.calls == []


async def test_retry_after_longer_than_max_retry_wait_fails_over(
    make_router: RouterFactory, sleep: FakeSleep
) -> None:
    first = FakeProvider(
        "a", script=[RateLimitError("later", provider="a", retry_after=30.0)]
    )
    config = RouterConfig(
        selection_strategy=SelectionStrategy.PRIORITY, cache_ttl=0, max_retry_wait=10
    )
    router = make_router([first, FakeProvider("b")], config, by_priority("a", "b"))
    response = await router.process(AIRequest(prompt="p"))
    assert response.provider == "b"
    assert sleep.calls == []


async def test_bad_request_from_caller_input_goes_back_to_the_caller(
    make_router: RouterFactory,
) -> None:
    error = InvalidInputError("image too large", provider="a", status=400)
    first = FakeProvider("a", script=[error])
    second = FakeProvider("b")
    router = make_router([first, second], PRIORITY, by_priority("a", "b"))
    with pytest.raises(BadRequestError) as raised:
        await router.process(AIRequest(prompt="p"))
    assert raised.value is error
    assert second.calls == []
    assert router.provider_stats("a").breaker_state == "closed"
    assert router.get_performance_metrics()["overall_stats"]["failed_requests"] == 1


async def test_all_providers_failed_carries_every_attempt(
    make_router: RouterFactory,
) -> None:
    first = FakeProvider("a", script=[AuthError("no", provider="a", status=401)])
    second = FakeProvider("b", script=[ContentFilterError("no", provider="b")])
    router = make_router([first, second], PRIORITY, by_priority("a", "b"))
    with pytest.raises(AllProvidersFailed) as raised:
        await router.process(AIRequest(prompt="p", request_id="r9"))
    assert raised.value.request_id == "r9"
    assert outcomes(raised.value) == [
        ("a", "error", "auth"),
        ("b", "error", "content_filter"),
    ]
    assert raised.value.attempts[0].status == 401
    assert "a (auth)" in str(raised.value)


async def test_auth_error_opens_the_breaker_until_credentials_are_reset(
    make_router: RouterFactory, clock: FakeClock
) -> None:
    first = FakeProvider("a", script=[AuthError("revoked", provider="a", status=401)])
    router = make_router([first, FakeProvider("b")], PRIORITY, by_priority("a", "b"))
    await router.process(AIRequest(prompt="1"))
    clock.advance(3600)
    response = await router.process(AIRequest(prompt="2"))
    assert outcomes(response) == [
        ("a", "skipped", "breaker_open"),
        ("b", "success", None),
    ]
    snapshot = router.provider_stats("a")
    assert snapshot.breaker_state == "open"
    assert snapshot.breaker_auth_failed
    assert snapshot.last_error_category == "auth"
    router.reset_credentials("a")
    response = await router.process(AIRequest(prompt="3"))
    assert response.provider == "a"


async def test_failover_skips_provider_with_open_breaker(
    make_router: RouterFactory, clock: FakeClock
) -> None:
    breaker = BreakerSettings(
        failure_threshold=2, timeout_seconds=60, half_open_max_calls=1
    )
    settings = by_priority("a", "b")
    settings["a"] = ProviderSettings(
        priority=1,
        max_retries=0,
        breaker=breaker,
        rate_limit_rpm=None,
        rate_limit_tpm=None,
        rate_limit_rph=None,
    )
    first = FakeProvider("a", script=[NetworkError("reset", provider="a")] * 2)
    router = make_router([first, FakeProvider("b")], PRIORITY, settings)
    await router.process(AIRequest(prompt="1"))
    await router.process(AIRequest(prompt="2"))
    assert router.provider_stats("a").breaker_state == "open"
    response = await router.process(AIRequest(prompt="3"))
    assert outcomes(response) == [
        ("a", "skipped", "breaker_open"),
        ("b", "success", None),
    ]
    assert len(first.calls) == 2
    # After the open period a trial request reaches the provider again, and its success closes it.
    clock.advance(60)
    assert router.provider_stats("a").breaker_state == "half_open"
    response = await router.process(AIRequest(prompt="4"))
    assert response.provider == "a"
    assert router.provider_stats("a").breaker_state == "closed"


async def test_request_cancelled_while_waiting_for_capacity_frees_its_half_open_trial(
    make_router: RouterFactory, clock: FakeClock
) -> None:
    class Blocks(FakeSleep):
        async def __call__(self, seconds: float) -> None:
            self.calls.append(seconds)
            await asyncio.Event().wait()

    settings = {
        "a": ProviderSettings(
            max_retries=0,
            rate_limit_rpm=1,
            burst_allowance=0,
            rate_limit_tpm=None,
            rate_limit_rph=None,
            daily_budget=None,
            breaker=BreakerSettings(
                failure_threshold=1, timeout_seconds=10, half_open_max_calls=1
            ),
        )
    }
    sleep = Blocks(clock)
    provider = FakeProvider("a", script=[ProviderServerError("down", provider="a")])
    router = make_router([provider], PRIORITY, settings, sleep=sleep)
    with pytest.raises(AllProvidersFailed):
        await router.process(AIRequest(prompt="1"))
    clock.advance(10)
    assert router.provider_stats("a").breaker_state == "half_open"
    waiting = asyncio.create_task(router.process(AIRequest(prompt="2")))
    await asyncio.sleep(0)
    assert len(sleep.calls) == 1  # admitted as the trial, then waiting for rpm capacity
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    clock.advance(60)
    response = await router.process(AIRequest(prompt="3"))
    assert outcomes(response) == [("a", "success", None)]
    assert router.provider_stats("a").breaker_state == "closed"


async def test_breaker_that_opened_while_a_request_waited_for_capacity_is_honoured(
    make_router: RouterFactory, clock: FakeClock
) -> None:
    released = asyncio.Event()

    class Waits(FakeSleep):
        async def __call__(self, seconds: float) -> None:
            self.calls.append(seconds)
            await released.wait()
            clock.advance(seconds)

    settings = {
        "a": ProviderSettings(
            max_retries=0,
            rate_limit_rpm=1,
            burst_allowance=0,
            rate_limit_tpm=None,
            rate_limit_rph=None,
            daily_budget=None,
            breaker=BreakerSettings(failure_threshold=1, timeout_seconds=600),
        )
    }
    sleep = Waits(clock)
    provider = FakeProvider("a")
    router = make_router([provider], PRIORITY, settings, sleep=sleep)
    await router.process(AIRequest(prompt="uses the minute's only request"))
    waiting = asyncio.create_task(router.process(AIRequest(prompt="waits")))
    await asyncio.sleep(0)
    assert len(sleep.calls) == 1
    # Meanwhile another request's failure opens the breaker.
    router._slots["a"].breaker.record_failure()
    released.set()
    with pytest.raises(AllProvidersFailed) as failed:
        await waiting
    assert [(a.provider, a.category) for a in failed.value.attempts] == [
        ("a", "breaker_open")
    ]
    assert len(provider.calls) == 1


async def test_budget_exhausted_provider_is_skipped_and_the_reason_shows(
    make_router: RouterFactory,
) -> None:
    expensive = FakeProvider("a", price_value=ModelPrice(1000.0, 1000.0))
    settings = by_priority("a", "b")
    settings["a"] = ProviderSettings(
        priority=1,
        daily_budget=0.5,
        rate_limit_rpm=None,
        rate_limit_tpm=None,
        rate_limit_rph=None,
    )
    router = make_router([expensive, FakeProvider("b")], PRIORITY, settings)
    response = await router.process(AIRequest(prompt="p", max_tokens=1000))
    assert outcomes(response) == [("a", "skipped", "budget"), ("b", "success", None)]
    assert expensive.calls == []
    snapshot = router.provider_stats("a")
    assert snapshot.last_skip_reason == "budget"
    assert snapshot.budget_remaining == 0.5


async def test_spend_never_exceeds_budget_under_1000_concurrent_requests(
    make_router: RouterFactory,
) -> None:
    price = ModelPrice(3.0, 15.0)

    class WorstCase(FakeProvider):
        """Reports the most usage the request can cause: every bound reached."""

        async def complete(
            self, request: AIRequest, *, timeout: float, day: date | None = None
        ) -> Completion:
            await asyncio.sleep(0)  # yield, so that every request is in flight at once
            usage = Usage(
                input_tokens=text_token_bound(request.prompt, request.system_prompt)
                + len(request.images) * self.tokens_per_image,
                output_tokens=request.max_tokens,
            )
            return Completion(
                text="答え",
                model=self.model,
                usage=usage,
                finish_reason="length",
                cost=self.price_value.cost(usage.input_tokens, usage.output_tokens),
            )

    provider = WorstCase("a", price_value=price, tokens_per_image=1600)
    budget = 1.0
    settings = {
        "a": ProviderSettings(
            daily_budget=budget,
            rate_limit_rpm=None,
            rate_limit_tpm=None,
            rate_limit_rph=None,
        )
    }
    router = make_router([provider], PRIORITY, settings)
    # CJK text takes three UTF-8 bytes a character: four times what chars / 4 would guess.
    requests = [
        AIRequest(
            prompt=f"台所の床を掃除してください。{i}" * 10,
            system_prompt="あなたは家事の助手です。",
            images=(IMAGE,) if i % 2 else (),
            max_tokens=100,
        )
        for i in range(1000)
    ]
    results = await asyncio.gather(
        *(router.process(r) for r in requests), return_exceptions=True
    )
    served = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, AllProvidersFailed)]
    assert served
    assert refused
    assert len(served) + len(refused) == 1000
    summary = router.get_cost_summary()
    assert summary["provider_costs"]["a"]["total_cost"] <= budget
    assert sum(r.cost for r in served) <= budget
    assert summary["provider_costs"]["a"]["requests"] == len(served)
    assert all(outcomes(r) == [("a", "skipped", "budget")] for r in refused)


async def test_global_budget_caps_spend_over_every_provider(
    make_router: RouterFactory,
) -> None:
    price = ModelPrice(100.0, 100.0)
    providers = [
        FakeProvider("a", price_value=price),
        FakeProvider("b", price_value=price),
    ]
    config = RouterConfig(
        selection_strategy=SelectionStrategy.PRIORITY,
        cache_ttl=0,
        global_daily_budget=0.1,
    )
    router = make_router(providers, config)
    results = await router.process_batch(
        [AIRequest(prompt=f"{i}", max_tokens=50) for i in range(200)], 50
    )
    assert any(isinstance(r, AllProvidersFailed) for r in results)
    summary = router.get_cost_summary()
    assert summary["total_cost"] <= 0.1
    assert summary["global_daily_budget"] == 0.1


async def test_budget_day_follows_the_routers_time_zone(
    clock: FakeClock, sleep: FakeSleep
) -> None:
    # 23:30 UTC is already tomorrow in Berlin (UTC+1 in November).
    wall = datetime(2026, 11, 26, 23, 30, tzinfo=UTC)
    settings = {
        "a": ProviderSettings(
            daily_budget=1.0,
            rate_limit_rpm=None,
            rate_limit_tpm=None,
            rate_limit_rph=None,
        )
    }
    provider = FakeProvider("a", price_value=ModelPrice(1000.0, 1000.0))
    router = Router(
        [provider],
        PRIORITY,
        provider_settings=settings,
        tz=ZoneInfo("Europe/Berlin"),
        clock=clock,
        wall_clock=lambda: wall + timedelta(seconds=clock.now - 1000.0),
        rng=random.Random(0),
        sleep=sleep,
    )
    assert router.get_cost_summary()["day"] == "2026-11-27"
    await router.process(AIRequest(prompt="x" * 40, max_tokens=100))
    spent = router.get_cost_summary()["total_cost"]
    assert spent > 0
    clock.advance(23 * 3600)
    assert router.get_cost_summary()["day"] == "2026-11-27"
    clock.advance(3600)
    summary = router.get_cost_summary()
    assert summary["day"] == "2026-11-28"
    assert summary["total_cost"] == 0.0


async def test_locally_rate_limited_provider_is_skipped_when_others_remain(
    make_router: RouterFactory, sleep: FakeSleep
) -> None:
    settings = by_priority("a", "b")
    settings["a"] = ProviderSettings(
        priority=1,
        rate_limit_rpm=1,
        burst_allowance=0,
        rate_limit_tpm=None,
        rate_limit_rph=None,
        daily_budget=None,
    )
    router = make_router([FakeProvider("a"), FakeProvider("b")], PRIORITY, settings)
    assert (await router.process(AIRequest(prompt="1"))).provider == "a"
    response = await router.process(AIRequest(prompt="2"))
    assert outcomes(response) == [
        ("a", "skipped", "rate_limited_local"),
        ("b", "success", None),
    ]
    assert sleep.calls == []


async def test_last_candidate_waits_for_capacity_when_the_wait_fits(
    make_router: RouterFactory, sleep: FakeSleep
) -> None:
    settings = {
        "a": ProviderSettings(
            rate_limit_rpm=6,
            burst_allowance=0,
            rate_limit_tpm=None,
            rate_limit_rph=None,
            daily_budget=None,
        )
    }
    router = make_router([FakeProvider("a")], PRIORITY, settings)
    for i in range(6):
        await router.process(AIRequest(prompt=str(i)))
    response = await router.process(AIRequest(prompt="7"))
    assert response.provider == "a"
    assert sleep.calls == [pytest.approx(10.0)]
    with pytest.raises(AllProvidersFailed) as raised:
        await router.process(AIRequest(prompt="8", timeout=5))
    # It would have waited, but not past this request's deadline.
    assert outcomes(raised.value) == [("a", "skipped", "deadline")]


async def test_wait_for_capacity_that_overruns_the_deadline_gives_up(
    make_router: RouterFactory, clock: FakeClock
) -> None:
    class Oversleeps(FakeSleep):
        async def __call__(self, seconds: float) -> None:
            await super().__call__(seconds * 10)

    settings = {
        "a": ProviderSettings(
            rate_limit_rpm=60,
            burst_allowance=0,
            rate_limit_tpm=None,
            rate_limit_rph=None,
            daily_budget=None,
        )
    }
    router = make_router(
        [FakeProvider("a")], PRIORITY, settings, sleep=Oversleeps(clock)
    )
    for i in range(60):
        await router.process(AIRequest(prompt=str(i)))
    with pytest.raises(AllProvidersFailed) as raised:
        await router.process(AIRequest(prompt="late", timeout=5))
    assert outcomes(raised.value) == [("a", "skipped", "deadline")]


async def test_rate_limit_response_throttles_the_provider(
    make_router: RouterFactory,
) -> None:
    settings = {"a": ProviderSettings(rate_limit_rpm=60, daily_budget=None)}
    first = FakeProvider(
        "a", script=[RateLimitError("429", provider="a", status=429, retry_after=1.0)]
    )
    router = make_router([first], PRIORITY, settings)
    await router.process(AIRequest(prompt="p"))
    assert router.provider_stats("a").throttle_factor == pytest.approx(0.55)


async def test_candidates_are_filtered_by_enabled_vision_locality_and_access(
    make_router: RouterFactory,
) -> None:
    cloud = FakeProvider("cloud", vision=True)
    blind = FakeProvider("blind", vision=False, is_local=True)
    local = FakeProvider("local", vision=True, is_local=True)
    off = FakeProvider("off")
    settings = by_priority("off", "blind", "local", "cloud")
    settings["off"] = ProviderSettings(enabled=False)
    router = make_router([cloud, blind, local, off], PRIORITY, settings)
    assert (await router.process(AIRequest(prompt="p"))).provider == "blind"
    assert (
        await router.process(AIRequest(prompt="p", images=(IMAGE,)))
    ).provider == "local"
    assert (
        await router.process(
            AIRequest(prompt="p", allowed_providers=frozenset({"cloud"}))
        )
    ).provider == "cloud"
    assert (
        await router.process(AIRequest(prompt="p", provider="cloud"))
    ).provider == "cloud"
    with pytest.raises(AllProvidersFailed, match="cloud \\(not local\\)"):
        await router.process(
            AIRequest(
                prompt="p", local_only=True, allowed_providers=frozenset({"cloud"})
            )
        )
    with pytest.raises(AllProvidersFailed, match="blind \\(no vision\\)") as raised:
        await router.process(AIRequest(prompt="p", images=(IMAGE,), provider="blind"))
    assert raised.value.refusals == {"blind": "no vision"}
    with pytest.raises(AllProvidersFailed, match="off \\(disabled\\)"):
        await router.process(AIRequest(prompt="p", provider="off"))
    with pytest.raises(AllProvidersFailed, match="cloud \\(not allowed\\)"):
        await router.process(AIRequest(prompt="p", allowed_providers=frozenset()))
    with pytest.raises(AllProvidersFailed, match="No provider named 'ghost'"):
        await router.process(AIRequest(prompt="p", provider="ghost"))


async def test_routing_rule_sends_image_analysis_to_the_named_provider_first(
    make_router: RouterFactory,
) -> None:
    rule = RoutingRule(condition="image_analysis", providers=("vision",))
    config = RouterConfig(
        selection_strategy=SelectionStrategy.PRIORITY,
        cache_ttl=0,
        routing_rules=(rule,),
    )
    router = make_router(
        [FakeProvider("text"), FakeProvider("vision")],
        config,
        by_priority("text", "vision"),
    )
    assert (await router.process(AIRequest(prompt="p"))).provider == "text"
    assert (
        await router.process(AIRequest(prompt="p", images=(IMAGE,)))
    ).provider == "vision"


async def test_cost_optimal_picks_the_cheapest_for_this_request(
    make_router: RouterFactory,
) -> None:
    # Images are cheap on "a" and text is cheap on "b": the choice depends on the request.
    a = FakeProvider("a", price_value=ModelPrice(2.0, 2.0), tokens_per_image=100)
    b = FakeProvider("b", price_value=ModelPrice(1.0, 2.0), tokens_per_image=5000)
    config = RouterConfig(
        selection_strategy=SelectionStrategy.COST_OPTIMAL, cache_ttl=0
    )
    router = make_router([a, b], config)
    assert (
        await router.process(AIRequest(prompt="x" * 400, max_tokens=10))
    ).provider == "b"
    assert (
        await router.process(AIRequest(prompt="x", images=(IMAGE,), max_tokens=10))
    ).provider == "a"


async def test_round_robin_spreads_requests_by_weight(
    make_router: RouterFactory,
) -> None:
    settings = {
        "a": ProviderSettings(
            weight=3, rate_limit_rpm=None, rate_limit_tpm=None, rate_limit_rph=None
        ),
        "b": ProviderSettings(
            weight=1, rate_limit_rpm=None, rate_limit_tpm=None, rate_limit_rph=None
        ),
    }
    config = RouterConfig(selection_strategy=SelectionStrategy.ROUND_ROBIN, cache_ttl=0)
    router = make_router([FakeProvider("a"), FakeProvider("b")], config, settings)
    results = await router.process_batch(
        [AIRequest(prompt=str(i)) for i in range(40)], 8
    )
    providers = [r.provider for r in results if not isinstance(r, Exception)]
    assert providers.count("a") == 30
    assert providers.count("b") == 10


async def test_fastest_and_adaptive_route_to_the_quicker_provider_from_live_stats(
    make_router: RouterFactory, clock: FakeClock
) -> None:
    slow = FakeProvider("slow", latency=2.0, clock=clock)
    quick = FakeProvider("quick", latency=0.1, clock=clock)
    config = RouterConfig(
        selection_strategy=SelectionStrategy.PRIORITY, cache_ttl=0, explore_rate=0.0
    )
    router = make_router([slow, quick], config, by_priority("slow", "quick"))
    await router.process(AIRequest(prompt="1"))
    await router.process(AIRequest(prompt="2", provider="quick"))
    for strategy in (SelectionStrategy.FASTEST, SelectionStrategy.ADAPTIVE):
        router.set_selection_strategy(strategy)
        assert (await router.process(AIRequest(prompt=strategy))).provider == "quick"
    snapshot = router.provider_stats("slow")
    assert snapshot.latency_ewma == pytest.approx(2.0)
    assert snapshot.latency_p50 == pytest.approx(2.0)
    assert snapshot.latency_p95 == pytest.approx(2.0)


async def test_least_loaded_routes_around_a_provider_with_requests_in_flight(
    make_router: RouterFactory,
) -> None:
    gate = asyncio.Event()
    busy = FakeProvider("busy", gate=gate)
    idle = FakeProvider("idle")
    config = RouterConfig(
        selection_strategy=SelectionStrategy.LEAST_LOADED, cache_ttl=0
    )
    router = make_router([busy, idle], config, by_priority("busy", "idle"))
    held = asyncio.create_task(
        router.process(AIRequest(prompt="held", provider="busy"))
    )
    await asyncio.sleep(0)
    assert router.provider_stats("busy").in_flight == 1
    assert (await router.process(AIRequest(prompt="next"))).provider == "idle"
    gate.set()
    assert (await held).provider == "busy"


async def test_deadline_covers_every_attempt(
    make_router: RouterFactory, clock: FakeClock
) -> None:
    slow_failure = FakeProvider(
        "a",
        script=[ProviderTimeoutError("slow", provider="a")] * 5,
        latency=4.0,
        clock=clock,
    )
    second = FakeProvider("b")
    settings = by_priority("a", "b")
    settings["a"] = ProviderSettings(
        priority=1,
        max_retries=0,
        timeout_seconds=30,
        rate_limit_rpm=None,
        rate_limit_tpm=None,
        rate_limit_rph=None,
    )
    router = make_router([slow_failure, second], PRIORITY, settings)
    with pytest.raises(AllProvidersFailed) as raised:
        await router.process(AIRequest(prompt="p", timeout=3.0))
    assert slow_failure.timeouts == [3.0]
    assert outcomes(raised.value) == [
        ("a", "error", "timeout"),
        ("b", "skipped", "deadline"),
    ]
    # A timed-out call still tells the router how slow the provider is.
    assert router.provider_stats("a").latency_ewma == pytest.approx(4.0)


async def test_attempt_timeout_is_the_provider_setting_when_the_deadline_is_further(
    make_router: RouterFactory,
) -> None:
    provider = FakeProvider("a")
    settings = {
        "a": ProviderSettings(
            timeout_seconds=7,
            rate_limit_rpm=None,
            rate_limit_tpm=None,
            rate_limit_rph=None,
        )
    }
    router = make_router([provider], PRIORITY, settings)
    await router.process(AIRequest(prompt="p", timeout=60))
    assert provider.timeouts == [7]


async def test_client_that_ignores_its_timeout_is_cut_off(
    make_router: RouterFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The guard allows the attempt timeout plus a grace; a grace of minus the timeout puts the
    # guard's deadline at "now", so it cuts the client off on the next loop pass, with no real
    # waiting, through the same asyncio.timeout as in production.
    monkeypatch.setattr(attempts_module, "_TIMEOUT_GRACE", -0.01)

    class Hangs(FakeProvider):
        async def complete(
            self, request: AIRequest, *, timeout: float, day: date | None = None
        ) -> Completion:
            self.timeouts.append(timeout)
            await asyncio.Event().wait()
            raise AssertionError("unreachable")

    settings = by_priority("hang", "b")
    settings["hang"] = ProviderSettings(
        priority=1,
        max_retries=0,
        timeout_seconds=0.01,
        rate_limit_rpm=None,
        rate_limit_tpm=None,
        rate_limit_rph=None,
    )
    hangs = Hangs("hang")
    router = make_router([hangs, FakeProvider("b")], PRIORITY, settings)
    response = await router.process(AIRequest(prompt="p"))
    assert outcomes(response) == [("hang", "error", "timeout"), ("b", "success", None)]
    assert hangs.timeouts == [0.01]


async def test_unexpected_client_exception_fails_over_and_logs_only_its_type(
    make_router: RouterFactory, caplog: pytest.LogCaptureFixture
) -> None:
    first = FakeProvider("a", script=[KeyError("https://x/?key=sk-secret")])
    router = make_router([first, FakeProvider("b")], PRIORITY, by_priority("a", "b"))
    response = await router.process(AIRequest(prompt="p"))
    assert outcomes(response) == [("a", "error", "provider"), ("b", "success", None)]
    assert len(first.calls) == 1
    assert "KeyError" in caplog.text
    assert "sk-secret" not in caplog.text


async def test_cancelled_call_is_charged_its_reservation_and_frees_its_in_flight_count(
    make_router: RouterFactory,
) -> None:
    gate = asyncio.Event()
    provider = FakeProvider("a", gate=gate, price_value=ModelPrice(1000.0, 1000.0))
    settings = {
        "a": ProviderSettings(
            daily_budget=5.0,
            rate_limit_rpm=None,
            rate_limit_tpm=None,
            rate_limit_rph=None,
        )
    }
    router = make_router([provider], PRIORITY, settings)
    task = asyncio.create_task(router.process(AIRequest(prompt="p", max_tokens=100)))
    await asyncio.sleep(0)
    assert router.provider_stats("a").in_flight == 1
    reserved = 5.0 - router.provider_stats("a").budget_remaining
    assert reserved > 0
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # The request was sent and the provider bills it: the reservation counts as spent.
    snapshot = router.provider_stats("a")
    assert snapshot.in_flight == 0
    assert snapshot.cost_today == pytest.approx(reserved)
    assert snapshot.budget_remaining == pytest.approx(5.0 - reserved)


@pytest.mark.parametrize(
    ("error", "billed"),
    [
        (ProviderTimeoutError("slow", provider="a"), True),
        (MalformedResponseError("not json", provider="a", status=200), True),
        (ContentFilterError("blocked", provider="a"), True),
        (ProviderServerError("oops", provider="a", status=500), False),
        (OverloadedError("busy", provider="a", status=529), False),
        (NetworkError("refused", provider="a"), False),
        (AuthError("bad key", provider="a", status=401), False),
        (RateLimitError("slow down", provider="a", status=429), False),
        (BadRequestError("unknown model", provider="a", status=404), False),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else "",
)
async def test_failure_the_provider_billed_is_charged_its_reservation(
    make_router: RouterFactory, error: ProviderError, billed: bool
) -> None:
    price = ModelPrice(1000.0, 1000.0)
    settings = {
        "a": ProviderSettings(
            max_retries=0,
            daily_budget=5.0,
            rate_limit_rpm=None,
            rate_limit_tpm=None,
            rate_limit_rph=None,
        )
    }
    router = make_router(
        [FakeProvider("a", price_value=price, script=[error])], PRIORITY, settings
    )
    request = AIRequest(prompt="p", max_tokens=100)
    with pytest.raises(AllProvidersFailed):
        await router.process(request)
    reservation = price.cost(text_token_bound(request.prompt, None), 100)
    snapshot = router.provider_stats("a")
    assert snapshot.cost_today == pytest.approx(reservation if billed else 0.0)
    assert snapshot.budget_remaining == pytest.approx(5.0 - snapshot.cost_today)


async def test_identical_request_is_served_from_the_cache(
    make_router: RouterFactory, clock: FakeClock
) -> None:
    provider = FakeProvider("a")
    router = make_router([provider], RouterConfig(cache_ttl=60))
    first = await router.process(AIRequest(prompt="same", images=(IMAGE,)))
    second = await router.process(
        AIRequest(prompt="same ", images=(IMAGE,), request_id="again")
    )
    assert len(provider.calls) == 1
    assert second.cached
    assert second.text == first.text
    assert second.cost == 0.0
    assert second.request_id == "again"
    await router.process(AIRequest(prompt="same", images=(IMAGE,), use_cache=False))
    assert len(provider.calls) == 2
    clock.advance(60)
    assert not (await router.process(AIRequest(prompt="same", images=(IMAGE,)))).cached
    metrics = router.get_performance_metrics()
    assert metrics["overall_stats"]["cached_requests"] == 1
    assert metrics["cache"]["hits"] == 1


async def test_concurrent_identical_requests_share_one_provider_call(
    make_router: RouterFactory,
) -> None:
    gate = asyncio.Event()
    provider = FakeProvider("a", gate=gate)
    router = make_router([provider], RouterConfig(cache_ttl=60))
    tasks = [
        asyncio.create_task(router.process(AIRequest(prompt="same"))) for _ in range(10)
    ]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*tasks)
    assert len(provider.calls) == 1
    assert sum(not r.cached for r in results) == 1
    assert {r.text for r in results} == {"a: same"}


@pytest.mark.parametrize(
    ("error", "raised"),
    [
        # Failover had nowhere to go: every follower gets the leader's verdict.
        (ContentFilterError("no", provider="a"), AllProvidersFailed),
        # The caller's own input was at fault: every follower gets that error, unchanged.
        (
            InvalidInputError("image too large", provider="a"),
            BadRequestError,
        ),
    ],
)
async def test_followers_get_the_leaders_error(
    make_router: RouterFactory, error: Exception, raised: type[Exception]
) -> None:
    gate = asyncio.Event()
    provider = FakeProvider("a", gate=gate, script=[error])
    router = make_router([provider], RouterConfig(cache_ttl=60))
    tasks = [
        asyncio.create_task(router.process(AIRequest(prompt="same"))) for _ in range(3)
    ]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, raised) for r in results)
    assert len(provider.calls) == 1


async def test_follower_calls_the_provider_itself_when_the_leader_is_cancelled(
    make_router: RouterFactory,
) -> None:
    gate = asyncio.Event()
    provider = FakeProvider("a", gate=gate)
    router = make_router([provider], RouterConfig(cache_ttl=60))
    leader = asyncio.create_task(router.process(AIRequest(prompt="same")))
    await asyncio.sleep(0)
    follower = asyncio.create_task(router.process(AIRequest(prompt="same")))
    await asyncio.sleep(0)
    leader.cancel()
    await asyncio.sleep(0)
    gate.set()
    response = await follower
    assert not response.cached
    assert len(provider.calls) == 2
    with pytest.raises(asyncio.CancelledError):
        await leader


async def test_follower_gives_up_at_its_own_deadline_while_the_leader_is_slow(
    make_router: RouterFactory,
) -> None:
    gate = asyncio.Event()
    provider = FakeProvider("a", gate=gate)
    router = make_router([provider], RouterConfig(cache_ttl=60))
    leader = asyncio.create_task(router.process(AIRequest(prompt="same")))
    await asyncio.sleep(0)
    # Nearly no time left: the follower's deadline passes at once, the leader's does not.
    follower = asyncio.create_task(
        router.process(AIRequest(prompt="same", timeout=1e-9))
    )
    for _ in range(100):
        if follower.done():
            break
        await asyncio.sleep(0)
    assert follower.done()
    with pytest.raises(AllProvidersFailed) as raised:
        await follower
    assert [a.category for a in raised.value.attempts] == ["deadline"]
    assert not leader.done()
    gate.set()
    assert not (await leader).cached
    assert len(provider.calls) == 1


async def test_follower_routes_itself_when_the_leader_ran_out_of_its_own_time(
    make_router: RouterFactory, clock: FakeClock
) -> None:
    gate = asyncio.Event()
    provider = FakeProvider(
        "a",
        gate=gate,
        clock=clock,
        latency=3.0,
        script=[ProviderTimeoutError("slow", provider="a")],
    )
    settings = {"a": replace(UNLIMITED, max_retries=0)}
    router = make_router([provider], RouterConfig(cache_ttl=60), settings)
    leader = asyncio.create_task(router.process(AIRequest(prompt="same", timeout=2)))
    await asyncio.sleep(0)
    follower = asyncio.create_task(router.process(AIRequest(prompt="same")))
    await asyncio.sleep(0)
    gate.set()
    with pytest.raises(AllProvidersFailed):
        await leader
    response = await follower
    assert outcomes(response) == [("a", "success", None)]
    assert not response.cached
    assert len(provider.calls) == 2


@pytest.mark.parametrize(
    ("batch_size", "configured", "expected_peak"),
    [(3, 5, 3), (1, 5, 1), (None, 2, 2), (None, 0, 1)],
)
async def test_batch_keeps_input_order_limits_concurrency_and_isolates_failures(
    make_router: RouterFactory,
    batch_size: int | None,
    configured: int,
    expected_peak: int,
) -> None:
    # A configured batch size of 0 still runs the batch, one at a time.
    running = 0
    peak = 0

    class Counting(FakeProvider):
        async def complete(
            self, request: AIRequest, *, timeout: float, day: date | None = None
        ) -> Completion:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0)
            running -= 1
            if request.prompt == "3":
                raise InvalidInputError("bad image", provider="a")
            return self.completion(request)

    router = make_router([Counting("a")], replace(PRIORITY, batch_size=configured))
    results = await router.process_batch(
        [AIRequest(prompt=str(i)) for i in range(10)], batch_size=batch_size
    )
    assert peak == expected_peak
    assert isinstance(results[3], BadRequestError)
    assert [r.text for i, r in enumerate(results) if i != 3] == [  # type: ignore[union-attr]
        f"a: {i}" for i in range(10) if i != 3
    ]


async def test_batch_uses_the_configured_batch_size_by_default(
    make_router: RouterFactory,
) -> None:
    router = make_router([FakeProvider("a")], RouterConfig(batch_size=2, cache_ttl=0))
    results = await router.process_batch([AIRequest(prompt="x"), AIRequest(prompt="y")])
    assert [r.text for r in results] == ["a: x", "a: y"]  # type: ignore[union-attr]


async def test_one_structured_record_per_outcome_without_prompt_text(
    make_router: RouterFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="custom_components.aicleaner.router")
    first = FakeProvider("a", script=[NetworkError("reset", provider="a")] * 8)
    router = make_router([first, FakeProvider("b")], PRIORITY, by_priority("a", "b"))
    await router.process(AIRequest(prompt="very private prompt", request_id="r1"))
    with pytest.raises(AllProvidersFailed):
        await router.process(
            AIRequest(prompt="another private prompt", provider="a", request_id="r2")
        )
    records = [
        r for r in caplog.records if r.name == "custom_components.aicleaner.router"
    ]
    assert [r.event for r in records] == ["request_success", "request_failed"]  # type: ignore[attr-defined]
    success = records[0]
    assert success.levelno == logging.INFO
    assert success.request_id == "r1"  # type: ignore[attr-defined]
    assert success.provider == "b"  # type: ignore[attr-defined]
    assert success.model == "fake-model"  # type: ignore[attr-defined]
    assert success.cached is False  # type: ignore[attr-defined]
    assert success.cost > 0  # type: ignore[attr-defined]
    assert success.response_time >= 0  # type: ignore[attr-defined]
    assert len(success.attempts) == 5  # type: ignore[attr-defined]
    json.dumps(success.attempts)  # type: ignore[attr-defined]
    assert "private" not in caplog.text


async def test_rejected_request_is_logged_with_the_provider(
    make_router: RouterFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="custom_components.aicleaner.router")
    provider = FakeProvider("a", script=[InvalidInputError("too big", provider="a")])
    router = make_router([provider], PRIORITY)
    with pytest.raises(BadRequestError):
        await router.process(AIRequest(prompt="p"))
    (record,) = [
        r for r in caplog.records if r.name == "custom_components.aicleaner.router"
    ]
    assert record.event == "request_rejected"  # type: ignore[attr-defined]
    assert record.provider == "a"  # type: ignore[attr-defined]


async def test_provider_error_text_is_logged_only_at_debug(
    make_router: RouterFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="custom_components.aicleaner.router")
    text = "prompt 'my private diary' is too long"
    provider = FakeProvider(
        "a",
        script=[
            InvalidInputError(text, provider="a", status=400),
            InvalidInputError(text, provider="a", status=400),
        ],
    )
    router = make_router([provider], PRIORITY)
    with pytest.raises(BadRequestError):
        await router.process(AIRequest(prompt="p", request_id="r1"))
    (record,) = [
        r for r in caplog.records if r.name == "custom_components.aicleaner.router"
    ]
    assert record.levelno == logging.INFO
    assert record.getMessage().endswith("a: bad_request (HTTP 400)")
    assert "diary" not in caplog.text
    caplog.clear()
    caplog.set_level(logging.DEBUG, logger="custom_components.aicleaner.router")
    with pytest.raises(BadRequestError):
        await router.process(AIRequest(prompt="p", request_id="r2"))
    debug = [r for r in caplog.records if r.levelno == logging.DEBUG]
    assert any("diary" in r.getMessage() for r in debug)
    assert all("diary" not in r.getMessage() for r in caplog.records if r not in debug)


async def test_metrics_and_cost_summary_have_the_designed_shape(
    make_router: RouterFactory,
) -> None:
    providers = [FakeProvider("a"), FakeProvider("b", kind="anthropic", model="claude")]
    router = make_router(providers, PRIORITY, by_priority("a", "b"))
    response = await router.process(AIRequest(prompt="p"))
    metrics = router.get_performance_metrics()
    overall = metrics["overall_stats"]
    assert overall["total_requests"] == 1
    assert overall["successful_requests"] == 1
    assert overall["total_cost"] == response.cost
    assert overall["average_response_time"] >= 0
    assert metrics["providers"]["b"]["kind"] == "anthropic"
    assert metrics["providers"]["a"]["requests_today"] == 1
    summary = router.get_cost_summary()
    assert summary["total_cost"] == response.cost
    assert summary["provider_costs"]["a"]["total_cost"] == response.cost
    assert summary["provider_costs"]["a"]["requests"] == 1
    assert summary["provider_costs"]["b"]["requests"] == 0
    assert summary["provider_costs"]["a"]["budget_exhausted"] is False
    json.dumps(metrics)
    json.dumps(summary)
    snapshot = router.snapshot()
    assert snapshot.total_requests == 1
    assert snapshot.cost_today == response.cost
    assert set(snapshot.providers) == {"a", "b"}


async def test_restored_state_yields_identical_decisions(
    clock: FakeClock, sleep: FakeSleep
) -> None:
    def build(rng: random.Random) -> tuple[Router, list[FakeProvider]]:
        providers = [
            FakeProvider(
                "a", price_value=ModelPrice(5.0, 5.0), latency=0.5, clock=clock
            ),
            FakeProvider(
                "b", price_value=ModelPrice(1.0, 1.0), latency=2.0, clock=clock
            ),
            FakeProvider(
                "c", price_value=ModelPrice(20.0, 20.0), latency=1.0, clock=clock
            ),
        ]
        settings = {
            p.name: ProviderSettings(
                daily_budget=0.05,
                rate_limit_rpm=None,
                rate_limit_tpm=None,
                rate_limit_rph=None,
            )
            for p in providers
        }
        router = Router(
            providers,
            RouterConfig(cache_ttl=0),
            provider_settings=settings,
            clock=clock,
            wall_clock=clock.wall,
            rng=rng,
            sleep=sleep,
        )
        return router, providers

    original_rng = random.Random(7)
    original, originals = build(original_rng)
    originals[0].script = [ProviderServerError("x", provider="a")] * 2
    for i in range(30):
        try:
            pinned = "a" if i == 0 else None
            await original.process(
                AIRequest(prompt=f"warm-up {i}" * 20, max_tokens=500, provider=pinned)
            )
        except AllProvidersFailed:
            pass
    assert not originals[0].script
    state = json.loads(json.dumps(original.export_state()))
    restored_rng = random.Random()
    restored, _ = build(restored_rng)
    restored.restore_state(state)
    assert restored.export_state() == original.export_state()
    # The random source is not part of the state: give both the same one from here on, so
    # that equal decisions follow from equal state and not from luck.
    original_rng.seed(11)
    restored_rng.seed(11)
    for strategy in SelectionStrategy:
        original.set_selection_strategy(strategy)
        restored.set_selection_strategy(strategy)
        for i in range(5):
            request = AIRequest(prompt=f"next {i}" * 30, max_tokens=400)
            first = await _decision(original, request)
            second = await _decision(restored, request)
            assert first == second, strategy


async def _decision(
    router: Router, request: AIRequest
) -> list[tuple[str, str, str | None]]:
    try:
        return outcomes(await router.process(request))
    except AllProvidersFailed as err:
        return outcomes(err)


async def test_restore_never_lowers_spend_or_counters_booked_since_start(
    make_router: RouterFactory,
) -> None:
    before = make_router([FakeProvider("a")], PRIORITY)
    await before.process(AIRequest(prompt="p"))
    state = before.export_state()
    router = make_router([FakeProvider("a")], PRIORITY)
    for i in range(3):
        await router.process(AIRequest(prompt=f"booked before the restore {i}"))
    booked = router.get_cost_summary()["total_cost"]
    router.restore_state(state)
    router.restore_state(state)
    assert router.get_cost_summary()["total_cost"] == pytest.approx(booked)
    assert router.get_cost_summary()["provider_costs"]["a"]["requests"] == 3
    overall = router.get_performance_metrics()["overall_stats"]
    assert overall["total_requests"] == 3
    assert overall["total_cost"] == pytest.approx(booked)
    assert router.provider_stats("a").requests == 3


async def test_unexpected_client_exception_is_charged_its_reservation(
    make_router: RouterFactory,
) -> None:
    settings = {"a": replace(UNLIMITED, max_retries=0, daily_budget=5.0)}
    provider = FakeProvider("a", script=[KeyError("bug")])
    router = make_router([provider], PRIORITY, settings)
    with pytest.raises(AllProvidersFailed):
        await router.process(AIRequest(prompt="p", max_tokens=100))
    expected = provider.price_value.cost(text_token_bound("p", None), 100)
    assert router.provider_stats("a").cost_today == pytest.approx(expected)


async def test_restore_ignores_spend_and_counters_of_another_day(
    make_router: RouterFactory, clock: FakeClock
) -> None:
    router = make_router([FakeProvider("a")], PRIORITY)
    await router.process(AIRequest(prompt="p"))
    state = router.export_state()
    clock.advance(86_400)
    fresh = make_router([FakeProvider("a")], PRIORITY)
    fresh.restore_state(state)
    assert fresh.get_cost_summary()["total_cost"] == 0.0
    assert fresh.get_performance_metrics()["overall_stats"]["total_requests"] == 0
    snapshot = fresh.provider_stats("a")
    assert snapshot.requests == 0
    assert snapshot.latency_ewma is not None


async def test_restore_ignores_unknown_versions_and_unknown_providers(
    make_router: RouterFactory,
) -> None:
    router = make_router([FakeProvider("a")], PRIORITY)
    router.restore_state({"version": 99})
    state = router.export_state()
    state["stats"]["providers"]["ghost"] = {}
    router.restore_state(state)
    assert router.provider_names == ("a",)


async def test_update_providers_keeps_stats_and_levels_newcomers(
    make_router: RouterFactory,
) -> None:
    config = RouterConfig(selection_strategy=SelectionStrategy.ROUND_ROBIN, cache_ttl=0)
    a = FakeProvider("a")
    router = make_router([a], config)
    for i in range(5):
        await router.process(AIRequest(prompt=str(i)))
    router.update_providers([a, FakeProvider("b")], {"a": UNLIMITED, "b": UNLIMITED})
    assert router.provider_stats("a").requests == 5
    results = await router.process_batch(
        [AIRequest(prompt=str(i)) for i in range(4)], 1
    )
    assert [r.provider for r in results] == ["a", "b", "a", "b"]  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="unique"):
        router.update_providers([a, FakeProvider("a")])


async def test_update_config_changes_rules_budget_and_cache(
    make_router: RouterFactory,
) -> None:
    provider = FakeProvider("a", price_value=ModelPrice(1000.0, 1000.0))
    router = make_router([provider], RouterConfig(cache_ttl=60))
    await router.process(AIRequest(prompt="p"))
    router.update_config(RouterConfig(cache_ttl=0, global_daily_budget=0.0))
    assert router.config.cache_ttl == 0
    with pytest.raises(AllProvidersFailed):
        await router.process(AIRequest(prompt="p"))
    router.update_config(RouterConfig(cache_ttl=0))
    assert (await router.process(AIRequest(prompt="p"))).provider == "a"


async def test_completion_without_usage_keeps_the_token_reservation(
    make_router: RouterFactory,
) -> None:
    bare = Completion(
        text="t",
        model="m",
        usage=Usage(),
        finish_reason="stop",
        cost=0.0,
        usage_reported=False,
    )
    settings = {
        "a": ProviderSettings(
            rate_limit_tpm=10_000, rate_limit_rpm=None, rate_limit_rph=None
        )
    }
    router = make_router([FakeProvider("a", script=[bare])], PRIORITY, settings)
    await router.process(AIRequest(prompt="p", max_tokens=1000))
    reserved = text_token_bound("p", None) + 1000
    assert router.provider_stats("a").rate_headroom == pytest.approx(
        1 - reserved / 10_000, abs=1e-6
    )
    assert router.provider_stats("a").tokens_today == reserved


async def test_failures_are_not_logged_when_info_is_off(
    make_router: RouterFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="custom_components.aicleaner.router")
    router = make_router(
        [FakeProvider("a", script=[ContentFilterError("no", provider="a")])], PRIORITY
    )
    with pytest.raises(AllProvidersFailed):
        await router.process(AIRequest(prompt="p"))
    await router.process(AIRequest(prompt="p"))
    assert not [
        r for r in caplog.records if r.name == "custom_components.aicleaner.router"
    ]


def test_error_category_values_used_for_skips_are_stable() -> None:
    assert {
        ErrorCategory.BUDGET,
        ErrorCategory.BREAKER_OPEN,
        ErrorCategory.RATE_LIMITED_LOCAL,
        ErrorCategory.DEADLINE,
    } <= set(ErrorCategory)
    assert AttemptOutcome.SKIPPED.value == "skipped"
