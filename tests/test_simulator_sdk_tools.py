"""The simulator's tool calls, tool results and stream faults, as the official SDKs read them.

The companion of `test_simulator_sdk.py` (whose client fixtures it uses): a scripted `HassTurnOn`
comes back through each SDK, whole and streamed; a tool result sent back the SDK's own way gets a
text answer; a stream cut or stalled after its first chunk is an error to each SDK.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import anthropic
from google import genai
from google.genai import types as genai_types
import httpx
import httpx2
import ollama
import openai
import pytest

from tests.simulator import Fault, SimulatorServer
from tests.simulator.tools import ScriptedCall
from tests.test_simulator_sdk import (  # noqa: F401 - fixtures
    anthropic_client,
    gemini_client,
    ollama_client,
    openai_client,
)

KITCHEN = {"name": "kitchen lights"}
CALL = ScriptedCall("HassTurnOn", KITCHEN)
PARAMETERS = {
    "type": "object",
    "properties": {"name": {"type": "string"}},
    "required": ["name"],
}
OPENAI_TOOLS: Any = [
    {
        "type": "function",
        "function": {
            "name": "HassTurnOn",
            "description": "Turn on",
            "parameters": PARAMETERS,
        },
    }
]
ANTHROPIC_TOOLS: Any = [
    {"name": "HassTurnOn", "description": "Turn on", "input_schema": PARAMETERS}
]
GEMINI_TOOLS = [
    genai_types.Tool(
        function_declarations=[
            genai_types.FunctionDeclaration(
                name="HassTurnOn",
                description="Turn on",
                parameters_json_schema=PARAMETERS,
            )
        ]
    )
]


# -- OpenAI ------------------------------------------------------------------------------------


async def test_openai_sdk_reads_a_tool_call_and_sends_its_result_back(
    openai_client: openai.AsyncOpenAI,  # noqa: F811
    simulator: SimulatorServer,
) -> None:
    simulator.sim.set_tool_calls("openai", CALL)
    simulator.sim.set_reply("openai", "The kitchen lights are on.")
    messages: list[Any] = [{"role": "user", "content": "Lights on"}]
    first = await openai_client.chat.completions.create(
        model="gpt-4o", messages=messages, tools=OPENAI_TOOLS
    )
    assert first.choices[0].finish_reason == "tool_calls"
    [call] = first.choices[0].message.tool_calls or []
    assert call.type == "function"
    assert call.function.name == "HassTurnOn"
    assert json.loads(call.function.arguments) == KITCHEN
    messages += [
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": '{"success": true}'},
    ]
    second = await openai_client.chat.completions.create(
        model="gpt-4o", messages=messages, tools=OPENAI_TOOLS
    )
    assert second.choices[0].message.content == "The kitchen lights are on."
    assert second.choices[0].message.tool_calls is None


async def test_openai_sdk_streams_a_tool_call(
    openai_client: openai.AsyncOpenAI,  # noqa: F811
    simulator: SimulatorServer,
) -> None:
    simulator.sim.set_tool_calls("openai", CALL)
    stream = await openai_client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Lights on"}],
        tools=OPENAI_TOOLS,
        stream=True,
        stream_options={"include_usage": True},
    )
    async with openai_client.chat.completions.stream(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Lights on"}],
        tools=OPENAI_TOOLS,
    ) as helper:
        final = await helper.get_final_completion()
    chunks = [chunk async for chunk in stream]
    assert chunks[-1].usage is not None
    [call] = final.choices[0].message.tool_calls or []
    assert call.function.name == "HassTurnOn"
    assert json.loads(call.function.arguments) == KITCHEN
    assert final.choices[0].finish_reason == "tool_calls"


@pytest.mark.parametrize("kind", ["stream_cut", "stream_stall"])
async def test_openai_sdk_fails_on_a_broken_stream(
    openai_client: openai.AsyncOpenAI,  # noqa: F811
    simulator: SimulatorServer,
    kind: str,
) -> None:
    simulator.sim.set_fault("openai", Fault(kind=kind, after_chunks=2))  # type: ignore[arg-type]
    stream = await openai_client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        timeout=1.0,
    )
    seen: list[Any] = []

    async def read() -> None:
        async for chunk in stream:
            seen.append(chunk)  # noqa: PERF401

    with pytest.raises((openai.APIError, httpx.HTTPError)):
        await read()
    assert len(seen) == 2


# -- Anthropic ---------------------------------------------------------------------------------


async def test_anthropic_sdk_reads_a_tool_use_and_sends_its_result_back(
    anthropic_client: anthropic.AsyncAnthropic,  # noqa: F811
    simulator: SimulatorServer,
) -> None:
    simulator.sim.set_tool_calls("anthropic", CALL)
    simulator.sim.set_reply("anthropic", "The kitchen lights are on.")
    messages: list[Any] = [{"role": "user", "content": "Lights on"}]
    first = await anthropic_client.messages.create(
        model="claude-haiku-4-5",
        max_tokens=200,
        messages=messages,
        tools=ANTHROPIC_TOOLS,
    )
    assert first.stop_reason == "tool_use"
    [block] = first.content
    assert block.type == "tool_use"
    assert (block.name, block.input) == ("HassTurnOn", KITCHEN)
    messages += [
        {"role": "assistant", "content": [block.model_dump()]},
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": block.id, "content": "ok"}
            ],
        },
    ]
    second = await anthropic_client.messages.create(
        model="claude-haiku-4-5",
        max_tokens=200,
        messages=messages,
        tools=ANTHROPIC_TOOLS,
    )
    assert second.stop_reason == "end_turn"
    assert second.content[0].type == "text"
    assert second.content[0].text == "The kitchen lights are on."


async def test_anthropic_refuses_a_tool_use_left_without_its_result(
    anthropic_client: anthropic.AsyncAnthropic,  # noqa: F811
) -> None:
    with pytest.raises(anthropic.BadRequestError, match="tool_result"):
        await anthropic_client.messages.create(
            model="claude-haiku-4-5",
            max_tokens=200,
            tools=ANTHROPIC_TOOLS,
            messages=[
                {"role": "user", "content": "Lights on"},
                {
                    "role": "assistant",
                    "content": [
                        {
                            "type": "tool_use",
                            "id": "toolu_1",
                            "name": "HassTurnOn",
                            "input": KITCHEN,
                        }
                    ],
                },
                {"role": "user", "content": "and now?"},
            ],
        )


async def test_anthropic_sdk_streams_a_tool_use(
    anthropic_client: anthropic.AsyncAnthropic,  # noqa: F811
    simulator: SimulatorServer,
) -> None:
    simulator.sim.set_tool_calls("anthropic", CALL)
    async with anthropic_client.messages.stream(
        model="claude-haiku-4-5",
        max_tokens=200,
        messages=[{"role": "user", "content": "Lights on"}],
        tools=ANTHROPIC_TOOLS,
    ) as stream:
        message = await stream.get_final_message()
    [block] = message.content
    assert block.type == "tool_use"
    assert (block.name, block.input) == ("HassTurnOn", KITCHEN)
    assert message.stop_reason == "tool_use"
    assert message.usage.output_tokens == CALL.tokens


@pytest.mark.parametrize("kind", ["stream_cut", "stream_stall"])
async def test_anthropic_sdk_fails_on_a_broken_stream(
    anthropic_client: anthropic.AsyncAnthropic,  # noqa: F811
    simulator: SimulatorServer,
    kind: str,
) -> None:
    simulator.sim.set_fault("anthropic", Fault(kind=kind, after_chunks=3))  # type: ignore[arg-type]

    async def read() -> None:
        async with anthropic_client.messages.stream(
            model="claude-haiku-4-5",
            max_tokens=200,
            messages=[{"role": "user", "content": "hi"}],
            timeout=1.0,
        ) as stream:
            await stream.get_final_message()

    # The anthropic SDK's transport is httpx2: its errors pass through the stream helper.
    with pytest.raises((anthropic.APIError, httpx2.HTTPError)):
        await read()


# -- Gemini ------------------------------------------------------------------------------------


async def test_gemini_sdk_reads_a_function_call_and_sends_its_response_back(
    gemini_client: genai.Client,  # noqa: F811
    simulator: SimulatorServer,
) -> None:
    simulator.sim.set_tool_calls("gemini", CALL)
    simulator.sim.set_reply("gemini", "The kitchen lights are on.")
    config = genai_types.GenerateContentConfig(tools=GEMINI_TOOLS)
    contents: list[Any] = [
        genai_types.Content(role="user", parts=[genai_types.Part(text="Lights on")])
    ]
    first = await gemini_client.aio.models.generate_content(
        model="gemini-2.5-flash", contents=contents, config=config
    )
    [call] = first.function_calls or []
    assert (call.name, call.args) == ("HassTurnOn", KITCHEN)
    assert first.candidates is not None
    contents += [
        first.candidates[0].content,
        genai_types.Content(
            role="user",
            parts=[
                genai_types.Part.from_function_response(
                    name="HassTurnOn", response={"success": True}
                )
            ],
        ),
    ]
    second = await gemini_client.aio.models.generate_content(
        model="gemini-2.5-flash", contents=contents, config=config
    )
    assert second.text == "The kitchen lights are on."
    assert not second.function_calls


async def test_gemini_sdk_streams_a_function_call(
    gemini_client: genai.Client,  # noqa: F811
    simulator: SimulatorServer,
) -> None:
    simulator.sim.set_tool_calls("gemini", CALL)
    stream = await gemini_client.aio.models.generate_content_stream(
        model="gemini-2.5-flash",
        contents="Lights on",
        config=genai_types.GenerateContentConfig(tools=GEMINI_TOOLS),
    )
    chunks = [chunk async for chunk in stream]
    calls = [call for chunk in chunks for call in chunk.function_calls or []]
    assert [(call.name, call.args) for call in calls] == [("HassTurnOn", KITCHEN)]
    assert chunks[-1].usage_metadata is not None
    assert chunks[-1].usage_metadata.candidates_token_count == CALL.tokens


async def test_gemini_sdk_fails_on_a_cut_stream(
    gemini_client: genai.Client,  # noqa: F811
    simulator: SimulatorServer,
) -> None:
    simulator.sim.set_fault("gemini", Fault(kind="stream_cut", after_chunks=1))
    stream = await gemini_client.aio.models.generate_content_stream(
        model="gemini-2.5-flash", contents="hi"
    )
    seen: list[Any] = []

    async def read() -> None:
        async for chunk in stream:
            seen.append(chunk)  # noqa: PERF401

    with pytest.raises(Exception) as caught:  # noqa: PT011 - the SDK lets httpx's error through
        await read()
    assert not isinstance(caught.value, AssertionError)
    assert len(seen) == 1


# -- Ollama ------------------------------------------------------------------------------------


async def test_ollama_sdk_reads_a_tool_call_and_sends_its_result_back(
    ollama_client: ollama.AsyncClient,  # noqa: F811
    simulator: SimulatorServer,
) -> None:
    simulator.sim.set_tool_calls("ollama", CALL)
    simulator.sim.set_reply("ollama", "The kitchen lights are on.")
    tools: Any = OPENAI_TOOLS
    messages: list[Any] = [{"role": "user", "content": "Lights on"}]
    first = await ollama_client.chat(model="llama3.2", messages=messages, tools=tools)
    [call] = first.message.tool_calls or []
    assert (call.function.name, dict(call.function.arguments)) == (
        "HassTurnOn",
        KITCHEN,
    )
    messages += [
        first.message,
        {"role": "tool", "content": "ok", "tool_name": "HassTurnOn"},
    ]
    second = await ollama_client.chat(model="llama3.2", messages=messages, tools=tools)
    assert second.message.content == "The kitchen lights are on."
    assert not second.message.tool_calls


async def test_ollama_sdk_streams_a_tool_call(
    ollama_client: ollama.AsyncClient,  # noqa: F811
    simulator: SimulatorServer,
) -> None:
    simulator.sim.set_tool_calls("ollama", CALL)
    parts = [
        part
        async for part in await ollama_client.chat(
            model="llama3.2",
            messages=[{"role": "user", "content": "Lights on"}],
            tools=OPENAI_TOOLS,
            stream=True,
        )
    ]
    calls = [call for part in parts for call in part.message.tool_calls or []]
    assert [(c.function.name, dict(c.function.arguments)) for c in calls] == [
        ("HassTurnOn", KITCHEN)
    ]
    assert parts[-1].done is True
    assert parts[-1].eval_count == CALL.tokens


async def test_ollama_sdk_stops_on_a_stalled_stream(
    ollama_client: ollama.AsyncClient,  # noqa: F811
    simulator: SimulatorServer,
) -> None:
    simulator.sim.set_fault("ollama", Fault(kind="stream_stall", after_chunks=1))
    stream = await ollama_client.chat(
        model="llama3.2", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    first = await anext(stream)
    assert first.done is False
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.5):
            await anext(stream)
