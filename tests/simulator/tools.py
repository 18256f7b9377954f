"""Scripted tool calls: a test makes the simulated model "decide" to call a tool.

A script is a list of calls. A request that offers tools is answered with call number k, where k is
the number of tool results its conversation already holds, and with text once every scripted call
was answered. The answer depends on the request alone, so a conversation can move from one protocol
to another between rounds and still see the next call.
"""

from __future__ import annotations

from dataclasses import dataclass
import json
import random
from typing import Any

from .common import random_token, text_tokens


@dataclass(frozen=True, slots=True)
class ScriptedCall:
    """One tool call the simulated model makes."""

    name: str
    arguments: dict[str, Any]

    @property
    def arguments_json(self) -> str:
        """The arguments as JSON text."""
        return json.dumps(self.arguments)

    @property
    def tokens(self) -> int:
        """Output tokens the call costs (its name and arguments, about four characters each)."""
        return text_tokens(self.name + self.arguments_json) + 4

    @classmethod
    def from_mapping(cls, data: Any) -> ScriptedCall:
        """Build from `{"name": ..., "arguments": {...}}`."""
        name, arguments = data["name"], data.get("arguments") or {}
        if not isinstance(name, str) or not isinstance(arguments, dict):
            raise TypeError("a tool call needs a name and an arguments object")
        return cls(name, arguments)


def _offers_tools(protocol: str, body: dict[str, Any]) -> bool:
    tools = body.get("tools")
    if not isinstance(tools, list) or not tools:
        return False
    if protocol == "gemini":
        config = body.get("toolConfig") or body.get("tool_config") or {}
        mode = (
            config.get("functionCallingConfig")
            or config.get("function_calling_config")
            or {}
        ).get("mode")
        return mode != "NONE"
    if protocol == "anthropic":
        return (body.get("tool_choice") or {}).get("type") != "none"
    return body.get("tool_choice") != "none"


def tool_results(protocol: str, body: dict[str, Any]) -> int:
    """How many tool results the request's conversation holds."""
    if protocol == "anthropic":
        return sum(
            1
            for message in body.get("messages") or []
            if isinstance(message.get("content"), list)
            for block in message["content"]
            if isinstance(block, dict) and block.get("type") == "tool_result"
        )
    if protocol == "gemini":
        return sum(
            1
            for content in body.get("contents") or []
            for part in content.get("parts") or []
            if isinstance(part, dict)
            and ("functionResponse" in part or "function_response" in part)
        )
    return sum(
        1 for message in body.get("messages") or [] if message.get("role") == "tool"
    )


def due(
    protocol: str, body: Any, script: tuple[ScriptedCall, ...]
) -> ScriptedCall | None:
    """The scripted call this request is answered with, or None for a text answer."""
    if not script or not isinstance(body, dict) or not _offers_tools(protocol, body):
        return None
    done = tool_results(protocol, body)
    return script[done] if done < len(script) else None


def check_anthropic_pairs(messages: list[Any]) -> str | None:
    """The Messages API's rule: every tool_use is answered by a tool_result in the next turn."""
    pending: set[str] = set()
    for index, message in enumerate(messages):
        content = message.get("content")
        blocks = content if isinstance(content, list) else []
        results = {
            block.get("tool_use_id")
            for block in blocks
            if isinstance(block, dict) and block.get("type") == "tool_result"
        }
        if pending and results != pending:
            return (
                f"messages.{index}: `tool_use` ids were found without `tool_result` blocks "
                f"immediately after: {', '.join(sorted(pending - results)) or '?'}. Each "
                "`tool_use` block must have a corresponding `tool_result` block in the next message."
            )
        if results and not pending:
            return (
                f"messages.{index}.content: unexpected `tool_use_id` found in `tool_result` "
                "blocks. Each `tool_result` block must have a corresponding `tool_use` block "
                "in the previous message."
            )
        pending = {
            block.get("id")
            for block in blocks
            if isinstance(block, dict) and block.get("type") == "tool_use"
        }
    return None


# --- answers, per protocol ---------------------------------------------------------------------


def openai_answer(
    response: dict[str, Any], call: ScriptedCall, rng: random.Random
) -> None:
    """Turn a chat.completion into one that calls `call`."""
    choice = response["choices"][0]
    choice["message"]["content"] = None
    choice["message"]["tool_calls"] = [
        {
            "id": f"call_{random_token(rng, 24)}",
            "type": "function",
            "function": {"name": call.name, "arguments": call.arguments_json},
        }
    ]
    choice["finish_reason"] = "tool_calls"
    _retokened(response["usage"], "prompt_tokens", "completion_tokens", call)


def openai_stream_deltas(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The streamed `tool_calls` deltas of a message: id and name first, then the arguments."""
    deltas: list[dict[str, Any]] = []
    for index, tool_call in enumerate(message.get("tool_calls") or []):
        function = tool_call["function"]
        deltas.append(
            {
                "tool_calls": [
                    {
                        "index": index,
                        "id": tool_call["id"],
                        "type": "function",
                        "function": {"name": function["name"], "arguments": ""},
                    }
                ]
            }
        )
        deltas += [
            {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}
            for piece in _halves(function["arguments"])
        ]
    return deltas


def anthropic_answer(
    message: dict[str, Any], call: ScriptedCall, rng: random.Random
) -> None:
    """Turn a Messages answer into one that calls `call`."""
    message["content"] = [
        {
            "type": "tool_use",
            "id": f"toolu_{random_token(rng, 24)}",
            "name": call.name,
            "input": call.arguments,
        }
    ]
    message["stop_reason"] = "tool_use"
    message["usage"]["output_tokens"] = call.tokens


def anthropic_block_events(
    block: dict[str, Any],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The start block and deltas of a streamed tool_use block."""
    start = {**block, "input": {}}
    deltas = [
        {"type": "input_json_delta", "partial_json": piece}
        for piece in _halves(json.dumps(block["input"]))
    ]
    return start, deltas


def gemini_answer(
    response: dict[str, Any], call: ScriptedCall, rng: random.Random
) -> None:
    """Turn a GenerateContentResponse into one that calls `call`."""
    candidate = response["candidates"][0]
    candidate["content"] = {
        "role": "model",
        "parts": [
            {
                "functionCall": {"name": call.name, "args": call.arguments},
                "thoughtSignature": random_token(rng, 32),
            }
        ],
    }
    candidate["finishReason"] = "STOP"
    usage = response["usageMetadata"]
    usage["candidatesTokenCount"] = call.tokens
    usage["totalTokenCount"] = (
        usage.get("promptTokenCount", 0)
        + call.tokens
        + usage.get("thoughtsTokenCount", 0)
    )


def ollama_answer(
    reply: dict[str, Any], stats: dict[str, Any], call: ScriptedCall
) -> None:
    """Turn an /api/chat message into one that calls `call`."""
    reply["content"] = ""
    reply["tool_calls"] = [
        {"function": {"index": 0, "name": call.name, "arguments": call.arguments}}
    ]
    stats["eval_count"] = call.tokens
    stats["done_reason"] = "stop"


def _retokened(
    usage: dict[str, Any], prompt_key: str, completion_key: str, call: ScriptedCall
) -> None:
    details = usage.get("completion_tokens_details") or {}
    usage[completion_key] = call.tokens + details.get("reasoning_tokens", 0)
    usage["total_tokens"] = usage[prompt_key] + usage[completion_key]


def _halves(text: str) -> list[str]:
    middle = len(text) // 2
    return [piece for piece in (text[:middle], text[middle:]) if piece] or [""]
