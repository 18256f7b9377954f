"""The wire forms of a conversation, cached-token prices and the tool capability, on documented bodies."""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.aicleaner.providers import (
    anthropic_wire,
    gemini_wire,
    openai_wire,
)
from custom_components.aicleaner.providers.cache_pricing import usage_cost
from custom_components.aicleaner.providers.catalog import (
    compatible_capabilities,
    gemini_capabilities,
    ollama_capabilities,
    openai_capabilities,
)
from custom_components.aicleaner.providers.streaming import (
    StreamFormatError,
    ToolCallAssembler,
)
from custom_components.aicleaner.router.conversation import (
    ToolCall,
    ToolCallDelta,
    ToolChoice,
    ToolDefinition,
    assistant,
    conversation_of,
    conversation_token_bound,
    system,
    tool_result,
    user,
)
from custom_components.aicleaner.router.estimate import text_token_bound
from custom_components.aicleaner.router.models import AIRequest, ModelPrice, Usage

PRICE = ModelPrice(2.0, 8.0)
CALL = ToolCall("call_1", "HassTurnOn", {"name": "kitchen"})


def test_a_prompt_only_request_is_a_one_message_conversation() -> None:
    system_text, turns = conversation_of(AIRequest(prompt="hi", system_prompt="sys"))
    assert system_text == "sys"
    [turn] = turns
    assert (turn.role, turn.text) == ("user", "hi")


def test_system_messages_join_the_system_prompt() -> None:
    request = AIRequest(
        system_prompt="Be brief.", messages=(system("You control a home."), user("hi"))
    )
    system_text, turns = conversation_of(request)
    assert system_text == "Be brief.\n\nYou control a home."
    assert [t.role for t in turns] == ["user"]


def test_a_conversation_token_bound_counts_calls_results_and_tools() -> None:
    plain = AIRequest(messages=(user("Turn on the kitchen lights"),))
    rich = AIRequest(
        messages=(
            user("Turn on the kitchen lights"),
            assistant("", (CALL,)),
            tool_result(CALL, {"success": True}),
        ),
        tools=(ToolDefinition("HassTurnOn", "Turns on", {"type": "object"}),),
    )
    assert conversation_token_bound(plain) >= text_token_bound(
        "Turn on the kitchen lights", None
    )
    extra = conversation_token_bound(rich) - conversation_token_bound(plain)
    # At least one token per byte of the call's arguments, the result and the tool's schema.
    assert extra >= len('{"name":"kitchen"}') + len('{"success":true}') + len(
        '{"type":"object"}'
    )


# --- cached tokens --------------------------------------------------------------------------


def test_cached_input_is_priced_at_the_cached_rate_and_writes_at_the_premium() -> None:
    usage = Usage(1000, 100, cached_input_tokens=600, cache_write_tokens=300)
    cost = usage_cost(PRICE, usage, kind="anthropic")
    expected = (100 * 2.0 + 600 * 2.0 * 0.1 + 300 * 2.0 * 2.0 + 100 * 8.0) / 1e6
    assert cost == pytest.approx(expected)


def test_cached_input_of_an_unknown_price_is_priced_at_the_full_rate() -> None:
    usage = Usage(1000, 100, cached_input_tokens=600)
    assert usage_cost(PRICE, usage, kind="openai", listed=False) == pytest.approx(
        PRICE.cost(1000, 100)
    )
    assert usage_cost(PRICE, usage, kind="openai_compatible") == pytest.approx(
        PRICE.cost(1000, 100)
    )
    assert usage_cost(PRICE, usage, kind="openai") < PRICE.cost(1000, 100)


def test_cached_counts_are_read_from_each_protocols_usage() -> None:
    openai_usage = openai_wire.usage_of(
        {
            "prompt_tokens": 2006,
            "completion_tokens": 300,
            "prompt_tokens_details": {"cached_tokens": 1920},
        }
    )
    assert openai_usage == Usage(2006, 300, 1920)
    # Anthropic counts cache reads and writes apart from input_tokens: the input is their sum.
    anthropic_usage = anthropic_wire.usage_of(
        {
            "input_tokens": 50,
            "cache_read_input_tokens": 1000,
            "cache_creation_input_tokens": 200,
            "output_tokens": 30,
        }
    )
    assert anthropic_usage == Usage(1250, 30, 1000, 200)
    gemini_usage = gemini_wire.usage_of(
        {
            "promptTokenCount": 1500,
            "cachedContentTokenCount": 1024,
            "candidatesTokenCount": 20,
            "thoughtsTokenCount": 80,
        }
    )
    assert gemini_usage == Usage(1500, 100, 1024)


def test_anthropic_usage_of_a_stream_merges_start_and_delta() -> None:
    decoder = anthropic_wire.EventDecoder()
    decoder.feed(
        "message_start",
        {
            "type": "message_start",
            "message": {
                "model": "claude-x",
                "usage": {
                    "input_tokens": 10,
                    "cache_read_input_tokens": 90,
                    "output_tokens": 1,
                },
            },
        },
    )
    decoder.feed(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": 42},
        },
    )
    assert decoder.usage == Usage(100, 42, 90)
    assert decoder.finish_reason == "end_turn"


# --- wire forms ---------------------------------------------------------------------------------


def conversation() -> AIRequest:
    other = ToolCall("call_2", "HassTurnOff", {"name": "hall"})
    return AIRequest(
        system_prompt="You control a home.",
        messages=(
            user("Kitchen on, hall off"),
            assistant("Doing it.", (CALL, other)),
            tool_result(CALL, {"ok": True}),
            tool_result(other, "done"),
        ),
        tools=(ToolDefinition("HassTurnOn"),),
        tool_choice=ToolChoice.REQUIRED,
    )


