"""Rate-limit waits never lose a request: the real clients against the simulator, over real HTTP.

- A provider passed over for its local rate limit, while another could still answer, is tried
  again when the others fail, if it frees up within the deadline.
- Requests that wait for a rate-limit token are served in arrival order: none is refused after
  its wait.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import random

import aiohttp
import pytest

from custom_components.aicleaner.providers import create_provider
from custom_components.aicleaner.router import (
    ProviderSettings,
    Router,
    RouterConfig,
    SelectionStrategy,
)
from custom_components.aicleaner.router.errors import AllProvidersFailed
from custom_components.aicleaner.router.models import AIRequest
from tests.simulator import Fault, SimulatorServer

from .fakes import FakeClock, FakeSleep

MODELS = {
    "openai": "gpt-4o-mini",
    "anthropic": "claude-haiku-4-5",
    "gemini": "gemini-2.5-flash",
}


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def _settings(priority: int, **kwargs: object) -> ProviderSettings:
    values: dict[str, object] = {
        "priority": priority,
        "max_retries": 0,
        "timeout_seconds": 5.0,
        "rate_limit_rpm": None,
        "rate_limit_tpm": None,
        "rate_limit_rph": None,
        "burst_allowance": 0,
        "daily_budget": None,
    }
    values.update(kwargs)
    return ProviderSettings(**values)  # type: ignore[arg-type]


def _router(
    simulator: SimulatorServer,
    session: aiohttp.ClientSession,
    settings: dict[str, ProviderSettings],
    **kwargs: object,
) -> Router:
    providers = [
        create_provider(
            kind,
            session,
            name=kind,
            model=MODELS[kind],
            api_key="sk-sim-valid-key",
            base_url=simulator.provider_url(kind),
        )
        for kind in settings
    ]
    return Router(
        providers,
        RouterConfig(selection_strategy=SelectionStrategy.PRIORITY, cache_ttl=0),
        provider_settings=settings,
        rng=random.Random(0),
        **kwargs,  # type: ignore[arg-type]
    )


def _outcomes(attempts: object) -> list[tuple[str, str, str | None]]:
    return [(a.provider, a.outcome.value, a.category) for a in attempts]  # type: ignore[attr-defined]


async def test_a_rate_limited_provider_is_revisited_when_the_others_fail(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    sleep = FakeSleep(FakeClock())
    # One request a minute on openai; anthropic free, but about to fail.
    router = _router(
        simulator,
        session,
        {"openai": _settings(1, rate_limit_rpm=1), "anthropic": _settings(2)},
        clock=sleep.clock,
        sleep=sleep,
    )
    first = await router.process(AIRequest(prompt="first", timeout=120))
    assert first.provider == "openai"
    simulator.sim.set_fault("anthropic", Fault(kind="status", status=500))
    second = await router.process(AIRequest(prompt="second", timeout=120))
    assert second.provider == "openai"
    assert _outcomes(second.attempts) == [
        ("openai", "skipped", "rate_limited_local"),
        ("anthropic", "error", "provider"),
        ("openai", "success", None),
    ]
    # It waited for openai's next token (60 s at 1 rpm), well within its 120 s deadline.
    assert len(sleep.calls) == 1
    assert sleep.calls[0] == pytest.approx(60)
    assert simulator.sim.request_count("openai") == 2


async def test_a_revisit_that_cannot_fit_the_deadline_fails_at_once_saying_so(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    sleep = FakeSleep(FakeClock())
    router = _router(
        simulator,
        session,
        {"openai": _settings(1, rate_limit_rpm=1), "anthropic": _settings(2)},
        clock=sleep.clock,
        sleep=sleep,
    )
    await router.process(AIRequest(prompt="first", timeout=120))
    simulator.sim.set_fault("anthropic", Fault(kind="status", status=500))
    with pytest.raises(AllProvidersFailed) as caught:
        await router.process(AIRequest(prompt="second", timeout=30))
    assert _outcomes(caught.value.attempts) == [
        ("openai", "skipped", "rate_limited_local"),
        ("anthropic", "error", "provider"),
        ("openai", "skipped", "deadline"),
    ]
    assert sleep.calls == []
    assert simulator.sim.request_count("openai") == 1


async def test_the_soonest_free_of_several_rate_limited_providers_is_revisited_first(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    sleep = FakeSleep(FakeClock())
    # Both limited, anthropic (2 rpm: free in 30 s) sooner than openai (1 rpm: free in 60 s);
    # gemini free, but about to fail.
    router = _router(
        simulator,
        session,
        {
            "openai": _settings(1, rate_limit_rpm=1),
            "anthropic": _settings(2, rate_limit_rpm=2),
            "gemini": _settings(3),
        },
        clock=sleep.clock,
        sleep=sleep,
    )
    await router.process(AIRequest(prompt="to openai", timeout=120))
    await router.process(AIRequest(prompt="to anthropic", provider="anthropic"))
    await router.process(AIRequest(prompt="to anthropic", provider="anthropic"))
    simulator.sim.set_fault("gemini", Fault(kind="status", status=500))
    response = await router.process(AIRequest(prompt="now?", timeout=120))
    assert response.provider == "anthropic"
    assert _outcomes(response.attempts) == [
        ("openai", "skipped", "rate_limited_local"),
        ("anthropic", "skipped", "rate_limited_local"),
        ("gemini", "error", "provider"),
        ("anthropic", "success", None),
    ]
    assert sleep.calls == [pytest.approx(30)]


async def test_concurrent_requests_past_the_rate_limit_wait_in_turn_and_none_is_refused(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    # 120 requests a minute (one every 0.5 s once the bucket is empty), 123 at once: the last
    # three wait 0.5, 1.0 and 1.5 s, in real time, and every one is answered.
    router = _router(simulator, session, {"openai": _settings(1, rate_limit_rpm=120)})
    results = await asyncio.gather(
        *(
            router.process(AIRequest(prompt=f"room {index}", timeout=120))
            for index in range(123)
        ),
        return_exceptions=True,
    )
    failures = [result for result in results if isinstance(result, BaseException)]
    assert failures == []
    assert simulator.sim.request_count("openai") == 123
    # The three that waited were sent in the order they arrived, each after its turn (the
    # others, sent at once, may reach the simulator in any order).
    sent = [
        recorded.json["messages"][-1]["content"]
        for recorded in simulator.sim.requests["openai"]
    ]
    waiters = [sent.index(f"room {index}") for index in (120, 121, 122)]
    assert waiters == sorted(waiters)
