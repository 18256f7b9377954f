"""Money under load, an outage and its recovery, and a slow provider, through `aicleaner.analyze`."""

from __future__ import annotations

import asyncio
from functools import partial
import time
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest

from custom_components.aicleaner import runtime
from custom_components.aicleaner.const import (
    CONF_BREAKER_TIMEOUT,
    CONF_DAILY_BUDGET,
    CONF_FAILURE_THRESHOLD,
    CONF_MAX_RETRIES,
    CONF_PRICE_INPUT,
    CONF_PRICE_OUTPUT,
    CONF_TIMEOUT_SECONDS,
    DOMAIN,
)
from custom_components.aicleaner.router import Router
from tests.router.fakes import OffsetClock
from tests.simulator import Fault, SimulatorServer

from .conftest import Setup, analyze

# --- budget under load ------------------------------------------------------------------------

# 200 characters of reply = 50 output tokens; at 200 USD per million output tokens that is 0.01 USD.
REPLY = "Dust the shelf. " * 12 + "Mop it."
OUTPUT_PRICE = 200.0


async def test_a_thousand_concurrent_calls_never_spend_past_a_one_dollar_budget(
    hass: HomeAssistant, setup_reliable: Setup, simulator: SimulatorServer
) -> None:
    priced = {
        CONF_PRICE_INPUT: 0.0,
        CONF_PRICE_OUTPUT: OUTPUT_PRICE,
        CONF_TIMEOUT_SECONDS: 30.0,
    }
    entry = await setup_reliable(
        ("openai", "OpenAI", {**priced, CONF_DAILY_BUDGET: 0.6}),
        ("anthropic", "Claude", {**priced, CONF_DAILY_BUDGET: None}),
        options={"global_daily_budget": 1.0},
    )
    simulator.sim.set_reply("openai", REPLY)
    simulator.sim.set_reply("anthropic", REPLY)

    async def one(number: int) -> dict[str, Any] | HomeAssistantError:
        try:
            return await analyze(
                hass, prompt=f"Task {number}", max_tokens=60, use_cache=False
            )
        except HomeAssistantError as err:
            return err

    results = await asyncio.gather(*(one(number) for number in range(1000)))
    answers = [r for r in results if isinstance(r, dict)]
    refusals = [r for r in results if isinstance(r, HomeAssistantError)]

    assert len(answers) + len(refusals) == 1000
    costs = [answer["cost"] for answer in answers]
    assert all(cost == pytest.approx(0.01, rel=0.2) for cost in costs)
    # Spend never passes the dollar. (A burst reserves each call's upper bound before any answer
    # comes back, so part of the dollar is refused that the answers would not have used.)
    assert sum(costs) <= 1.0 + 1e-9
    assert len(answers) >= 40
    # Every refusal is a budget refusal that names the budget that refused.
    assert refusals
    for err in refusals:
        assert err.translation_key == "budget_exhausted", str(err)
        assert "global (" in str(err)
        assert "of 1.00 USD spent" in str(err)
    # The ledger, live and as saved, equals the sum of the answers' costs, to the cent.
    runtime = entry.runtime_data
    summary = runtime.router.get_cost_summary()
    assert round(summary["total_cost"], 2) == round(sum(costs), 2)
    per_provider = summary["provider_costs"]
    assert sum(f["total_cost"] for f in per_provider.values()) == pytest.approx(
        sum(costs)
    )
    # No reservation outlives its call.
    assert runtime.router._budget._total_reserved == pytest.approx(0.0, abs=1e-9)
    openai_key = next(k for k, s in entry.subentries.items() if s.title == "OpenAI")
    assert per_provider[openai_key]["total_cost"] <= 0.6 + 1e-9
    await runtime.ledger.async_save()
    metrics = await hass.services.async_call(
        DOMAIN, "get_metrics", {}, blocking=True, return_response=True
    )
    assert round(metrics["costs"]["last_30_days"][-1]["cost"], 2) == round(
        sum(costs), 2
    )


# --- outage and recovery ----------------------------------------------------------------------

THRESHOLD = 3
# The breakers' open time: far longer than any run of requests below takes, however busy the
# machine; the tests move the router's clock past it instead of waiting for it.
OPEN_FOR = 60.0


@pytest.fixture
def router_clock(monkeypatch: pytest.MonkeyPatch) -> OffsetClock:
    """The clock of the router the entry set up next builds."""
    clock = OffsetClock()
    monkeypatch.setattr(runtime, "Router", partial(Router, clock=clock))
    return clock


