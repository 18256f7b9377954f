"""Where a request or money could be lost: usage-less answers, empty answers, providers removed or
renamed mid-flight, followers of a leader short of time, image work, bad completions, day rolls and
a wrong wall clock at startup."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
import logging
import random
from zoneinfo import ZoneInfo

import pytest

from custom_components.aicleaner.router import (
    BreakerSettings,
    ProviderSettings,
    Router,
    RouterConfig,
    SelectionStrategy,
)
from custom_components.aicleaner.router.errors import (
    AllProvidersFailed,
    BadRequestError,
    EmptyResponseError,
    InvalidInputError,
    ProviderServerError,
    RateLimitError,
)
from custom_components.aicleaner.router.models import (
    AIRequest,
    Completion,
    ImageInput,
    ModelPrice,
    Usage,
)

from .conftest import UNLIMITED, RouterFactory
from .fakes import FakeClock, FakeProvider, FakeSleep

PRIORITY = RouterConfig(selection_strategy=SelectionStrategy.PRIORITY, cache_ttl=0)
IMAGE = ImageInput(b"\xff\xd8 jpeg bytes", "image/jpeg")


def outcomes(result: object) -> list[tuple[str, str, str | None]]:
    return [
        (a.provider, a.outcome.value, a.category)
        for a in result.attempts  # type: ignore[attr-defined]
    ]


def ranked(*names: str, **changes: object) -> dict[str, ProviderSettings]:
    return {
        name: replace(UNLIMITED, priority=index + 1, **changes)  # type: ignore[arg-type]
        for index, name in enumerate(names)
    }


def no_usage(request: AIRequest) -> Completion:
    return Completion(
        text="an answer",
        model="m",
        usage=Usage(),
        finish_reason="stop",
        cost=0.0,
        usage_reported=False,
    )


# --- an answer without usage is booked at its reservation ------------------------------------


async def test_answers_without_usage_are_booked_at_their_reservation_and_stop_at_the_budget(
    make_router: RouterFactory,
) -> None:
    provider = FakeProvider("a", script=[no_usage] * 20)
    settings = {"a": replace(UNLIMITED, daily_budget=0.003)}
    router = make_router([provider], PRIORITY, settings)
    results = await asyncio.gather(
        *(router.process(AIRequest(prompt=f"room {i}")) for i in range(20)),
        return_exceptions=True,
    )
    served = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert all(
        isinstance(r, AllProvidersFailed)
        and outcomes(r) == [("a", "skipped", "budget")]
        for r in refused
    )
    reservation = served[0].cost
    assert reservation > 0
    assert all(r.cost == reservation and r.cost_estimated for r in served)
    stats = router.provider_stats("a")
    assert len(served) == int(0.003 // reservation) < 20
    assert stats.cost_today == pytest.approx(reservation * len(served))
    assert stats.cost_today <= 0.003
    assert stats.usage_missing == len(served)


async def test_an_answer_with_usage_is_booked_at_its_actual_cost(
    make_router: RouterFactory,
) -> None:
    router = make_router([FakeProvider("a")], PRIORITY)
    response = await router.process(AIRequest(prompt="p"))
    assert not response.cost_estimated
    assert response.cost == FakeProvider("a").completion(AIRequest(prompt="p")).cost
    assert router.provider_stats("a").usage_missing == 0


# --- empty answers ---------------------------------------------------------------------------


async def test_an_empty_answer_is_billed_fails_over_and_is_never_cached(
    make_router: RouterFactory,
) -> None:
    empty = EmptyResponseError("no text (finish reason length)", provider="a")
    first = FakeProvider("a", script=[empty, empty])
    second = FakeProvider("b")
    router = make_router(
        [first, second],
        RouterConfig(selection_strategy=SelectionStrategy.PRIORITY, cache_ttl=60),
        ranked("a", "b"),
    )
    response = await router.process(AIRequest(prompt="p"))
    assert response.provider == "b"
    assert outcomes(response) == [
        ("a", "error", "empty_response"),
        ("b", "success", None),
    ]
    # Billed: its reservation is charged, not released.
    assert router.provider_stats("a").cost_today > 0
    assert router.provider_stats("a").requests_today == 1


# --- a provider removed while a request is in flight ----------------------------------------


async def test_a_provider_removed_mid_request_is_skipped_not_a_crash(
    make_router: RouterFactory,
) -> None:
    gate = asyncio.Event()
    first = FakeProvider(
        "a", gate=gate, script=[ProviderServerError("boom", provider="a")] * 2
    )
    second = FakeProvider("b")
    settings = ranked("a", "b", max_retries=0)
    router = make_router(
        [first, second],
        RouterConfig(selection_strategy=SelectionStrategy.PRIORITY, cache_ttl=60),
        settings,
    )
    leader = asyncio.create_task(router.process(AIRequest(prompt="same")))
    await asyncio.sleep(0)
    follower = asyncio.create_task(router.process(AIRequest(prompt="same")))
    await asyncio.sleep(0)
    router.update_providers([first], {"a": settings["a"]})  # "b" deleted by the user
    gate.set()
    results = await asyncio.gather(leader, follower, return_exceptions=True)
    assert all(isinstance(result, AllProvidersFailed) for result in results)
    assert outcomes(results[0]) == [("a", "error", "provider")]
    assert second.calls == []
    metrics = router.get_performance_metrics()["overall_stats"]
    assert metrics["failed_requests"] == 2


async def test_a_provider_disabled_between_retries_is_not_retried(
    make_router: RouterFactory, sleep: FakeSleep
) -> None:
    gate = asyncio.Event()
    provider = FakeProvider(
        "a", gate=gate, script=[ProviderServerError("boom", provider="a")]
    )
    settings = ranked("a", max_retries=2)
    router = make_router([provider], PRIORITY, settings)
    task = asyncio.create_task(router.process(AIRequest(prompt="p")))
    await asyncio.sleep(0)
    router.update_providers([provider], {"a": replace(settings["a"], enabled=False)})
    gate.set()
    with pytest.raises(AllProvidersFailed):
        await task
    assert len(provider.calls) == 1


# --- a follower never inherits a failure caused by the leader's own short deadline ------------


async def test_follower_waits_out_a_retry_after_its_leader_had_no_time_for(
    make_router: RouterFactory, sleep: FakeSleep
) -> None:
    gate = asyncio.Event()
    provider = FakeProvider(
        "a",
        gate=gate,
        script=[RateLimitError("slow down", provider="a", retry_after=8.0)],
    )
    settings = {"a": replace(UNLIMITED, max_retries=2, rate_limit_rpm=1000)}
    router = make_router([provider], RouterConfig(cache_ttl=60), settings)
    leader = asyncio.create_task(router.process(AIRequest(prompt="same", timeout=5)))
    await asyncio.sleep(0)
    follower = asyncio.create_task(router.process(AIRequest(prompt="same")))
    await asyncio.sleep(0)
    gate.set()
    with pytest.raises(AllProvidersFailed) as raised:
        await leader
    assert outcomes(raised.value) == [
        ("a", "error", "rate_limit"),
        ("a", "skipped", "deadline"),
    ]
    response = await follower
    assert response.provider == "a"
    assert not response.cached
    assert len(provider.calls) == 2
    assert pytest.approx(8.0) in sleep.calls


async def test_followers_share_a_failure_no_caller_could_avoid(
    make_router: RouterFactory,
) -> None:
    # A Retry-After beyond what any caller may wait (max_retry_wait): the verdict is shared.
    gate = asyncio.Event()
    provider = FakeProvider(
        "a",
        gate=gate,
        script=[RateLimitError("slow down", provider="a", retry_after=60.0)] * 2,
    )
    settings = {"a": replace(UNLIMITED, max_retries=2)}
    router = make_router([provider], RouterConfig(cache_ttl=60), settings)
    tasks = [
        asyncio.create_task(router.process(AIRequest(prompt="same", timeout=timeout)))
        for timeout in (5, 120)
    ]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(result, AllProvidersFailed) for result in results)
    assert len(provider.calls) == 1


# --- image work is done before the attempt's clock starts -----------------------------------


async def test_image_preparation_does_not_count_against_the_attempt(
    make_router: RouterFactory, clock: FakeClock
) -> None:
    prepared = AIRequest(prompt="fitted", images=(IMAGE,))

    async def slow_fit(request: AIRequest) -> AIRequest:
        clock.advance(20.0)  # a busy executor
        return prepared

    provider = FakeProvider("a", prepare_outcome=slow_fit)
    settings = {"a": replace(UNLIMITED, timeout_seconds=10.0, daily_budget=1.0)}
    router = make_router([provider], PRIORITY, settings)
    response = await router.process(AIRequest(prompt="look", images=(IMAGE,)))
    assert response.provider == "a"
    assert provider.calls == [prepared]
    assert provider.timeouts == [10.0]
    assert len(provider.prepared) == 1


async def test_text_requests_skip_preparation(make_router: RouterFactory) -> None:
    provider = FakeProvider("a")
    router = make_router([provider], PRIORITY)
    await router.process(AIRequest(prompt="text only"))
    assert provider.prepared == []


async def test_image_work_past_the_deadline_is_neither_billed_nor_the_providers_fault(
    make_router: RouterFactory,
) -> None:
    async def never(request: AIRequest) -> AIRequest:
        await asyncio.Event().wait()
        raise AssertionError  # pragma: no cover

    stuck = FakeProvider("a", prepare_outcome=never)
    router = make_router(
        [stuck],
        PRIORITY,
        {"a": replace(UNLIMITED, daily_budget=1.0)},
    )
    with pytest.raises(AllProvidersFailed) as raised:
        await router.process(AIRequest(prompt="look", images=(IMAGE,), timeout=0.01))
    assert outcomes(raised.value) == [("a", "skipped", "deadline")]
    stats = router.provider_stats("a")
    assert stuck.calls == []
    assert stats.cost_today == 0.0
    assert stats.budget_remaining == 1.0
    assert stats.breaker_state == "closed"
    assert stats.failures == 0


async def test_an_image_no_provider_can_take_is_the_callers_error(
    make_router: RouterFactory,
) -> None:
    async def refuse(request: AIRequest) -> AIRequest:
        raise InvalidInputError("unreadable image", provider="a")

    first = FakeProvider("a", prepare_outcome=refuse)
    second = FakeProvider("b")
    router = make_router([first, second], PRIORITY, ranked("a", "b"))
    with pytest.raises(BadRequestError):
        await router.process(AIRequest(prompt="look", images=(IMAGE,)))
    assert second.prepared == []


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("bug"),
        BadRequestError("this model takes no images", provider="a"),
    ],
)
async def test_a_preparation_failure_fails_over_without_billing(
    make_router: RouterFactory, error: Exception
) -> None:
    async def broken(request: AIRequest) -> AIRequest:
        raise error

    first = FakeProvider("a", prepare_outcome=broken)
    second = FakeProvider("b")
    router = make_router([first, second], PRIORITY, ranked("a", "b", daily_budget=1.0))
    response = await router.process(AIRequest(prompt="look", images=(IMAGE,)))
    assert outcomes(response) == [
        ("a", "skipped", "bad_request"),
        ("b", "success", None),
    ]
    assert router.provider_stats("a").cost_today == 0.0
    assert router.provider_stats("a").breaker_state == "closed"


# --- a completion the router cannot book ---------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        Completion("t", "m", None, "stop", 0.0),  # type: ignore[arg-type]
        Completion("t", "m", Usage(), "stop", float("nan")),
        Completion("t", "m", Usage(), "stop", float("inf")),
        Completion("t", "m", Usage(-5, 1), "stop", 0.0),
        Completion(None, "m", Usage(), "stop", 0.0),  # type: ignore[arg-type]
        "not a completion",
    ],
    ids=[
        "no-usage-object",
        "nan-cost",
        "infinite-cost",
        "negative-tokens",
        "no-text",
        "wrong-type",
    ],
)
async def test_a_completion_that_cannot_be_booked_is_a_charged_failure_not_a_leak(
    make_router: RouterFactory, clock: FakeClock, bad: object
) -> None:
    breaker = BreakerSettings(
        failure_threshold=1, timeout_seconds=10, half_open_max_calls=1
    )
    first = FakeProvider(
        "a",
        script=[ProviderServerError("x", provider="a"), lambda r: bad],  # type: ignore[list-item]
    )
    second = FakeProvider("b")
    settings = ranked("a", "b", daily_budget=1.0, max_retries=0, breaker=breaker)
    router = make_router([first, second], PRIORITY, settings)
    await router.process(AIRequest(prompt="p"))  # opens a's breaker
    clock.advance(10)  # half open: one trial allowed
    response = await router.process(AIRequest(prompt="p"))
    assert outcomes(response) == [("a", "error", "provider"), ("b", "success", None)]
    stats = router.provider_stats("a")
    # The reservation was charged, nothing stays reserved, and the trial slot came back.
    assert stats.cost_today > 0
    assert stats.budget_remaining == pytest.approx(1.0 - stats.cost_today)
    assert stats.breaker_state == "open"
    clock.advance(10)
    assert (await router.process(AIRequest(prompt="p"))).provider == "a"


# --- today's counters roll at local midnight -----------------------------------------------


async def test_overall_counters_start_afresh_at_local_midnight(
    make_router: RouterFactory, clock: FakeClock
) -> None:
    router = make_router([FakeProvider("a")], PRIORITY)
    await router.process(AIRequest(prompt="yesterday"))
    clock.advance(13 * 3600)  # 2026-11-27 01:00 UTC
    await router.process(AIRequest(prompt="today"))
    overall = router.get_performance_metrics()["overall_stats"]
    assert overall["total_requests"] == 1
    assert overall["successful_requests"] == 1
    snapshot = router.snapshot()
    assert snapshot.total_requests == 1
    assert snapshot.providers["a"].requests == 1
    state = router.export_state()
    assert state["stats"]["day"] == "2026-11-27"
    assert state["stats"]["overall"]["total_requests"] == 1


async def test_counters_exported_yesterday_are_not_restored_as_today(
    make_router: RouterFactory, clock: FakeClock
) -> None:
    router = make_router([FakeProvider("a")], PRIORITY)
    await router.process(AIRequest(prompt="yesterday"))
    state = router.export_state()
    clock.advance(13 * 3600)
    later = make_router([FakeProvider("a")], PRIORITY)
    later.restore_state(state)
    assert later.get_performance_metrics()["overall_stats"]["total_requests"] == 0
    assert later.provider_stats("a").requests == 0


# --- a wall clock behind the saved day at startup ------------------------------------------


async def test_a_router_started_with_its_clock_behind_never_grants_the_saved_day_twice() -> (
    None
):
    settings = {"a": replace(UNLIMITED, daily_budget=0.01)}
    expensive = ModelPrice(10.0, 10.0)

    def router_at(wall: list[datetime]) -> Router:
        return Router(
            [FakeProvider("a", price_value=expensive)],
            PRIORITY,
            provider_settings=settings,
            clock=FakeClock(),
            wall_clock=lambda: wall[0],
            rng=random.Random(0),
            sleep=FakeSleep(FakeClock()),
        )

    right = [datetime(2026, 11, 26, 12, tzinfo=UTC)]
    before = router_at(right)
    for _ in range(200):
        try:
            await before.process(AIRequest(prompt="p", max_tokens=100))
        except AllProvidersFailed:
            break
    spent = before.provider_stats("a").cost_today
    assert spent > 0.005
    state = before.export_state()
    # Rebooted on a device without a real-time clock: 1 January until NTP answers.
    wrong = [datetime(2026, 1, 1, 0, 5, tzinfo=UTC)]
    after = router_at(wrong)
    after.restore_state(state)
    assert after.provider_stats("a").cost_today == pytest.approx(spent)
    wrong[0] = right[0] + timedelta(hours=1)  # NTP sets the clock
    assert after.provider_stats("a").cost_today == pytest.approx(spent)
    assert after.provider_stats("a").budget_remaining == pytest.approx(0.01 - spent)


# --- a renamed provider keeps what it spent ------------------------------------------------


async def test_a_relabelled_provider_keeps_its_spend_and_stats(
    make_router: RouterFactory, caplog: pytest.LogCaptureFixture
) -> None:
    # The router keys providers by a stable name; the label is what people call it.
    provider = FakeProvider("id-1", label="Kitchen")
    settings = {"id-1": replace(UNLIMITED, daily_budget=1.0)}
    router = make_router([provider], PRIORITY, settings)
    await router.process(AIRequest(prompt="p"))
    spent = router.provider_stats("id-1").cost_today
    router.update_providers([FakeProvider("id-1", label="Garage")], settings)
    stats = router.provider_stats("id-1")
    assert stats.label == "Garage"
    assert stats.cost_today == spent
    assert stats.budget_remaining == pytest.approx(1.0 - spent)
    assert stats.requests == 1
    caplog.set_level(logging.INFO, logger="custom_components.aicleaner.router")
    response = await router.process(AIRequest(prompt="q"))
    assert response.provider == "id-1"
    assert "answered by Garage" in caplog.text


async def test_listeners_hear_every_outcome_and_a_failing_one_changes_nothing(
    make_router: RouterFactory, caplog: pytest.LogCaptureFixture
) -> None:
    heard: list[object] = []
    router = make_router(
        [FakeProvider("a", script=[ProviderServerError("x", provider="a")])],
        PRIORITY,
        {"a": replace(UNLIMITED, max_retries=0)},
    )

    def broken(outcome: object) -> None:
        raise RuntimeError("listener bug")

    router.add_listener(broken)
    remove = router.add_listener(heard.append)
    with pytest.raises(AllProvidersFailed):
        await router.process(AIRequest(prompt="one"))
    response = await router.process(AIRequest(prompt="two"))
    assert isinstance(heard[0], AllProvidersFailed)
    assert heard[1] is response
    assert "A router listener failed" in caplog.text
    remove()
    await router.process(AIRequest(prompt="three"))
    assert len(heard) == 2


async def test_the_date_is_read_from_the_wall_clock_at_most_once_a_second(
    clock: FakeClock,
) -> None:
    reads: list[datetime] = []

    def wall() -> datetime:
        reads.append(clock.wall())
        return reads[-1]

    router = Router(
        [FakeProvider("a")],
        PRIORITY,
        provider_settings={"a": UNLIMITED},
        clock=clock,
        wall_clock=wall,
        sleep=FakeSleep(clock),
    )
    reads.clear()
    for _ in range(5):
        await router.process(AIRequest(prompt="p"))
    assert reads == []  # the reading taken when the router was built still holds
    clock.advance(0.999)
    await router.process(AIRequest(prompt="p"))
    assert reads == []
    clock.advance(
        0.001
    )  # a second after the last reading: the wall clock is read again
    await router.process(AIRequest(prompt="p"))
    assert len(reads) == 1
    reads.clear()
    clock.advance(13 * 3600)  # past local midnight
    await router.process(AIRequest(prompt="q"))
    assert len(reads) == 1
    assert router.day.isoformat() == "2026-11-27"
    # Within the second, the reading is reused, and it is that date (what the budget and the
    # prices are asked for), not a placeholder.
    assert router._today() == router._today() == router.day
    assert len(reads) == 1


async def test_the_date_read_is_never_reused_past_local_midnight() -> None:
    # Half a second before local midnight: the next request, half a second later, is on the
    # new day at once (its prices and budget), not up to a second later.
    berlin = ZoneInfo("Europe/Berlin")
    clock = FakeClock(wall=datetime(2026, 11, 26, 22, 59, 59, 500000, tzinfo=UTC))
    router = Router(
        [FakeProvider("a")],
        PRIORITY,
        provider_settings={"a": UNLIMITED},
        tz=berlin,
        clock=clock,
        wall_clock=clock.wall,
        sleep=FakeSleep(clock),
    )
    await router.process(AIRequest(prompt="p"))
    assert router.day.isoformat() == "2026-11-26"
    clock.advance(0.5)
    await router.process(AIRequest(prompt="q"))
    assert router.day.isoformat() == "2026-11-27"
