"""Failover with the real provider clients against the provider simulator, a fault of every category.

The router's clock is the real monotonic clock (the simulator runs in real time); its sleep only
records the wait, so that backoff and Retry-After cost no time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
import io
import random
import time

import aiohttp
from PIL import Image
import pytest

from custom_components.aicleaner.providers import create_provider
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
)
from custom_components.aicleaner.router.models import AIRequest, ImageInput
from tests.simulator import Fault, SimulatorServer

from .fakes import OffsetClock, OffsetSleep

MODELS = {
    "openai": "gpt-4o-mini",
    "anthropic": "claude-haiku-4-5",
    "gemini": "gemini-2.5-flash",
    "ollama": "llava",
}
KINDS = tuple(MODELS)
# A PNG signature followed by nothing an image decoder can read.
BROKEN_IMAGE = ImageInput(b"\x89PNG\r\n\x1a\nnot really a png", "image/png")


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def settings(priority: int, **kwargs: object) -> ProviderSettings:
    values: dict[str, object] = {
        "priority": priority,
        "max_retries": 1,
        "timeout_seconds": 5.0,
        "rate_limit_rpm": None,
        "rate_limit_tpm": None,
        "rate_limit_rph": None,
        "daily_budget": 1.0,
    }
    values.update(kwargs)
    return ProviderSettings(**values)  # type: ignore[arg-type]


def build(
    simulator: SimulatorServer,
    session: aiohttp.ClientSession,
    kinds: tuple[str, ...],
    *,
    api_keys: dict[str, str] | None = None,
    provider_settings: dict[str, ProviderSettings] | None = None,
    sleep: OffsetSleep | None = None,
    clock: OffsetClock | None = None,
) -> Router:
    keys = api_keys or {}
    clock = clock or (sleep.clock if sleep else OffsetClock())
    providers = [
        create_provider(
            kind,
            session,
            name=kind,
            model=MODELS[kind],
            api_key=keys.get(kind, f"sk-test-{kind}"),
            base_url=simulator.provider_url(kind),
        )
        for kind in kinds
    ]
    per_provider = {kind: settings(index + 1) for index, kind in enumerate(kinds)}
    per_provider.update(provider_settings or {})
    return Router(
        providers,
        RouterConfig(selection_strategy=SelectionStrategy.PRIORITY, cache_ttl=0),
        provider_settings=per_provider,
        clock=clock,
        rng=random.Random(0),
        sleep=sleep or OffsetSleep(clock),
    )


def fallback_for(kind: str) -> str:
    return "anthropic" if kind == "openai" else "openai"


def outcomes(attempts: object) -> list[tuple[str, str, str | None]]:
    return [(a.provider, a.outcome.value, a.category) for a in attempts]  # type: ignore[attr-defined]


RETRYABLE_FAULTS = [
    pytest.param(Fault(kind="status", status=500), "provider", id="server_error"),
    pytest.param(Fault(kind="status", status=503), "overloaded", id="overloaded"),
    pytest.param(
        Fault(kind="rate_limit", retry_after=2.0), "rate_limit", id="rate_limit"
    ),
    pytest.param(Fault(kind="reset"), "network", id="connection_reset"),
    pytest.param(Fault(kind="malformed_json"), "malformed", id="malformed_json"),
    pytest.param(Fault(kind="html", status=200), "malformed", id="captive_portal_html"),
    pytest.param(Fault(kind="html", status=502), "provider", id="proxy_502_html"),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("fault", "category"), RETRYABLE_FAULTS)
async def test_retryable_fault_is_retried_then_fails_over(
    simulator: SimulatorServer,
    session: aiohttp.ClientSession,
    kind: str,
    fault: Fault,
    category: str,
) -> None:
    fallback = fallback_for(kind)
    simulator.sim.set_fault(kind, fault)
    sleep = OffsetSleep(OffsetClock())
    router = build(simulator, session, (kind, fallback), sleep=sleep)
    response = await router.process(
        AIRequest(prompt="What needs cleaning?", max_tokens=64)
    )
    assert response.provider == fallback
    assert outcomes(response.attempts) == [
        (kind, "error", category),
        (kind, "error", category),
        (fallback, "success", None),
    ]
    assert simulator.sim.request_count(kind) == 2
    if category == "rate_limit":
        assert sleep.calls == [pytest.approx(2.0, abs=1.0)]
        # Two 429s halved the provider's effective rate twice.
        assert router.provider_stats(kind).throttle_factor == 0.25
    assert router.provider_stats(kind).last_error_category == category


@pytest.mark.parametrize("kind", KINDS)
async def test_hanging_provider_times_out_and_fails_over(
    simulator: SimulatorServer, session: aiohttp.ClientSession, kind: str
) -> None:
    fallback = fallback_for(kind)
    simulator.sim.set_fault(kind, Fault(kind="hang"))
    router = build(
        simulator,
        session,
        (kind, fallback),
        provider_settings={kind: settings(1, max_retries=0, timeout_seconds=0.2)},
    )
    response = await router.process(AIRequest(prompt="Anyone there?", max_tokens=128))
    assert outcomes(response.attempts) == [
        (kind, "error", "timeout"),
        (fallback, "success", None),
    ]


# Ollama has no content filter of its own.
@pytest.mark.parametrize("kind", ["openai", "anthropic", "gemini"])
async def test_content_filter_fails_over_without_retry(
    simulator: SimulatorServer, session: aiohttp.ClientSession, kind: str
) -> None:
    fallback = fallback_for(kind)
    simulator.sim.set_fault(kind, Fault(kind="content_filter"))
    router = build(simulator, session, (kind, fallback))
    response = await router.process(
        AIRequest(prompt="Describe the room", max_tokens=128)
    )
    assert outcomes(response.attempts) == [
        (kind, "error", "content_filter"),
        (fallback, "success", None),
    ]


@pytest.mark.parametrize("kind", ["openai", "anthropic", "gemini"])
async def test_rejected_key_opens_the_breaker_until_credentials_change(
    simulator: SimulatorServer, session: aiohttp.ClientSession, kind: str
) -> None:
    fallback = fallback_for(kind)
    router = build(simulator, session, (kind, fallback), api_keys={kind: "bad-key"})
    first = await router.process(AIRequest(prompt="one", max_tokens=128))
    assert outcomes(first.attempts) == [
        (kind, "error", "auth"),
        (fallback, "success", None),
    ]
    second = await router.process(AIRequest(prompt="two", max_tokens=128))
    assert outcomes(second.attempts) == [
        (kind, "skipped", "breaker_open"),
        (fallback, "success", None),
    ]
    assert simulator.sim.request_count(kind) == 1
    assert router.provider_stats(kind).breaker_auth_failed


@pytest.mark.parametrize("kind", KINDS)
async def test_unknown_model_fails_over_to_the_next_provider(
    simulator: SimulatorServer, session: aiohttp.ClientSession, kind: str
) -> None:
    fallback = fallback_for(kind)
    simulator.sim.set_fault(kind, Fault(kind="status", status=404))
    router = build(simulator, session, (kind, fallback))
    response = await router.process(AIRequest(prompt="hello", max_tokens=128))
    # OpenAI's 404 carries the code model_not_found; the others' simulated 404 names no model.
    category = "model_not_found" if kind == "openai" else "bad_request"
    assert outcomes(response.attempts) == [
        (kind, "error", category),
        (fallback, "success", None),
    ]


@pytest.mark.parametrize("kind", KINDS)
async def test_unreadable_image_goes_back_to_the_caller(
    simulator: SimulatorServer, session: aiohttp.ClientSession, kind: str
) -> None:
    fallback = fallback_for(kind)
    router = build(simulator, session, (kind, fallback))
    with pytest.raises(BadRequestError) as raised:
        await router.process(AIRequest(prompt="What is this?", images=(BROKEN_IMAGE,)))
    assert raised.value.caller_input
    assert simulator.sim.request_count(fallback) == 0


async def test_every_provider_failing_raises_one_error_with_every_attempt(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    simulator.sim.set_fault("openai", Fault(kind="status", status=500))
    simulator.sim.set_fault("anthropic", Fault(kind="content_filter"))
    simulator.sim.set_fault("gemini", Fault(kind="reset"))
    router = build(
        simulator,
        session,
        ("openai", "anthropic", "gemini"),
        provider_settings={"gemini": settings(3, max_retries=0)},
    )
    with pytest.raises(AllProvidersFailed) as raised:
        await router.process(AIRequest(prompt="hello", max_tokens=128))
    assert outcomes(raised.value.attempts) == [
        ("openai", "error", "provider"),
        ("openai", "error", "provider"),
        ("anthropic", "error", "content_filter"),
        ("gemini", "error", "network"),
    ]
    assert raised.value.attempts[0].status == 500


async def test_breaker_opens_on_repeated_errors_and_a_trial_closes_it_after_recovery(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    clock = OffsetClock()
    breaker = BreakerSettings(
        failure_threshold=3, timeout_seconds=30, half_open_max_calls=1
    )
    router = build(
        simulator,
        session,
        ("gemini", "openai"),
        provider_settings={"gemini": settings(1, max_retries=0, breaker=breaker)},
        clock=clock,
    )
    simulator.sim.set_fault("gemini", Fault(kind="status", status=500))
    for index in range(3):
        await router.process(AIRequest(prompt=f"q{index}", max_tokens=128))
    assert router.provider_stats("gemini").breaker_state == "open"
    skipped = await router.process(AIRequest(prompt="q3", max_tokens=128))
    assert outcomes(skipped.attempts)[0] == ("gemini", "skipped", "breaker_open")
    assert simulator.sim.request_count("gemini") == 3
    simulator.sim.clear_faults("gemini")
    clock.offset += 30
    recovered = await router.process(AIRequest(prompt="q4", max_tokens=128))
    assert recovered.provider == "gemini"
    assert router.provider_stats("gemini").breaker_state == "closed"


async def test_no_request_is_lost_while_some_provider_can_serve_it(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    simulator.sim.set_fault("openai", Fault(kind="status", status=500, rate=0.5))
    simulator.sim.set_fault(
        "anthropic", Fault(kind="rate_limit", rate=0.5, retry_after=1.0)
    )
    simulator.sim.set_fault("gemini", Fault(kind="malformed_json", rate=0.5))
    router = build(simulator, session, ("openai", "anthropic", "gemini", "ollama"))
    # Round robin sends a share of the traffic to every faulty provider.
    router.set_selection_strategy(SelectionStrategy.ROUND_ROBIN)
    requests = [AIRequest(prompt=f"room {i}", max_tokens=128) for i in range(40)]
    results = await router.process_batch(requests, batch_size=8)
    assert all(not isinstance(result, Exception) for result in results)
    metrics = router.get_performance_metrics()
    assert metrics["overall_stats"]["successful_requests"] == 40
    failed_attempts = sum(
        a.outcome.value == "error"
        for r in results
        for a in r.attempts  # type: ignore[union-attr]
    )
    assert failed_attempts > 0
    # Every faulty provider was sent its share: each was first in line for some requests. (Not that
    # each served some: at 50 % faults a provider's first five calls all fail in about one run in
    # thirty, depending on which request draws which fault, i.e. on arrival order; its breaker then
    # stays open for the rest of the batch.)
    firsts = {r.attempts[0].provider for r in results}  # type: ignore[union-attr]
    assert firsts >= {"openai", "anthropic", "gemini"}


async def test_local_only_request_stays_on_the_local_provider(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    router = build(simulator, session, ("openai", "ollama"))
    response = await router.process(
        AIRequest(prompt="private", max_tokens=128, local_only=True)
    )
    assert response.provider == "ollama"
    assert response.cost == 0.0
    assert simulator.sim.request_count("openai") == 0


async def test_slow_image_work_is_not_a_billed_provider_timeout(
    simulator: SimulatorServer,
    session: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from custom_components.aicleaner.providers import images as images_module

    fit = images_module._fit_all

    def busy_executor(*args: object) -> object:
        time.sleep(1.3)  # longer than the attempt timeout and its grace together
        return fit(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(images_module, "_fit_all", busy_executor)
    router = build(
        simulator,
        session,
        ("anthropic",),
        provider_settings={"anthropic": settings(1, timeout_seconds=0.2)},
    )
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "white").save(buffer, format="JPEG")
    photo = ImageInput(buffer.getvalue(), "image/jpeg")
    response = await router.process(
        AIRequest(prompt="What is on the table?", images=(photo,), max_tokens=64)
    )
    assert outcomes(response.attempts) == [("anthropic", "success", None)]
    assert not response.cost_estimated
    assert router.provider_stats("anthropic").cost_today == response.cost


async def test_a_local_only_request_never_reaches_a_cloud_run_model_of_a_home_server(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    router = build(simulator, session, ("ollama",))
    with pytest.raises(AllProvidersFailed) as raised:
        await router.process(
            AIRequest(prompt="private", model="gpt-oss:120b-cloud", local_only=True)
        )
    assert raised.value.attempts == ()
    # The reason, structured for the caller: the model runs in the cloud, so "not local".
    assert raised.value.refusals == {"ollama": "not local"}
    assert simulator.sim.request_count("ollama") == 0
    # The server's own model stays local.
    response = await router.process(AIRequest(prompt="private", local_only=True))
    assert response.provider == "ollama"
