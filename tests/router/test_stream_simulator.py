"""Router.stream with the real clients against the simulator over HTTP: failover before the first token only.

Faults: a stall before the first byte ("hang"), a 429 before the stream, a cut and a stall after the
first chunk. Money: a stream is booked from its usage, at its reservation when cut or abandoned.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
import io
import itertools
import time
from typing import Any

import aiohttp
from PIL import Image
import pytest

from custom_components.aicleaner.providers import create_provider
from custom_components.aicleaner.router import (
    ProviderSettings,
    Router,
    RouterConfig,
    SelectionStrategy,
    StreamInterrupted,
)
from custom_components.aicleaner.router.conversation import (
    StreamResult,
    TextDelta,
    ToolCall,
    ToolCallDone,
    ToolDefinition,
    assistant,
    tool_result,
    user,
)
from custom_components.aicleaner.router.errors import AllProvidersFailed, ErrorCategory
from custom_components.aicleaner.router.estimate import text_token_bound
from custom_components.aicleaner.router.models import (
    AIRequest,
    AttemptOutcome,
    ImageInput,
)
from tests.simulator import Fault, SimulatorServer
from tests.simulator.tools import ScriptedCall
from tests.simulator.validate import validate_recorded_requests

MODELS = {
    "openai": "gpt-4o-mini",
    "anthropic": "claude-haiku-4-5",
    "gemini": "gemini-2.5-flash",
    "ollama": "llama3.2",
}
KINDS = tuple(MODELS)
TTFT = 0.4
SETTINGS = ProviderSettings(
    rate_limit_rpm=None,
    rate_limit_tpm=None,
    rate_limit_rph=None,
    daily_budget=None,
    max_retries=0,
    timeout_seconds=3.0,
    ttft_timeout=TTFT,
)
TURN_ON = ToolDefinition(
    "HassTurnOn",
    "Turns on a device",
    {"type": "object", "properties": {"name": {"type": "string"}}},
)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def make_router(
    server: SimulatorServer,
    session: aiohttp.ClientSession,
    *kinds: str,
    settings: ProviderSettings = SETTINGS,
) -> Router:
    providers = [
        create_provider(
            kind,
            session,
            name=kind,
            model=MODELS[kind],
            api_key=None if kind == "ollama" else "sk-sim-valid-key",
            base_url=server.provider_url(kind),
        )
        for kind in kinds
    ]
    return Router(
        providers,
        RouterConfig(selection_strategy=SelectionStrategy.PRIORITY),
        provider_settings=dict.fromkeys(kinds, settings),
    )


def ordered(*kinds: str, **fields: Any) -> AIRequest:
    fields.setdefault("prompt", "Describe the kitchen in a few words")
    return AIRequest(provider_order=kinds, max_tokens=200, **fields)


async def drain(router: Router, request: AIRequest) -> tuple[list[Any], Any]:
    deltas = [delta async for delta in router.stream(request)]
    assert isinstance(deltas[-1], StreamResult)
    return deltas[:-1], deltas[-1].response


def reservation(router: Router, name: str, request: AIRequest) -> float:
    """The upper bound the router reserves for a prompt-only request on `name`."""
    bound = text_token_bound(request.prompt, request.effective_system_prompt)
    return router.provider(name).price().cost(bound, request.max_tokens)


@pytest.mark.parametrize("kind", KINDS)
async def test_stream_answers_in_pieces_and_books_the_usage(
    simulator: SimulatorServer, session: aiohttp.ClientSession, kind: str
) -> None:
    router = make_router(simulator, session, kind)
    deltas, response = await drain(router, ordered(kind))
    texts = [d.text for d in deltas if isinstance(d, TextDelta)]
    assert len(texts) > 1
    assert "".join(texts) == response.text
    assert response.provider == kind
    assert response.usage.output_tokens > 0
    assert not response.cost_estimated
    stats = router.provider_stats(kind)
    assert stats.cost_today == pytest.approx(response.cost)
    assert stats.output_tokens_today == response.usage.output_tokens
    assert stats.in_flight == 0
    assert router.get_performance_metrics()["overall_stats"]["successful_requests"] == 1
    assert validate_recorded_requests(simulator.sim) == 1


async def test_stall_before_the_first_byte_fails_over_at_the_ttft_deadline(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    simulator.sim.set_fault("openai", Fault(kind="hang", endpoint="generate"))
    router = make_router(simulator, session, "openai", "anthropic")
    request = ordered("openai", "anthropic")
    started = time.monotonic()
    first_at = None
    deltas = []
    async for delta in router.stream(request):
        first_at = first_at or time.monotonic()
        deltas.append(delta)
    response = deltas[-1].response
    assert response.provider == "anthropic"
    # Without the 0.4 s deadline the stall would last the cloud default (`TTFT_CLOUD`, 10 s).
    assert TTFT <= first_at - started < TTFT + 3.0
    first, second = response.attempts
    assert (first.provider, first.category) == ("openai", ErrorCategory.TIMEOUT)
    assert second.outcome is AttemptOutcome.SUCCESS
    # The stalled request was sent: it is billed at its reservation, an upper bound.
    assert router.provider_stats("openai").cost_today == pytest.approx(
        reservation(router, "openai", request)
    )
    assert router.provider_stats("openai").in_flight == 0


async def test_429_before_the_stream_fails_over_and_costs_nothing(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    simulator.sim.set_fault("gemini", Fault(kind="rate_limit", retry_after=30))
    router = make_router(simulator, session, "gemini", "ollama")
    _, response = await drain(router, ordered("gemini", "ollama"))
    assert response.provider == "ollama"
    assert response.attempts[0].category == ErrorCategory.RATE_LIMIT
    assert router.provider_stats("gemini").cost_today == 0


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("fault", ["stream_cut", "stream_stall"])
async def test_a_stream_broken_after_its_first_delta_is_never_switched(
    simulator: SimulatorServer, session: aiohttp.ClientSession, kind: str, fault: str
) -> None:
    other = "anthropic" if kind != "anthropic" else "openai"
    # The first events carry no text in some protocols: break after the first text piece.
    after = {"openai": 2, "anthropic": 4, "gemini": 1, "ollama": 1}[kind]
    simulator.sim.set_fault(kind, Fault(kind=fault, after_chunks=after))  # type: ignore[arg-type]
    router = make_router(simulator, session, kind, other)
    request = ordered(kind, other)
    seen: list[Any] = []

    async def read() -> None:
        # One by one: the deltas before the break must be kept.
        async for delta in router.stream(request):
            seen.append(delta)  # noqa: PERF401

    with pytest.raises(StreamInterrupted) as caught:
        await read()
    assert any(isinstance(delta, TextDelta) for delta in seen)
    assert caught.value.error.provider == kind
    expected = ErrorCategory.NETWORK if fault == "stream_cut" else ErrorCategory.TIMEOUT
    assert caught.value.error.category == expected
    assert simulator.sim.request_count(other) == 0
    assert router.provider_stats(kind).cost_today == pytest.approx(
        reservation(router, kind, request)
    )
    assert router.provider_stats(kind).in_flight == 0


@pytest.mark.parametrize("kind", KINDS)
async def test_a_slow_steady_stream_runs_past_the_attempt_timeout(
    simulator: SimulatorServer, session: aiohttp.ClientSession, kind: str
) -> None:
    # A slow local model: each piece 0.25 s after the last, the whole answer well past the 0.5 s
    # an answer may take, no silence near the 2 s a stream may take to its first token.
    simulator.sim.set_fault(kind, Fault(kind="stream_slow", latency=0.25))
    patient = replace(SETTINGS, timeout_seconds=0.5, ttft_timeout=2.0)
    router = make_router(simulator, session, kind, settings=patient)
    started = time.monotonic()
    deltas, response = await drain(router, ordered(kind))
    assert time.monotonic() - started > patient.timeout_seconds
    assert response.provider == kind
    assert "".join(d.text for d in deltas if isinstance(d, TextDelta)) == response.text
    assert response.text
    assert not response.cost_estimated


async def test_a_stall_after_the_first_token_ends_at_the_silence_deadline(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    # The attempt timeout (3 s) is not what ends it: the first-token deadline bounds each silence.
    simulator.sim.set_fault("openai", Fault(kind="stream_stall", after_chunks=2))
    router = make_router(simulator, session, "openai")
    with pytest.raises(StreamInterrupted) as caught:
        await drain(router, ordered("openai"))
    assert caught.value.error.category == ErrorCategory.TIMEOUT
    assert f"sent nothing for {TTFT:g} s" in str(caught.value.error)


async def test_a_stream_its_consumer_leaves_is_booked_at_its_reservation(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    router = make_router(simulator, session, "anthropic")
    request = ordered("anthropic")
    stream = router.stream(request)
    first = await anext(stream)
    assert isinstance(first, TextDelta)
    await stream.aclose()
    stats = router.provider_stats("anthropic")
    assert stats.cost_today == pytest.approx(reservation(router, "anthropic", request))
    assert stats.in_flight == 0


async def test_every_provider_failing_before_a_token_raises_all_failed(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    simulator.sim.set_fault("openai", Fault(kind="status", status=500))
    simulator.sim.set_fault("anthropic", Fault(kind="hang"))
    router = make_router(simulator, session, "openai", "anthropic")
    with pytest.raises(AllProvidersFailed) as caught:
        await drain(router, ordered("openai", "anthropic"))
    assert [a.category for a in caught.value.attempts] == [
        ErrorCategory.PROVIDER,
        ErrorCategory.TIMEOUT,
    ]
    assert router.get_performance_metrics()["overall_stats"]["failed_requests"] == 1


async def test_a_request_with_tools_never_goes_to_a_model_that_cannot_call_them(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    vision = create_provider(
        "ollama",
        session,
        name="llava",
        model="llava",
        base_url=simulator.provider_url("ollama"),
    )
    openai = create_provider(
        "openai",
        session,
        name="openai",
        model=MODELS["openai"],
        api_key="sk-sim-valid-key",
        base_url=simulator.provider_url("openai"),
    )
    router = Router(
        [vision, openai],
        RouterConfig(selection_strategy=SelectionStrategy.PRIORITY),
        provider_settings={"llava": SETTINGS, "openai": SETTINGS},
    )
    request = AIRequest(
        messages=(user("Lights on"),), tools=(TURN_ON,), provider_order=("llava",)
    )
    _, response = await drain(router, request)
    assert response.provider == "openai"
    assert simulator.sim.request_count("ollama") == 0


@pytest.mark.parametrize(
    ("first", "second"),
    list(itertools.permutations(KINDS, 2)),
)
async def test_second_tool_round_fails_over_with_the_history_converted(
    simulator: SimulatorServer,
    session: aiohttp.ClientSession,
    first: str,
    second: str,
) -> None:
    script = (
        ScriptedCall("HassTurnOn", {"name": "kitchen lights"}),
        ScriptedCall("HassTurnOn", {"name": "hall lights"}),
    )
    for kind in (first, second):
        simulator.sim.set_tool_calls(kind, *script)
        simulator.sim.set_reply(kind, f"Both lights are on ({kind}).")
    router = make_router(simulator, session, first, second)
    history = [user("Turn on the kitchen and hall lights")]

    async def turn() -> Any:
        request = AIRequest(
            system_prompt="You control a home.",
            messages=tuple(history),
            tools=(TURN_ON,),
            provider_order=(first, second),
            max_tokens=200,
        )
        deltas, response = await drain(router, request)
        calls = [d.call for d in deltas if isinstance(d, ToolCallDone)]
        assert list(response.tool_calls) == calls
        return response

    round_one = await turn()
    assert round_one.provider == first
    [call] = round_one.tool_calls
    assert dict(call.arguments) == {"name": "kitchen lights"}
    history += [assistant(round_one.text, (call,)), tool_result(call, {"ok": True})]
    # The first provider goes down between the rounds.
    simulator.sim.set_fault(first, Fault(kind="status", status=503))
    round_two = await turn()
    assert round_two.provider == second
    [call] = round_two.tool_calls
    assert dict(call.arguments) == {"name": "hall lights"}
    history += [assistant("", (call,)), tool_result(call, "done")]
    simulator.sim.clear_faults()
    final = await turn()
    assert final.text == f"Both lights are on ({first})."
    assert final.tool_calls == ()
    # Every body each provider got, the converted history included, is one its SDK could send.
    assert validate_recorded_requests(simulator.sim, first, second) == 4


def test_tool_call_ids_survive_a_round_trip_through_the_conversation() -> None:
    call = ToolCall("call_1", "HassTurnOn", {"name": "x"})
    message = tool_result(call, {"ok": True})
    assert (message.tool_call_id, message.tool_name, message.text) == (
        "call_1",
        "HassTurnOn",
        '{"ok":true}',
    )


@pytest.mark.parametrize("streamed", [False, True])
async def test_images_in_a_conversation_are_prepared_before_the_call(
    simulator: SimulatorServer, session: aiohttp.ClientSession, streamed: bool
) -> None:
    # A BMP: no provider takes it as it is, so an unprepared image would be refused.
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 20, 30)).save(buffer, format="BMP")
    image = ImageInput(buffer.getvalue(), "image/bmp")
    router = make_router(simulator, session, "openai")
    request = AIRequest(messages=(user("What is this?", (image,)),), max_tokens=200)
    if streamed:
        _, response = await drain(router, request)
    else:
        response = await router.process(request)
    assert "1 image" in response.text
    assert validate_recorded_requests(simulator.sim) == 1