async def test_an_outage_moves_traffic_within_the_threshold_and_trials_bring_it_back(
    hass: HomeAssistant,
    setup_reliable: Setup,
    simulator: SimulatorServer,
    router_clock: OffsetClock,
) -> None:
    outage = {
        CONF_FAILURE_THRESHOLD: THRESHOLD,
        CONF_BREAKER_TIMEOUT: OPEN_FOR,
        CONF_MAX_RETRIES: 0,
    }
    await setup_reliable(("openai", "Primary", outage), ("anthropic", "Backup", {}))
    sim = simulator.sim
    for number in range(5):
        assert (await analyze(hass, prompt=f"before {number}"))["provider"] == "Primary"

    sim.set_fault("openai", Fault(kind="status", status=503))
    sim.reset_requests()
    served = [
        await analyze(hass, prompt=f"during {number}", use_cache=False)
        for number in range(20)
    ]
    # Every request was answered; the primary was called at most `failure_threshold` times.
    assert all(answer["provider"] == "Backup" for answer in served)
    assert sim.request_count("openai") == THRESHOLD
    assert [a["outcome"] for a in served[THRESHOLD]["attempts"]] == [
        "skipped",
        "success",
    ]
    assert served[THRESHOLD]["attempts"][0]["category"] == "breaker_open"

    # It comes back: after the open time a half-open trial reaches it, and traffic returns.
    sim.clear_faults("openai")
    router_clock.offset += OPEN_FOR
    after = [
        await analyze(hass, prompt=f"after {number}", use_cache=False)
        for number in range(5)
    ]
    assert [answer["provider"] for answer in after] == ["Primary"] * 5
    metrics = await hass.services.async_call(
        DOMAIN, "get_metrics", {}, blocking=True, return_response=True
    )
    assert metrics["performance"]["providers"]["Primary"]["breaker_state"] == "closed"


async def test_a_failed_trial_opens_the_breaker_again(
    hass: HomeAssistant,
    setup_reliable: Setup,
    simulator: SimulatorServer,
    router_clock: OffsetClock,
) -> None:
    outage = {
        CONF_FAILURE_THRESHOLD: THRESHOLD,
        CONF_BREAKER_TIMEOUT: OPEN_FOR,
        CONF_MAX_RETRIES: 0,
    }
    await setup_reliable(("openai", "Primary", outage), ("anthropic", "Backup", {}))
    sim = simulator.sim
    sim.set_fault("openai", Fault(kind="status", status=500))
    for number in range(THRESHOLD + 2):
        await analyze(hass, prompt=f"down {number}", use_cache=False)
    sim.reset_requests()
    router_clock.offset += OPEN_FOR
    # Half-open: one trial, it fails, the breaker opens at once (no second threshold's worth).
    for number in range(5):
        answer = await analyze(hass, prompt=f"trial {number}", use_cache=False)
        assert answer["provider"] == "Backup"
    assert sim.request_count("openai") == 1


# --- slow provider ----------------------------------------------------------------------------

# The figures are 20 s against a 5 s deadline; scaled down to keep the suite fast: the
# provider answers in 5 s, the request's deadline is 2 s, the attempt timeout 0.2 s. A request that
# fails over after its attempt timeout ends well within the deadline even on a busy machine; one
# held by the slow provider does not. (The simulator drops a slow answer whose client left, so the
# 5 s is never waited for.)
SLOW = 5.0
DEADLINE = 2.0


async def test_a_slow_provider_does_not_hold_requests_past_their_deadline(
    hass: HomeAssistant, setup_reliable: Setup, simulator: SimulatorServer
) -> None:
    slow = {CONF_TIMEOUT_SECONDS: 0.2, CONF_MAX_RETRIES: 0}
    # The action's `timeout` starts at 1 s; the scaled deadline is the entry's request timeout.
    await setup_reliable(
        ("openai", "Slow", slow),
        ("anthropic", "Quick", {}),
        options={"request_timeout": DEADLINE},
    )
    simulator.sim.set_fault("openai", Fault(kind="latency", latency=SLOW))
    times: list[float] = []

    async def one(number: int) -> dict[str, Any]:
        started = time.monotonic()
        answer = await analyze(hass, prompt=f"slow {number}", use_cache=False)
        times.append(time.monotonic() - started)
        return answer

    answers = await asyncio.gather(*(one(number) for number in range(10)))
    assert all(answer["provider"] == "Quick" for answer in answers)
    assert all(
        answer["attempts"][0]["category"] in ("timeout", "breaker_open")
        for answer in answers
    )
    assert max(times) < DEADLINE


# --- a rate-limited provider with every other one shut ----------------------------------------


async def test_a_rate_limited_provider_is_waited_for_when_every_later_one_is_shut(
    hass: HomeAssistant, setup_reliable: Setup, simulator: SimulatorServer
) -> None:
    """Found by the soak: the router waited out a provider's Retry-After only for the last candidate
    in its order, so with the later ones' breakers open a request failed at once although the
    provider would take it within a second."""
    shut_after_one = {
        CONF_FAILURE_THRESHOLD: 1,
        CONF_BREAKER_TIMEOUT: 60.0,
        CONF_MAX_RETRIES: 0,
    }
    await setup_reliable(
        ("anthropic", "Claude", {CONF_MAX_RETRIES: 0}),
        ("openai", "Shut", shut_after_one),
    )
    sim = simulator.sim
    sim.set_fault("openai", Fault(kind="status", status=500, count=1))
    with pytest.raises(HomeAssistantError):
        await analyze(hass, prompt="open its breaker", provider="Shut")
    # Claude answers 429 with Retry-After: 1 (whole seconds), once.
    sim.set_fault("anthropic", Fault(kind="rate_limit", retry_after=0.2, count=1))
    with pytest.raises(HomeAssistantError):
        await analyze(hass, prompt="first", use_cache=False)
    answer = await analyze(hass, prompt="second", use_cache=False)
    assert answer["provider"] == "Claude"
    assert sim.request_count("openai") == 1
