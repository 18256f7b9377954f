"""Anthropic Messages wire form of a conversation: content blocks, `tool_use`, `tool_result`, SSE events.

Follows the anthropic SDK's `MessageParam` and `RawMessageStreamEvent`: the system text is top-level,
an assistant turn holds `tool_use` blocks (`{id, name, input}`), tool results go back as
`tool_result` blocks in the next user turn, and turns of one role in a row are merged into one
(every result of one assistant turn must come in the one user turn after it). Usage comes from
`message_start` (input, cache reads and writes) and `message_delta` (output, cumulative).
"""

from __future__ import annotations

import base64
import re
from typing import TYPE_CHECKING, Any

from ..router.conversation import (
    Message,
    ProviderDelta,
    ReasoningDelta,
    Role,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolChoice,
    conversation_of,
)
from ..router.models import Usage
from .base import JSONObject, token_count
from .streaming import parse_arguments

if TYPE_CHECKING:
    from ..router.models import AIRequest


# Anthropic takes tool_use ids of these characters only; another provider's id is rewritten.
_ID_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")
_CHOICE = {
    ToolChoice.AUTO: {"type": "auto"},
    ToolChoice.NONE: {"type": "none"},
    ToolChoice.REQUIRED: {"type": "any"},
}


def safe_id(call_id: str) -> str:
    """Return a tool call id as Anthropic accepts it."""
    return _ID_UNSAFE.sub("_", call_id) or "toolu_0"


def _blocks(message: Message) -> list[JSONObject]:
    if message.role is Role.TOOL:
        return [
            {
                "type": "tool_result",
                "tool_use_id": safe_id(message.tool_call_id or ""),
                "content": message.text,
            }
        ]
    blocks: list[JSONObject] = [
        {
            "type": "image",
            "source": {
                "type": "base64",
                "media_type": image.mime_type,
                "data": base64.b64encode(image.data).decode("ascii"),
            },
        }
        for image in message.images
    ]
    if message.text:
        blocks.append({"type": "text", "text": message.text})
    blocks += [
        {
            "type": "tool_use",
            "id": safe_id(call.id),
            "name": call.name,
            "input": dict(call.arguments),
        }
        for call in message.tool_calls
    ]
    return blocks


def conversation_body(request: AIRequest, payload: JSONObject) -> None:
    """Put the request's system text, turns, tools and tool choice in `payload`."""
    system_text, turns = conversation_of(request)
    messages: list[JSONObject] = []
    for message in turns:
        role = "assistant" if message.role is Role.ASSISTANT else "user"
        blocks = _blocks(message)
        if not blocks:
            continue
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"] += blocks
        else:
            messages.append({"role": role, "content": blocks})
    payload["messages"] = messages
    if system_text:
        payload["system"] = system_text
    if request.tools:
        payload["tools"] = [
            {
                "name": tool.name,
                "description": tool.description,
                "input_schema": dict(tool.parameters),
            }
            for tool in request.tools
        ]
        payload["tool_choice"] = _CHOICE[request.tool_choice]


def tool_calls(blocks: list[Any]) -> tuple[ToolCall, ...]:
    """Return the `tool_use` blocks of an answer."""
    return tuple(
        ToolCall(
            str(block["id"]),
            str(block["name"]),
            parse_arguments(block.get("input") or {}),
        )
        for block in blocks
        if isinstance(block, dict) and block.get("type") == "tool_use"
    )


def usage_of(usage: Any, output_tokens: Any = None) -> Usage | None:
    """Usage with cache reads and writes counted in the input, as Anthropic bills them."""
    if not isinstance(usage, dict):
        return None
    plain = token_count(usage.get("input_tokens"))
    out = token_count(
        usage.get("output_tokens") if output_tokens is None else output_tokens
    )
    read = token_count(usage.get("cache_read_input_tokens") or 0)
    written = token_count(usage.get("cache_creation_input_tokens") or 0)
    if plain is None or out is None or read is None or written is None:
        return None
    return Usage(plain + read + written, out, read, written)


class EventDecoder:
    """Turns Messages stream events into deltas; keeps the usage, stop reason and model."""

    def __init__(self) -> None:
        """Start with nothing seen."""
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.model: str | None = None
        self.done = False
        self.error: JSONObject | None = None
        self._start_usage: JSONObject = {}
        self._blocks: dict[int, int] = {}  # content block index -> tool call index

    def feed(self, name: str | None, data: Any) -> list[ProviderDelta]:
        """Deltas of one event."""
        if not isinstance(data, dict):
            return []
        kind = data.get("type", name)
        if kind == "message_start":
            message = data.get("message") or {}
            if isinstance(message.get("model"), str):
                self.model = message["model"]
            self._start_usage = dict(message.get("usage") or {})
            self.usage = usage_of(self._start_usage)
        elif kind == "content_block_start":
            block = data.get("content_block") or {}
            if block.get("type") == "tool_use":
                index = self._blocks[int(data.get("index", 0))] = len(self._blocks)
                return [ToolCallDelta(index, block.get("id"), block.get("name"))]
            if block.get("type") == "text" and block.get("text"):
                return [TextDelta(block["text"])]
        elif kind == "content_block_delta":
            delta = data.get("delta") or {}
            match delta.get("type"):
                case "text_delta" if delta.get("text"):
                    return [TextDelta(delta["text"])]
                case "thinking_delta" if delta.get("thinking"):
                    return [ReasoningDelta(delta["thinking"])]
                case "input_json_delta":
                    call = self._blocks.get(int(data.get("index", 0)))
                    if call is not None and delta.get("partial_json"):
                        return [ToolCallDelta(call, arguments=delta["partial_json"])]
        elif kind == "message_delta":
            delta = data.get("delta") or {}
            if delta.get("stop_reason"):
                self.finish_reason = str(delta["stop_reason"])
            usage = data.get("usage")
            if isinstance(usage, dict):
                # Cumulative counts: a later field replaces the one of message_start.
                merged = {
                    **self._start_usage,
                    **{k: v for k, v in usage.items() if v is not None},
                }
                self.usage = usage_of(merged)
        elif kind == "message_stop":
            self.done = True
        elif kind == "error":
            self.error = (
                data.get("error") if isinstance(data.get("error"), dict) else {}
            )
        return []
