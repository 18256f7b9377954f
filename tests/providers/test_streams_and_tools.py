"""Every client streams, calls tools and takes tool results back, against the simulator over HTTP."""

from __future__ import annotations

import io
from typing import Any

import aiohttp
from PIL import Image
import pytest

from custom_components.aicleaner.providers import BaseProvider
from custom_components.aicleaner.router.conversation import (
    ReasoningDelta,
    StreamEnd,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolCallDone,
    ToolDefinition,
    assistant,
    tool_result,
    user,
)
from custom_components.aicleaner.router.errors import BadRequestError, ProviderError
from custom_components.aicleaner.router.models import AIRequest, ImageInput
from tests.providers.test_against_simulator import (
    KINDS,
    SIM_PROVIDER,
    client_for,
    sent_bodies,
)
from tests.simulator import SimulatorServer
from tests.simulator.tools import ScriptedCall
from tests.simulator.validate import validate_request_body

# Models that call tools (the simulator's llava, like Ollama's, refuses them).
TOOL_MODEL = {"ollama": "llama3.2"}
TURN_ON = ToolDefinition(
    "HassTurnOn",
    "Turns on a device or entity",
    {
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "Name of the device"},
            "area": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        },
        "required": ["name"],
        "additionalProperties": False,
        "$schema": "http://json-schema.org/draft-07/schema#",
    },
)
KITCHEN = {"name": "kitchen lights"}


def tool_client(
    kind: str, server: SimulatorServer, session: aiohttp.ClientSession
) -> Any:
    settings = {"model": TOOL_MODEL[kind]} if kind in TOOL_MODEL else {}
    return client_for(kind, server, session, **settings)


def bmp(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 180, 90)).save(buffer, format="BMP")
    return buffer.getvalue()


async def collect(client: Any, request: AIRequest) -> list[Any]:
    return [delta async for delta in client.stream(request, timeout=10)]


@pytest.mark.parametrize("kind", KINDS)
async def test_stream_yields_text_then_usage_priced_like_the_answer(
    simulator: SimulatorServer, session: aiohttp.ClientSession, kind: str
) -> None:
    client: BaseProvider = client_for(kind, simulator, session)
    deltas = await collect(
        client, AIRequest(prompt="Describe the kitchen", system_prompt="Be brief.")
    )
    texts = [d.text for d in deltas if isinstance(d, TextDelta)]
    end = deltas[-1]
    assert isinstance(end, StreamEnd)
    assert len(texts) > 1, "the answer arrived in one piece: not streamed"
    assert "".join(texts) == end.text
    assert "Simulated" in end.text
    assert end.usage is not None
    assert end.usage.input_tokens > 0
    assert end.usage.output_tokens > 0
    assert end.cost == pytest.approx(
        client.price().cost(end.usage.input_tokens, end.usage.output_tokens)
    )
    [body] = sent_bodies(simulator, kind)
    validate_request_body(SIM_PROVIDER[kind], body)


@pytest.mark.parametrize("kind", KINDS)
async def test_scripted_tool_call_comes_back_from_a_plain_call(
    simulator: SimulatorServer, session: aiohttp.ClientSession, kind: str
) -> None:
    simulator.sim.set_tool_calls(
        SIM_PROVIDER[kind], ScriptedCall("HassTurnOn", KITCHEN)
    )
    client = tool_client(kind, simulator, session)
    request = AIRequest(
        messages=(user("Turn on the kitchen lights"),), tools=(TURN_ON,)
    )
    completion = await client.complete(request, timeout=10)
    [call] = completion.tool_calls
    assert (call.name, dict(call.arguments)) == ("HassTurnOn", KITCHEN)
    assert call.id
    assert completion.usage.output_tokens > 0
    [body] = sent_bodies(simulator, kind)
    validate_request_body(SIM_PROVIDER[kind], body)


@pytest.mark.parametrize("kind", KINDS)
async def test_streamed_tool_call_is_put_back_together(
    simulator: SimulatorServer, session: aiohttp.ClientSession, kind: str
) -> None:
    simulator.sim.set_tool_calls(
        SIM_PROVIDER[kind], ScriptedCall("HassTurnOn", KITCHEN)
    )
    client = tool_client(kind, simulator, session)
    deltas = await collect(
        client,
        AIRequest(messages=(user("Turn on the kitchen lights"),), tools=(TURN_ON,)),
    )
    assert any(isinstance(d, ToolCallDelta) for d in deltas)
    [done] = [d for d in deltas if isinstance(d, ToolCallDone)]
    assert (done.call.name, dict(done.call.arguments)) == ("HassTurnOn", KITCHEN)
    end = deltas[-1]
    assert isinstance(end, StreamEnd)
    assert end.tool_calls == (done.call,)
    assert end.usage is not None
    assert end.usage.output_tokens > 0
    [body] = sent_bodies(simulator, kind)
    validate_request_body(SIM_PROVIDER[kind], body)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("streamed", [False, True])