def test_anthropic_puts_every_result_of_a_turn_in_one_user_message() -> None:
    payload: dict[str, Any] = {}
    anthropic_wire.conversation_body(conversation(), payload)
    roles = [m["role"] for m in payload["messages"]]
    assert roles == ["user", "assistant", "user"]
    results = payload["messages"][2]["content"]
    assert [r["tool_use_id"] for r in results] == ["call_1", "call_2"]
    assert payload["tool_choice"] == {"type": "any"}
    assert payload["system"] == "You control a home."


def test_anthropic_rewrites_ids_it_would_refuse() -> None:
    assert anthropic_wire.safe_id("call:abc.1") == "call_abc_1"


def test_gemini_sends_results_as_function_responses_with_a_signature_placeholder() -> (
    None
):
    payload: dict[str, Any] = {}
    gemini_wire.conversation_body(conversation(), payload)
    model_turn = payload["contents"][1]
    assert model_turn["role"] == "model"
    calls = [p for p in model_turn["parts"] if "functionCall" in p]
    assert calls[0]["thoughtSignature"] == gemini_wire.SKIP_SIGNATURE
    assert "thoughtSignature" not in calls[1]
    responses = payload["contents"][2]["parts"]
    assert responses == [
        {"functionResponse": {"name": "HassTurnOn", "response": {"ok": True}}},
        {"functionResponse": {"name": "HassTurnOff", "response": {"result": "done"}}},
    ]
    assert payload["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}


def test_gemini_keeps_a_signature_it_gave() -> None:
    signed = ToolCall("c", "HassTurnOn", {}, "c2lnbmF0dXJl")
    payload: dict[str, Any] = {}
    gemini_wire.conversation_body(
        AIRequest(messages=(user("x"), assistant("", (signed,)))), payload
    )
    assert payload["contents"][1]["parts"][0]["thoughtSignature"] == "c2lnbmF0dXJl"


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        (
            {"type": ["string", "null"], "default": "x", "$schema": "s"},
            {"type": "string", "nullable": True},
        ),
        ({"const": 3}, {"enum": ["3"], "type": "string"}),
        ({"type": "integer", "enum": [1, 2]}, {"type": "string", "enum": ["1", "2"]}),
        (
            {"type": "object", "additionalProperties": True},
            {"type": "object", "properties": {"json": {"type": "string"}}},
        ),
        (
            {
                "type": "object",
                "properties": {"a": {"type": "string", "format": "uri"}},
                "required": ["a", "b"],
            },
            {
                "type": "object",
                "properties": {"a": {"type": "string"}},
                "required": ["a"],
            },
        ),
        (
            {"allOf": [{"description": "d"}, {"type": "number", "minimum": 1}]},
            {"type": "number", "minimum": 1},
        ),
        (
            {
                "type": "array",
                "items": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
            },
            {
                "type": "array",
                "items": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
            },
        ),
    ],
)
def test_gemini_schema_is_reduced_to_what_gemini_takes(
    schema: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert gemini_wire.schema_for_gemini(schema) == expected


def test_openai_tool_messages_carry_their_call_ids() -> None:
    messages = openai_wire.messages_body(
        conversation(), system_role="developer", image_detail=None
    )
    assert messages[0] == {"role": "developer", "content": "You control a home."}
    assert messages[2]["tool_calls"][0]["function"] == {
        "name": "HassTurnOn",
        "arguments": '{"name":"kitchen"}',
    }
    assert messages[3] == {
        "role": "tool",
        "tool_call_id": "call_1",
        "content": '{"ok":true}',
    }


def test_streamed_tool_call_pieces_are_assembled_in_order() -> None:
    assembler = ToolCallAssembler()
    for delta in (
        ToolCallDelta(1, "b", "Second"),
        ToolCallDelta(0, "a", "First", '{"x"'),
        ToolCallDelta(0, arguments=": 1}"),
        ToolCallDelta(1, arguments=""),
    ):
        assembler.add(delta)
    calls = assembler.calls(lambda index: f"call_{index}")
    assert [(c.id, c.name, dict(c.arguments)) for c in calls] == [
        ("a", "First", {"x": 1}),
        ("b", "Second", {}),
    ]


def test_broken_tool_call_arguments_are_a_format_error() -> None:
    assembler = ToolCallAssembler()
    assembler.add(ToolCallDelta(0, "a", "First", '{"x": '))
    with pytest.raises(StreamFormatError):
        assembler.calls(str)


# --- which models call tools -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("capabilities", "model", "tools"),
    [
        (openai_capabilities, "gpt-4o-mini", True),
        (openai_capabilities, "o1-mini", False),
        (openai_capabilities, "gpt-4o-search-preview", False),
        (gemini_capabilities, "gemini-2.5-flash", True),
        (gemini_capabilities, "gemma-3-27b-it", False),
        (gemini_capabilities, "gemini-2.5-flash-image", False),
        (ollama_capabilities, "llama3.2", True),
        (ollama_capabilities, "qwen3:8b", True),
        (ollama_capabilities, "llava:13b", False),
        (ollama_capabilities, "gemma3:4b", False),
        (compatible_capabilities, "openrouter/anthropic/claude-sonnet-4", True),
        (compatible_capabilities, "moondream", False),
    ],
)
def test_tool_calling_is_a_model_capability(
    capabilities: Any, model: str, tools: bool
) -> None:
    assert capabilities(model).tools is tools
