"""One provider's attempts: the timer around a client that does not enforce its timeout, the short
rate-limit wait worth taking, and round-robin turns on retries (gaps scripts/mutate attempts.py
found)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
import random

import pytest

from custom_components.aicleaner.router import (
    BreakerSettings,
    ProviderSettings,
    RouterConfig,
    SelectionStrategy,
)
from custom_components.aicleaner.router.errors import (
    AllProvidersFailed,
    BadRequestError,
    ContentFilterError,
    ContextLengthError,
    InvalidInputError,
    NetworkError,
    ProviderServerError,
    QuotaExhaustedError,
    RateLimitError,
)
from custom_components.aicleaner.router.models import AIRequest, ImageInput

from .conftest import UNLIMITED, RouterFactory
from .fakes import FakeClock, FakeProvider, FakeSleep

PRIORITY = RouterConfig(selection_strategy=SelectionStrategy.PRIORITY, cache_ttl=0)
IMAGE = ImageInput(b"\xff\xd8 jpeg bytes", "image/jpeg")


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
    # About 1.01 s; a grace of two seconds would not pass.
    assert 1.0 <= elapsed < 2.0


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


# --- deadlines at their edge -------------------------------------------------------------------


async def test_a_retry_due_exactly_at_the_deadline_is_skipped_not_slept_for(
    make_router: RouterFactory, sleep: FakeSleep
) -> None:
    a = FakeProvider(
        "a", script=[RateLimitError("slow", provider="a", retry_after=5.0)]
    )
    router = make_router([a], PRIORITY, {"a": replace(UNLIMITED, max_retries=2)})
    with pytest.raises(AllProvidersFailed) as raised:
        await router.process(AIRequest(prompt="p", timeout=5))
    assert [(x.outcome.value, x.category, x.retry) for x in raised.value.attempts] == [
        ("error", "rate_limit", 0),
        ("skipped", "deadline", 1),
    ]
    assert sleep.calls == []


async def test_a_retry_after_of_zero_retries_without_sleeping(
    make_router: RouterFactory, sleep: FakeSleep
) -> None:
    a = FakeProvider("a", script=[RateLimitError("now", provider="a", retry_after=0.0)])
    router = make_router([a], PRIORITY, {"a": replace(UNLIMITED, max_retries=1)})
    response = await router.process(AIRequest(prompt="p"))
    assert [x.retry for x in response.attempts] == [0, 1]
    assert sleep.calls == []


async def test_a_retry_after_of_exactly_max_retry_wait_is_waited_for(
    make_router: RouterFactory, sleep: FakeSleep
) -> None:
    wait = RouterConfig().max_retry_wait
    a = FakeProvider(
        "a", script=[RateLimitError("slow", provider="a", retry_after=wait)]
    )
    router = make_router([a], PRIORITY, {"a": replace(UNLIMITED, max_retries=1)})
    assert (await router.process(AIRequest(prompt="p"))).provider == "a"
    assert sleep.calls == [wait]


async def test_retry_jitter_doubles_its_range_with_each_retry(
    make_router: RouterFactory, sleep: FakeSleep
) -> None:
    down = ProviderServerError("busy", provider="a", status=503)
    a = FakeProvider("a", script=[down, down])
    router = make_router(
        [a], PRIORITY, {"a": replace(UNLIMITED, max_retries=2)}, rng=random.Random(3)
    )
    await router.process(AIRequest(prompt="p"))
    config = router.config
    draws = random.Random(3)
    expected = [
        draws.uniform(0, min(config.backoff_max, config.backoff_base * 2**retry))
        for retry in (0, 1)
    ]
    assert sleep.calls == [pytest.approx(x) for x in expected]


async def test_a_provider_reached_exactly_at_the_deadline_is_a_deadline_skip(
    make_router: RouterFactory, clock: FakeClock
) -> None:
    # a takes the whole 5 s and fails; b, whose breaker is open, is then out of time, which
    # is what a follower must hear (not "breaker open"), and b is never called.
    a = FakeProvider(
        "a",
        clock=clock,
        latency=5.0,
        script=[ProviderServerError("down", provider="a", status=500)],
    )
    b = FakeProvider("b", script=[ProviderServerError("down", provider="b")])
    breaker = BreakerSettings(failure_threshold=1, timeout_seconds=600)
    settings = {
        "a": replace(UNLIMITED, priority=1, max_retries=0),
        "b": replace(UNLIMITED, priority=2, max_retries=0, breaker=breaker),
    }
    router = make_router([a, b], PRIORITY, settings)
    with pytest.raises(AllProvidersFailed):
        await router.process(AIRequest(prompt="opens b", provider="b"))
    a.script.clear()
    a.script.append(ProviderServerError("down", provider="a", status=500))
    with pytest.raises(AllProvidersFailed) as raised:
        await router.process(AIRequest(prompt="p", timeout=5))
    assert [(x.provider, x.category) for x in raised.value.attempts] == [
        ("a", "provider"),
        ("b", "deadline"),
    ]


async def test_a_wait_that_ends_exactly_at_the_deadline_is_not_taken(
    make_router: RouterFactory, sleep: FakeSleep
) -> None:
    a = FakeProvider(
        "a", script=[RateLimitError("slow", provider="a", retry_after=5.0)]
    )
    router = make_router([a], PRIORITY, {"a": replace(UNLIMITED, max_retries=0)})
    with pytest.raises(AllProvidersFailed):
        await router.process(AIRequest(prompt="blocks a for 5 s"))
    with pytest.raises(AllProvidersFailed) as raised:
        await router.process(AIRequest(prompt="p", timeout=5))
    assert [(x.outcome.value, x.category) for x in raised.value.attempts] == [
        ("skipped", "deadline")
    ]
    assert sleep.calls == []


async def test_a_wait_that_overshoots_to_the_deadline_ends_in_a_deadline_skip(
    make_router: RouterFactory, clock: FakeClock
) -> None:
    # Timers can wake late: a wait that ends on the deadline itself leaves no time to call.
    async def late_sleep(seconds: float) -> None:
        clock.now = 1005.0
        await asyncio.sleep(0)

    a = FakeProvider(
        "a", script=[RateLimitError("slow", provider="a", retry_after=1.0)]
    )
    router = make_router(
        [a], PRIORITY, {"a": replace(UNLIMITED, max_retries=0)}, sleep=late_sleep
    )
    with pytest.raises(AllProvidersFailed):
        await router.process(AIRequest(prompt="blocks a for 1 s", timeout=1000))
    clock.now = 1000.0
    with pytest.raises(AllProvidersFailed) as raised:
        await router.process(AIRequest(prompt="p", timeout=5))
    assert [(x.outcome.value, x.category) for x in raised.value.attempts] == [
        ("skipped", "deadline")
    ]
    assert len(a.calls) == 1


async def test_a_wait_longer_than_the_deadline_is_not_slept(
    make_router: RouterFactory, sleep: FakeSleep
) -> None:
    a = FakeProvider(
        "a", script=[RateLimitError("slow", provider="a", retry_after=9.0)]
    )
    router = make_router([a], PRIORITY, {"a": replace(UNLIMITED, max_retries=0)})
    with pytest.raises(AllProvidersFailed):
        await router.process(AIRequest(prompt="blocks a for 9 s"))
    with pytest.raises(AllProvidersFailed):
        await router.process(AIRequest(prompt="p", timeout=5))
    assert sleep.calls == []


# --- what a failure gives back -----------------------------------------------------------------


async def test_a_budget_refusal_gives_a_half_open_trial_back(
    make_router: RouterFactory, clock: FakeClock
) -> None:
    a = FakeProvider("a", script=[ProviderServerError("down", provider="a")])
    breaker = BreakerSettings(
        failure_threshold=1, timeout_seconds=10.0, half_open_max_calls=1
    )
    config = replace(PRIORITY, global_daily_budget=1.0)
    router = make_router(
        [a], config, {"a": replace(UNLIMITED, max_retries=0, breaker=breaker)}
    )
    with pytest.raises(AllProvidersFailed):
        await router.process(AIRequest(prompt="opens the breaker"))
    clock.advance(10.0)
    router.update_config(replace(config, global_daily_budget=1e-9))
    with pytest.raises(AllProvidersFailed) as raised:
        await router.process(AIRequest(prompt="refused by the budget"))
    assert [x.category for x in raised.value.attempts] == ["budget"]
    router.update_config(config)
    assert (await router.process(AIRequest(prompt="the trial"))).provider == "a"


@pytest.mark.parametrize(
    "neutral",
    [
        RateLimitError("slow", provider="a", retry_after=0.0),
        ContentFilterError("refused", provider="a"),
    ],
    ids=["rate-limit", "content-filter"],
)
async def test_a_neutral_answer_to_a_trial_frees_its_slot_and_opens_nothing(
    make_router: RouterFactory, clock: FakeClock, neutral: Exception
) -> None:
    a = FakeProvider("a", script=[ProviderServerError("down", provider="a"), neutral])
    breaker = BreakerSettings(
        failure_threshold=1, timeout_seconds=10.0, half_open_max_calls=1
    )
    router = make_router(
        [a], PRIORITY, {"a": replace(UNLIMITED, max_retries=0, breaker=breaker)}
    )
    with pytest.raises(AllProvidersFailed):
        await router.process(AIRequest(prompt="opens the breaker"))
    clock.advance(10.0)
    with pytest.raises(AllProvidersFailed):
        await router.process(AIRequest(prompt="the trial gets a neutral answer"))
    assert router.provider_stats("a").breaker_state == "half_open"
    assert (await router.process(AIRequest(prompt="another trial"))).provider == "a"


@pytest.mark.parametrize(
    "error",
    [
        ContentFilterError("refused", provider="a"),
        InvalidInputError("bad image", provider="a"),
    ],
    ids=["content-filter", "callers-input"],
)
async def test_errors_that_say_nothing_of_the_provider_never_open_its_breaker(
    make_router: RouterFactory, error: Exception
) -> None:
    a = FakeProvider("a", script=[error])
    breaker = BreakerSettings(failure_threshold=1, timeout_seconds=600)
    router = make_router(
        [a, FakeProvider("b")],
        PRIORITY,
        {
            "a": replace(UNLIMITED, priority=1, max_retries=0, breaker=breaker),
            "b": replace(UNLIMITED, priority=2),
        },
    )
    with contextlib.suppress(BadRequestError):
        await router.process(AIRequest(prompt="p"))
    assert router.provider_stats("a").breaker_state == "closed"
    assert (await router.process(AIRequest(prompt="q"))).provider == "a"


def tight_tokens(tpm: int) -> dict[str, ProviderSettings]:
    return {
        "a": replace(UNLIMITED, priority=1, max_retries=0, rate_limit_tpm=tpm),
        "b": replace(UNLIMITED, priority=2),
    }


async def test_tokens_a_call_did_not_use_are_given_back(
    make_router: RouterFactory,
) -> None:
    # Each request reserves 17 input tokens ("p" + 16) and 100 output; the answers use 11.
    a = FakeProvider("a", output_tokens=10)
    router = make_router([a, FakeProvider("b")], PRIORITY, tight_tokens(2 * 117))
    for _ in range(5):
        response = await router.process(AIRequest(prompt="p", max_tokens=100))
        assert response.provider == "a"


async def test_an_unbilled_failure_gives_every_token_back(
    make_router: RouterFactory,
) -> None:
    a = FakeProvider("a", script=[NetworkError("refused", provider="a")])
    router = make_router([a, FakeProvider("b")], PRIORITY, tight_tokens(117))
    first = await router.process(AIRequest(prompt="p", max_tokens=100))
    assert [(x.provider, x.category) for x in first.attempts] == [
        ("a", "network"),
        ("b", None),
    ]
    # All 117 tokens came back, not 116: a takes the next request at once.
    assert (await router.process(AIRequest(prompt="p", max_tokens=100))).provider == "a"


async def test_a_preparation_failure_is_reported_as_the_first_try(
    make_router: RouterFactory,
) -> None:
    async def broken(request: AIRequest) -> AIRequest:
        raise BadRequestError("cannot fit", provider="a")

    a = FakeProvider("a", prepare_outcome=broken)
    router = make_router(
        [a, FakeProvider("b")],
        PRIORITY,
        {"a": replace(UNLIMITED, priority=1), "b": replace(UNLIMITED, priority=2)},
    )
    response = await router.process(AIRequest(prompt="p", images=(IMAGE,)))
    assert [(x.provider, x.outcome.value, x.retry) for x in response.attempts] == [
        ("a", "skipped", 0),
        ("b", "success", 0),
    ]


async def test_a_later_candidate_removed_meanwhile_makes_this_one_the_last(
    make_router: RouterFactory, clock: FakeClock, sleep: FakeSleep
) -> None:
    # While a prepares an image, b is disabled: a's short rate-limit wait is then worth taking.
    ready = asyncio.Event()

    async def slow(request: AIRequest) -> AIRequest:
        await ready.wait()
        return request

    a = FakeProvider("a", prepare_outcome=slow)
    settings = {
        "a": replace(UNLIMITED, priority=1, rate_limit_rpm=1, burst_allowance=0),
        "b": replace(UNLIMITED, priority=2),
    }
    router = make_router([a, FakeProvider("b")], PRIORITY, settings)
    await router.process(
        AIRequest(prompt="spends a's request of the minute", provider="a")
    )
    clock.advance(59.5)
    task = asyncio.create_task(router.process(AIRequest(prompt="p", images=(IMAGE,))))
    await asyncio.sleep(0)
    router.update_providers(
        [a, FakeProvider("b")], {**settings, "b": replace(settings["b"], enabled=False)}
    )
    ready.set()
    assert (await task).provider == "a"
    assert sleep.calls == [pytest.approx(0.5)]


async def test_a_wait_of_exactly_the_slack_is_taken(
    make_router: RouterFactory, clock: FakeClock, sleep: FakeSleep
) -> None:
    clock.now = 0.0  # so that a 0.05 s block leaves a wait of exactly 0.05 s
    a = FakeProvider(
        "a", script=[RateLimitError("slow", provider="a", retry_after=0.05)]
    )
    settings = {
        "a": replace(UNLIMITED, priority=1, max_retries=0),
        "b": replace(UNLIMITED, priority=2),
    }
    router = make_router([a, FakeProvider("b")], PRIORITY, settings)
    assert (await router.process(AIRequest(prompt="one"))).provider == "b"
    assert (await router.process(AIRequest(prompt="two"))).provider == "a"
    assert sleep.calls == [0.05]


def _priority(*names: str) -> dict[str, ProviderSettings]:
    return {
        name: replace(UNLIMITED, priority=index + 1) for index, name in enumerate(names)
    }


def _tried(response: object) -> list[tuple[str, str, str | None, int]]:
    return [
        (a.provider, a.outcome.value, a.category, a.retry)
        for a in response.attempts  # type: ignore[attr-defined]
    ]


async def test_too_long_fails_over_to_a_window_just_large_enough(
    make_router: RouterFactory,
) -> None:
    # The answer names the window it did not fit (100,000, below what the tables say): one token
    # more fits.
    a = FakeProvider(
        "a",
        context_window=128_000,
        script=[
            ContextLengthError(
                "too long", provider="a", status=400, context_window=100_000
            )
        ],
    )
    b = FakeProvider("b", context_window=100_001)
    router = make_router([a, b], PRIORITY, _priority("a", "b"))
    response = await router.process(AIRequest(prompt="p"))
    assert _tried(response) == [
        ("a", "error", "context_length", 0),
        ("b", "success", None, 0),
    ]


async def test_too_long_skips_every_window_below_the_tokens_the_answer_names(
    make_router: RouterFactory,
) -> None:
    a = FakeProvider(
        "a",
        script=[
            ContextLengthError(
                "too long",
                provider="a",
                status=400,
                context_window=128_000,
                requested_tokens=150_000,
            )
        ],
    )
    b = FakeProvider("b", context_window=149_999)
    c = FakeProvider("c", context_window=150_000)
    router = make_router([a, b, c], PRIORITY, _priority("a", "b", "c"))
    response = await router.process(AIRequest(prompt="p"))
    assert _tried(response) == [
        ("a", "error", "context_length", 0),
        ("b", "skipped", "context_length", 0),
        ("c", "success", None, 0),
    ]
    assert b.calls == []


async def test_too_long_without_figures_needs_more_than_the_models_own_window(
    make_router: RouterFactory,
) -> None:
    a = FakeProvider(
        "a",
        context_window=128_000,
        script=[ContextLengthError("too long", provider="a", status=400)],
    )
    b = FakeProvider("b", context_window=128_000)
    c = FakeProvider("c", context_window=200_000)
    router = make_router([a, b, c], PRIORITY, _priority("a", "b", "c"))
    response = await router.process(AIRequest(prompt="p"))
    assert _tried(response)[1:] == [
        ("b", "skipped", "context_length", 0),
        ("c", "success", None, 0),
    ]
    # Neutral: the breaker of the provider it did not fit counted nothing.
    assert router.provider_stats("a").breaker_state == "closed"


async def test_spent_quota_pauses_for_its_cooldown_or_the_longer_retry_after(
    make_router: RouterFactory, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(QuotaExhaustedError, "cooldown_seconds", 0.5)
    a = FakeProvider(
        "a",
        script=[
            QuotaExhaustedError("spent", provider="a", status=429),
            QuotaExhaustedError("spent", provider="a", status=429, retry_after=2.0),
        ],
    )
    b = FakeProvider("b")
    router = make_router([a, b], PRIORITY, _priority("a", "b"))
    assert (await router.process(AIRequest(prompt="one"))).provider == "b"
    clock.advance(0.4)
    assert (await router.process(AIRequest(prompt="two"))).provider == "b"
    clock.advance(0.2)  # the cooldown (0.5 s) is over; the answer named no time
    assert (await router.process(AIRequest(prompt="three"))).provider == "b"
    # The second answer named 2 s, longer than the cooldown: that holds.
    clock.advance(1.9)
    response = await router.process(AIRequest(prompt="four"))
    assert _tried(response)[0] == ("a", "skipped", "rate_limited_local", 0)
    clock.advance(0.2)
    assert (await router.process(AIRequest(prompt="five"))).provider == "a"
    assert router.provider_stats("a").breaker_state == "closed"


async def test_too_long_twice_needs_the_larger_of_the_two_windows(
    make_router: RouterFactory,
) -> None:
    a = FakeProvider(
        "a",
        script=[
            ContextLengthError(
                "too long", provider="a", status=400, requested_tokens=150_000
            )
        ],
    )
    b = FakeProvider(
        "b",
        context_window=200_000,
        script=[ContextLengthError("too long", provider="b", status=400)],
    )
    c = FakeProvider("c", context_window=180_000)
    d = FakeProvider("d", context_window=300_000)
    router = make_router([a, b, c, d], PRIORITY, _priority("a", "b", "c", "d"))
    response = await router.process(AIRequest(prompt="p"))
    assert _tried(response) == [
        ("a", "error", "context_length", 0),
        ("b", "error", "context_length", 0),
        ("c", "skipped", "context_length", 0),
        ("d", "success", None, 0),
    ]
