"""What the router reports: its log records, cost summary, capabilities and saved state (gaps
scripts/mutate reporting.py found)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
import logging

import pytest

from custom_components.aicleaner.router import RouterConfig, SelectionStrategy
from custom_components.aicleaner.router.errors import (
    AllProvidersFailed,
    ProviderServerError,
)
from custom_components.aicleaner.router.models import AIRequest

from .conftest import UNLIMITED, RouterFactory
from .fakes import FakeClock, FakeProvider

PRIORITY = RouterConfig(selection_strategy=SelectionStrategy.PRIORITY, cache_ttl=0)
LOGGER = "custom_components.aicleaner.router"


def records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.INFO]


async def test_log_records_give_the_response_time_in_seconds(
    make_router: RouterFactory, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    a = FakeProvider("a", clock=clock, latency=1.5)
    router = make_router([a], PRIORITY, {"a": replace(UNLIMITED, max_retries=0)})
    await router.process(AIRequest(prompt="p"))
    a.script.append(ProviderServerError("down", provider="a", status=500))
    with pytest.raises(AllProvidersFailed):
        await router.process(AIRequest(prompt="q"))
    success, failure = records(caplog)
    assert success.response_time == pytest.approx(1.5)  # type: ignore[attr-defined]
    assert "in 1.500 s" in success.getMessage()
    assert failure.response_time == pytest.approx(1.5)  # type: ignore[attr-defined]
    assert failure.getMessage().endswith(
        "failed after 1.500 s: all providers failed: a (provider)"
    )
    assert (failure.event, failure.provider, failure.cost, failure.cached) == (  # type: ignore[attr-defined]
        "request_failed",
        None,
        0.0,
        False,
    )
    assert failure.attempts[0]["category"] == "provider"  # type: ignore[attr-defined]


async def test_a_failure_with_no_candidate_says_no_provider_could_serve_it(
    make_router: RouterFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    router = make_router([FakeProvider("a", is_local=False)], PRIORITY)
    with pytest.raises(AllProvidersFailed):
        await router.process(AIRequest(prompt="p", local_only=True))
    (failure,) = records(caplog)
    assert failure.getMessage().endswith(
        "all providers failed: no provider could serve it"
    )


async def test_capabilities_are_the_providers_own(make_router: RouterFactory) -> None:
    a = FakeProvider("a", vision=False, tokens_per_image=77)
    router = make_router([a], PRIORITY)
    assert router.provider_capabilities("a") == a.capabilities()


async def test_a_budget_spent_to_the_last_cent_is_exhausted_one_with_money_left_is_not(
    make_router: RouterFactory,
) -> None:
    a = FakeProvider("a")
    router = make_router(
        [a, FakeProvider("b")],
        PRIORITY,
        {"a": replace(UNLIMITED, daily_budget=1.0), "b": UNLIMITED},
    )
    summary = router.get_cost_summary()["provider_costs"]
    assert summary["a"]["budget_exhausted"] is False  # 1.0 left
    assert summary["b"]["budget_exhausted"] is False  # no budget at all
    await router.process(AIRequest(prompt="p", provider="a"))
    spent = router.get_cost_summary()["provider_costs"]["a"]["total_cost"]
    assert spent > 0
    router.update_providers(
        [a, FakeProvider("b")],
        {"a": replace(UNLIMITED, daily_budget=spent), "b": UNLIMITED},
    )
    assert router.get_cost_summary()["provider_costs"]["a"]["budget_exhausted"] is True


async def test_state_saved_as_version_1_is_restored_another_version_is_not(
    make_router: RouterFactory,
) -> None:
    day = FakeClock().wall().date().isoformat()
    saved = {
        "version": 1,
        "budget": {"day": day, "providers": {"a": {"cost": 0.25, "requests": 3}}},
        "stats": {"day": day, "overall": {}, "providers": {}},
    }
    router = make_router([FakeProvider("a")], PRIORITY)
    router.restore_state(saved)
    assert router.provider_stats("a").cost_today == 0.25
    assert router.export_state()["version"] == 1
    other = make_router([FakeProvider("a")], PRIORITY)
    other.restore_state({**saved, "version": 2})
    assert other.provider_stats("a").cost_today == 0.0


async def test_counters_of_a_saved_day_ahead_of_the_clock_follow_the_budget_there(
    make_router: RouterFactory,
) -> None:
    # A device booted with its clock behind: the ledger moves to the saved day, and so do the
    # day's counters, which are restored rather than dropped as another day's.
    day = (FakeClock().wall().date() + timedelta(days=1)).isoformat()
    saved = {
        "version": 1,
        "budget": {"day": day, "providers": {"a": {"cost": 0.25, "requests": 5}}},
        "stats": {
            "day": day,
            "overall": {"total_requests": 5, "successful_requests": 5},
            "providers": {},
        },
    }
    router = make_router([FakeProvider("a")], PRIORITY)
    router.restore_state(saved)
    snapshot = router.snapshot()
    assert (snapshot.day, snapshot.total_requests) == (day, 5)


async def test_attempt_latencies_in_log_records_are_rounded_to_the_microsecond(
    make_router: RouterFactory, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    router = make_router([FakeProvider("a", clock=clock, latency=0.00123456)], PRIORITY)
    await router.process(AIRequest(prompt="p"))
    (success,) = records(caplog)
    assert success.attempts[0]["latency_ms"] == 1.235  # type: ignore[attr-defined]
