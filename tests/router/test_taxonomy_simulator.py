"""Whose fault is it? Each class of the error taxonomy, injected as the real API words it, through the
real provider clients and the router, over real HTTP against the provider simulator.

Each test is a defect of issue 19: a caller's error that shut a provider, a billed answer booked at
$0, a failure retried where it could not help.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from custom_components.aicleaner.router import BreakerSettings
from custom_components.aicleaner.router.errors import AllProvidersFailed
from custom_components.aicleaner.router.models import AIRequest
from tests.simulator import Fault, SimulatorServer

from .fakes import OffsetClock, OffsetSleep
from .test_failover_simulator import build, fallback_for, outcomes, settings

# A breaker that would open on the second failure in a row: a class that counts would show at once.
TOUCHY = BreakerSettings(failure_threshold=2, timeout_seconds=600.0)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def touchy(priority: int, **kwargs: object) -> object:
    return settings(priority, breaker=TOUCHY, **kwargs)


async def test_five_too_long_prompts_open_no_breaker_and_fail_over_only_to_a_larger_window(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    # ~250,000 tokens: over gpt-4o-mini's 128k and claude-haiku-4-5's 200k windows, within Gemini's 1M.
    # The simulator refuses it as each API does (context_length_exceeded, "prompt is too long").
    prompt = "dust " * 200_000
    router = build(
        simulator,
        session,
        ("openai", "anthropic", "gemini"),
        provider_settings={
            "openai": touchy(1),
            "anthropic": touchy(2),
            "gemini": settings(3, daily_budget=10.0),
        },
    )
    for _ in range(5):
        response = await router.process(AIRequest(prompt=prompt, max_tokens=64))
        assert response.provider == "gemini"
        # OpenAI named the tokens the prompt needs (> 200k): Anthropic's window is too small.
        assert outcomes(response.attempts) == [
            ("openai", "error", "context_length"),
            ("anthropic", "skipped", "context_length"),
            ("gemini", "success", None),
        ]
    assert router.provider_stats("openai").breaker_state == "closed"
    assert router.provider_stats("anthropic").breaker_state == "closed"
    assert simulator.sim.request_count("openai") == 5  # never retried
    assert simulator.sim.request_count("anthropic") == 0
    # Refused before any generation: nothing billed, nothing booked.
    assert router.provider_stats("openai").cost_today == 0


async def test_context_length_answer_fails_over_to_a_model_whose_window_fits(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    # ~150,000 tokens: over gpt-4o-mini's 128k, within claude-haiku-4-5's 200k.
    router = build(
        simulator,
        session,
        ("openai", "anthropic"),
        provider_settings={"openai": touchy(1), "anthropic": touchy(2)},
    )
    response = await router.process(AIRequest(prompt="dust " * 120_000, max_tokens=64))
    assert outcomes(response.attempts) == [
        ("openai", "error", "context_length"),
        ("anthropic", "success", None),
    ]


@pytest.mark.parametrize("kind", ["openai", "anthropic", "gemini"])
async def test_injected_context_length_answer_is_neutral_and_never_retried(
    simulator: SimulatorServer, session: aiohttp.ClientSession, kind: str
) -> None:
    # The answer names the model's own window; Gemini's 1M is the largest, so from it nothing fits.
    simulator.sim.set_fault(kind, Fault(kind="context_length"))
    fallback = "gemini" if kind != "gemini" else "openai"
    router = build(
        simulator,
        session,
        (kind, fallback),
        provider_settings={kind: touchy(1), fallback: settings(2)},
    )
    for _ in range(3):
        if kind == "gemini":
            with pytest.raises(AllProvidersFailed) as raised:
                await router.process(AIRequest(prompt="short", max_tokens=64))
            assert outcomes(raised.value.attempts) == [
                ("gemini", "error", "context_length"),
                ("openai", "skipped", "context_length"),
            ]
        else:
            response = await router.process(AIRequest(prompt="short", max_tokens=64))
            assert outcomes(response.attempts) == [
                (kind, "error", "context_length"),
                (fallback, "success", None),
            ]
    assert simulator.sim.request_count(kind) == 3
    assert router.provider_stats(kind).breaker_state == "closed"


async def test_model_the_key_may_not_use_fails_over_without_holding_the_key(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    # OpenAI: 403 model_not_found, "Project `proj_…` does not have access to model `gpt-4o-mini`".
    simulator.sim.set_fault("openai", Fault(kind="model_access"))
    router = build(
        simulator,
        session,
        ("openai", "anthropic"),
        provider_settings={"openai": touchy(1)},
    )
    for _ in range(4):
        response = await router.process(AIRequest(prompt="hello", max_tokens=64))
        assert outcomes(response.attempts) == [
            ("openai", "error", "model_access"),
            ("anthropic", "success", None),
        ]
    stats = router.provider_stats("openai")
    assert not stats.breaker_auth_failed
    assert stats.breaker_state == "closed"
    assert stats.last_error_category == "model_access"
    assert stats.cost_today == 0
    # Once the key may use the model again, the provider answers at once: nothing was held.
    simulator.sim.clear_faults("openai")
    response = await router.process(AIRequest(prompt="hello again", max_tokens=64))
    assert response.provider == "openai"


async def test_answer_cut_off_after_a_200_is_billed_at_its_reservation_and_retried(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    simulator.sim.set_fault("openai", Fault(kind="cut_off", count=1))
    router = build(simulator, session, ("openai", "anthropic"))
    response = await router.process(AIRequest(prompt="What to clean?", max_tokens=256))
    assert outcomes(response.attempts) == [
        ("openai", "error", "cut_off"),
        ("openai", "success", None),
    ]
    summary = router.get_cost_summary()["provider_costs"]["openai"]
    assert summary["failures"] == 1
    # The cut-off answer was generated, and billed: the ledger holds more than the served answer,
    # never less than what the provider billed for both.
    booked_for_cut_off = summary["total_cost"] - response.cost
    assert booked_for_cut_off > 0
    assert booked_for_cut_off >= simulator.sim.billed.spoilt["openai"] > 0
    assert summary["total_cost"] >= simulator.sim.billed.total("openai")


async def test_prose_to_a_json_request_fails_over_at_once_without_touching_health(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    simulator.sim.set_reply("openai", "Sure! The rooms are the kitchen and the hall.")
    simulator.sim.set_reply("anthropic", '{"rooms": ["kitchen", "hall"]}')
    router = build(
        simulator,
        session,
        ("openai", "anthropic"),
        provider_settings={"openai": touchy(1, max_retries=3)},
    )
    for _ in range(3):
        response = await router.process(
            AIRequest(prompt="List the rooms", max_tokens=128, json_output=True)
        )
        assert response.data == {"rooms": ["kitchen", "hall"]}
        assert outcomes(response.attempts) == [
            ("openai", "error", "wrong_format"),
            ("anthropic", "success", None),
        ]
    assert simulator.sim.request_count("openai") == 3
    stats = router.provider_stats("openai")
    assert stats.breaker_state == "closed"
    # Billed: each prose answer is booked (at its reservation, an upper bound).
    assert stats.cost_today >= simulator.sim.billed.answers["openai"] > 0


async def test_answer_emptied_by_reasoning_fails_over_without_touching_health(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    # gpt-5-mini reasons 64 tokens before answering: a 40-token limit leaves no text.
    router = build(
        simulator,
        session,
        ("openai", "anthropic"),
        provider_settings={"openai": touchy(1, max_retries=3)},
    )
    router._slots["openai"].provider._model = "gpt-5-mini"  # type: ignore[attr-defined]
    for _ in range(3):
        response = await router.process(AIRequest(prompt="Quick tip?", max_tokens=40))
        assert outcomes(response.attempts)[0] == ("openai", "error", "empty_response")
        assert response.provider == "anthropic"
    assert simulator.sim.request_count("openai") == 3
    assert router.provider_stats("openai").breaker_state == "closed"


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
async def test_content_policy_400_is_neutral_and_not_billed(
    simulator: SimulatorServer, session: aiohttp.ClientSession, kind: str
) -> None:
    # OpenAI: Azure's 400 content_filter. Anthropic has no such 400; its refusal is a billed 200.
    fault = Fault(kind="content_policy" if kind == "openai" else "content_filter")
    simulator.sim.set_fault(kind, fault)
    fallback = fallback_for(kind)
    router = build(
        simulator,
        session,
        (kind, fallback),
        provider_settings={kind: touchy(1, max_retries=3)},
    )
    for _ in range(5):
        response = await router.process(AIRequest(prompt="Describe it", max_tokens=64))
        assert outcomes(response.attempts) == [
            (kind, "error", "content_filter"),
            (fallback, "success", None),
        ]
    stats = router.provider_stats(kind)
    assert stats.breaker_state == "closed"
    assert simulator.sim.request_count(kind) == 5
    if kind == "openai":
        assert stats.cost_today == 0  # a 400: nothing generated, nothing billed
    else:
        assert stats.cost_today >= simulator.sim.billed.spoilt[kind] > 0


async def test_gemini_transient_image_400_is_retried_not_the_callers_fault(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    simulator.sim.set_fault("gemini", Fault(kind="transient_image", count=1))
    sleep = OffsetSleep(OffsetClock())
    router = build(simulator, session, ("gemini", "openai"), sleep=sleep)
    response = await router.process(AIRequest(prompt="What is this?", max_tokens=64))
    assert outcomes(response.attempts) == [
        ("gemini", "error", "provider"),
        ("gemini", "success", None),
    ]


async def test_gemini_transient_image_400_fails_over_to_an_idle_provider(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    simulator.sim.set_fault("gemini", Fault(kind="transient_image"))
    router = build(
        simulator,
        session,
        ("gemini", "openai"),
        provider_settings={"gemini": settings(1, max_retries=0)},
    )
    response = await router.process(AIRequest(prompt="What is this?", max_tokens=64))
    assert response.provider == "openai"


@pytest.mark.parametrize("kind", ["openai", "anthropic", "gemini"])
async def test_spent_quota_pauses_the_provider_and_fails_over(
    simulator: SimulatorServer, session: aiohttp.ClientSession, kind: str
) -> None:
    # OpenAI 429 insufficient_quota; Anthropic 400 "Your credit balance is too low"; Gemini 429
    # RESOURCE_EXHAUSTED with a per-day QuotaFailure.
    simulator.sim.set_fault(kind, Fault(kind="quota"))
    fallback = fallback_for(kind)
    router = build(
        simulator,
        session,
        (kind, fallback),
        provider_settings={kind: touchy(1, max_retries=3)},
    )
    first = await router.process(AIRequest(prompt="one", max_tokens=64))
    assert outcomes(first.attempts) == [
        (kind, "error", "quota"),
        (fallback, "success", None),
    ]
    second = await router.process(AIRequest(prompt="two", max_tokens=64))
    # Paused for a long while: not asked again, not its breaker's business.
    assert outcomes(second.attempts) == [
        (kind, "skipped", "rate_limited_local"),
        (fallback, "success", None),
    ]
    assert simulator.sim.request_count(kind) == 1
    stats = router.provider_stats(kind)
    assert stats.breaker_state == "closed"
    assert stats.last_error_category == "quota"
    assert stats.cost_today == 0
