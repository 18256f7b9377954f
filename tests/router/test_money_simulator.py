"""Money through the router and the real clients, over real HTTP against the simulator.

What the ledger books must be what the provider (or the gateway in front of it) billed: at the
router's day, at the model that answered, at the gateway's own figure, at the reservation when the
usage is half reported; a cache hit bills nothing; the metrics' total is the ledger's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from custom_components.aicleaner.providers import base as provider_base, create_provider
from custom_components.aicleaner.router import (
    ProviderSettings,
    Router,
    RouterConfig,
    SelectionStrategy,
)
from custom_components.aicleaner.router.errors import AllProvidersFailed
from custom_components.aicleaner.router.models import (
    AIRequest,
    CostSource,
    ModelPrice,
    Usage,
)
from tests.simulator import Fault, SimulatorServer
from tests.simulator.gateway import Gateway

KEY = "sk-sim-valid-key"


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@dataclass(frozen=True)
class Spec:
    """One provider of a test router: the simulator protocol, client kind and model."""

    name: str
    kind: str
    model: str
    protocol: str


OPENAI = Spec("openai", "openai", "gpt-4o-mini", "openai")
ANTHROPIC = Spec("anthropic", "anthropic", "claude-haiku-4-5", "anthropic")
GEMINI = Spec("gemini", "gemini", "gemini-2.5-flash", "gemini")


def _settings(priority: int, **kwargs: object) -> ProviderSettings:
    values: dict[str, object] = {
        "priority": priority,
        "max_retries": 0,
        "timeout_seconds": 5.0,
        "rate_limit_rpm": None,
        "rate_limit_tpm": None,
        "rate_limit_rph": None,
        "daily_budget": None,
    }
    values.update(kwargs)
    return ProviderSettings(**values)  # type: ignore[arg-type]


def _router(
    simulator: SimulatorServer,
    session: aiohttp.ClientSession,
    specs: Sequence[Spec],
    *,
    cache_ttl: float = 0,
    settings: dict[str, ProviderSettings] | None = None,
    **router_kwargs: object,
) -> Router:
    providers = [
        create_provider(
            spec.kind,
            session,
            name=spec.name,
            model=spec.model,
            api_key=KEY,
            base_url=simulator.provider_url(spec.protocol),
        )
        for spec in specs
    ]
    per_provider = {spec.name: _settings(i + 1) for i, spec in enumerate(specs)}
    per_provider.update(settings or {})
    return Router(
        providers,
        RouterConfig(
            selection_strategy=SelectionStrategy.PRIORITY, cache_ttl=cache_ttl
        ),
        provider_settings=per_provider,
        **router_kwargs,  # type: ignore[arg-type]
    )


def _cost(price: ModelPrice, usage: Usage) -> float:
    return price.cost(usage.input_tokens, usage.output_tokens)


class _ProcessDate(date):
    """The date in the process's own zone (UTC-12) while the router's zone (UTC+14) is 2 days on."""

    @classmethod
    def today(cls) -> _ProcessDate:
        return cls(2026, 12, 30)


async def test_a_dated_price_change_is_booked_at_the_routers_day_and_the_budget_holds(
    simulator: SimulatorServer,
    session: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # gemini-3.8-flash doubles on 2027-01-01. At 11:00 UTC on 2026-12-31 it is 01:00 on Jan 1 in
    # Kiritimati (the router's, HA's zone) and 23:00 on Dec 30 in a UTC-12 process.
    monkeypatch.setattr(provider_base, "date", _ProcessDate)
    budget = 0.004
    router = _router(
        simulator,
        session,
        [Spec("gemini", "gemini", "gemini-3.8-flash", "gemini")],
        settings={"gemini": _settings(1, daily_budget=budget)},
        tz=ZoneInfo("Pacific/Kiritimati"),
        wall_clock=lambda: datetime(2026, 12, 31, 11, tzinfo=UTC),
    )
    assert router.day == date(2027, 1, 1)
    new_price = ModelPrice(1.50, 7.50)
    served = []
    refused: AllProvidersFailed | None = None
    for index in range(40):
        try:
            served.append(
                await router.process(
                    AIRequest(prompt=f"Room {index}: what to clean?", max_tokens=100)
                )
            )
        except AllProvidersFailed as err:
            refused = err
            break
    assert refused is not None
    assert [a.category for a in refused.attempts] == ["budget"]
    assert len(served) >= 2
    billed = sum(_cost(new_price, response.usage) for response in served)
    for response in served:
        assert response.cost == pytest.approx(_cost(new_price, response.usage))
    # What the provider billed stays within the budget, and the ledger says so.
    assert billed <= budget
    assert router.get_cost_summary()["total_cost"] == pytest.approx(billed)


async def test_a_gateway_cost_above_the_reservation_is_booked_and_stops_the_budget(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    gateway = Gateway("litellm", default_rates=(20_000.0, 20_000.0))
    simulator.sim.protocols["compatible"].gateway = gateway  # type: ignore[attr-defined]
    spec = Spec("proxy", "openai_compatible", "llama-3.1-8b-instruct", "compatible")
    router = _router(
        simulator,
        session,
        [spec],
        settings={"proxy": _settings(1, daily_budget=0.5)},
    )
    request = AIRequest(prompt="What needs cleaning?", max_tokens=50)
    (candidate,) = router._candidates(request, need_headroom=False)
    response = await router.process(request)
    assert response.cost_source is CostSource.GATEWAY
    assert response.cost == gateway.billed[-1]
    assert response.cost > candidate.cost  # above its reservation: booked all the same
    summary = router.get_cost_summary()
    assert summary["total_cost"] == response.cost
    assert summary["provider_costs"]["proxy"]["budget_remaining"] == 0.0
    assert summary["provider_costs"]["proxy"]["budget_exhausted"] is True
    with pytest.raises(AllProvidersFailed) as caught:
        await router.process(AIRequest(prompt="And now?", max_tokens=50))
    assert [a.category for a in caught.value.attempts] == ["budget"]
    assert len(gateway.billed) == 1


async def test_a_gateway_fallback_is_booked_at_the_model_that_answered(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    openai = simulator.sim.protocols["openai"]
    openai.models = {**openai.models, "gpt-4o-mini": "gpt-4o-2024-08-06"}  # type: ignore[attr-defined]
    router = _router(simulator, session, [OPENAI])
    response = await router.process(
        AIRequest(prompt="Describe the hall.", max_tokens=80)
    )
    assert response.model == "gpt-4o-2024-08-06"
    assert response.cost == pytest.approx(_cost(ModelPrice(2.5, 10.0), response.usage))
    assert router.get_cost_summary()["total_cost"] == response.cost


async def test_gemini_half_reported_usage_is_booked_at_the_reservation(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    simulator.sim.protocols["gemini"].omit_usage = frozenset({"candidatesTokenCount"})  # type: ignore[attr-defined]
    router = _router(simulator, session, [GEMINI])
    request = AIRequest(prompt="Which room is dusty?", max_tokens=300)
    (candidate,) = router._candidates(request, need_headroom=False)
    response = await router.process(request)
    assert response.cost_estimated is True
    assert response.cost_source is CostSource.RESERVATION
    assert response.cost == candidate.cost
    entry = router.get_cost_summary()["provider_costs"]["gemini"]
    assert entry["total_cost"] == candidate.cost
    assert entry["output_tokens"] == 300  # the output bound, not the half usage


async def test_a_cache_hit_bills_no_tokens_and_its_cost_is_exact(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    # The first answer reported no usage: it was booked at its reservation, an estimate.
    simulator.sim.protocols["gemini"].omit_usage = frozenset({"candidatesTokenCount"})  # type: ignore[attr-defined]
    router = _router(simulator, session, [GEMINI], cache_ttl=60)
    first = await router.process(AIRequest(prompt="Is the floor clean?"))
    hit = await router.process(AIRequest(prompt="Is the floor clean?"))
    assert first.cost_estimated is True
    assert simulator.sim.request_count("gemini") == 1
    assert hit.cached is True
    assert hit.usage == Usage(0, 0)
    assert hit.cost == 0.0
    assert hit.cost_estimated is False
    assert hit.cost_source is CostSource.CACHE
    assert router.get_cost_summary()["total_cost"] == first.cost


async def test_metrics_total_cost_is_the_ledgers_billed_failures_included(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    # A 200 whose body cannot be read was generated and billed: the ledger charges its reservation.
    simulator.sim.set_fault("openai", Fault(kind="malformed_json", count=1))
    router = _router(simulator, session, [OPENAI, ANTHROPIC])
    response = await router.process(AIRequest(prompt="Tidy up?", max_tokens=64))
    assert response.provider == "anthropic"
    ledger = router.get_cost_summary()
    assert ledger["provider_costs"]["openai"]["total_cost"] > 0
    overall = router.get_performance_metrics()["overall_stats"]
    assert overall["total_cost"] == ledger["total_cost"]
    assert overall["total_cost"] > response.cost