async def test_tool_result_goes_back_and_the_model_answers_in_text(
    simulator: SimulatorServer,
    session: aiohttp.ClientSession,
    kind: str,
    streamed: bool,
) -> None:
    simulator.sim.set_tool_calls(
        SIM_PROVIDER[kind], ScriptedCall("HassTurnOn", KITCHEN)
    )
    simulator.sim.set_reply(SIM_PROVIDER[kind], "The kitchen lights are on.")
    # The call came from another provider: its id has characters Anthropic refuses.
    call = ToolCall("call:abc.123", "HassTurnOn", KITCHEN)
    request = AIRequest(
        system_prompt="You control a home.",
        messages=(
            user("Turn on the kitchen lights"),
            assistant("", (call,)),
            tool_result(call, {"success": True}),
        ),
        tools=(TURN_ON,),
    )
    client = tool_client(kind, simulator, session)
    if streamed:
        end = (await collect(client, request))[-1]
        text, calls = end.text, end.tool_calls
    else:
        completion = await client.complete(request, timeout=10)
        text, calls = completion.text, completion.tool_calls
    assert text == "The kitchen lights are on."
    assert calls == ()
    [body] = sent_bodies(simulator, kind)
    validate_request_body(SIM_PROVIDER[kind], body)


async def test_gemini_gets_a_tool_schema_it_accepts(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    client = tool_client("gemini", simulator, session)
    await client.complete(
        AIRequest(messages=(user("Lights on"),), tools=(TURN_ON,)), timeout=10
    )
    [body] = sent_bodies(simulator, "gemini")
    [declaration] = body["tools"][0]["functionDeclarations"]
    parameters = declaration["parameters"]
    assert "additionalProperties" not in parameters
    assert "$schema" not in parameters
    assert parameters["properties"]["area"] == {"type": "string", "nullable": True}
    validate_request_body("gemini", body)


async def test_ollama_vision_model_refuses_tools_as_ollama_does(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    client = client_for("ollama", simulator, session)  # llava
    with pytest.raises(ProviderError) as caught:
        await client.complete(
            AIRequest(messages=(user("Lights on"),), tools=(TURN_ON,)), timeout=10
        )
    assert caught.value.status == 400


async def test_reasoning_streams_apart_from_the_answer(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    client = client_for("ollama", simulator, session, model="qwen3-vl:8b")
    deltas = await collect(client, AIRequest(prompt="Describe the kitchen"))
    reasoning = "".join(d.text for d in deltas if isinstance(d, ReasoningDelta))
    end = deltas[-1]
    assert reasoning
    assert reasoning not in end.text


@pytest.mark.parametrize("kind", KINDS)
async def test_images_in_a_conversation_are_fitted_like_a_prompts(
    simulator: SimulatorServer, session: aiohttp.ClientSession, kind: str
) -> None:
    client = client_for(kind, simulator, session)
    # A BMP no provider takes as it is, and too large for every provider's long edge.
    big = ImageInput(bmp((4000, 3000)), "image/bmp")
    request = AIRequest(
        messages=(
            user("What is in this picture?", (big,)),
            assistant("A kitchen."),
            user("And this one?", (big,)),
        )
    )
    prepared = await client.prepare(request)
    fitted = [image for m in prepared.messages for image in m.images]
    assert len(fitted) == 2
    caps = client.capabilities()
    for image in fitted:
        assert image.mime_type in client.accepted_image_types
        with Image.open(io.BytesIO(image.data)) as opened:
            assert max(opened.size) <= caps.max_image_dimension
    completion = await client.complete(prepared, timeout=10)
    assert "2 image" in completion.text
    [body] = sent_bodies(simulator, kind)
    validate_request_body(SIM_PROVIDER[kind], body)


@pytest.mark.parametrize("kind", KINDS)
async def test_a_turn_that_is_not_valid_unicode_is_the_callers_fault(
    simulator: SimulatorServer, session: aiohttp.ClientSession, kind: str
) -> None:
    client = client_for(kind, simulator, session)
    request = AIRequest(messages=(user("lone \ud800 surrogate"),))
    with pytest.raises(BadRequestError) as caught:
        await client.complete(request, timeout=10)
    assert caught.value.caller_input
    assert sent_bodies(simulator, kind) == []
