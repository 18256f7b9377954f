"""Ollama `/api/chat` wire form of a conversation: `messages`, `tools`, `message.tool_calls`, NDJSON.

Follows ollama-python's `Message` and `Tool`: an assistant turn carries `tool_calls` (`{function:
{name, arguments}}`, arguments as an object), a tool result is a `tool` message with `tool_name`,
images are base64 strings on the user turn, and thinking comes in `message.thinking`. Ollama has no
tool choice: "none" sends no tools, "required" cannot be enforced and is sent as "auto".
"""

from __future__ import annotations

import base64
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
from .base import JSONObject, usage_from
from .streaming import parse_arguments

if TYPE_CHECKING:
    from ..router.models import AIRequest


def _message(message: Message) -> JSONObject:
    if message.role is Role.TOOL:
        out: JSONObject = {"role": "tool", "content": message.text}
        if message.tool_name:
            out["tool_name"] = message.tool_name
        return out
    out = {"role": str(message.role), "content": message.text}
    if message.images:
        out["images"] = [
            base64.b64encode(image.data).decode("ascii") for image in message.images
        ]
    if message.tool_calls:
        out["tool_calls"] = [
            {"function": {"name": call.name, "arguments": dict(call.arguments)}}
            for call in message.tool_calls
        ]
    return out


def conversation_body(request: AIRequest, payload: JSONObject) -> None:
    """Put the request's messages and tools in `payload`."""
    system_text, turns = conversation_of(request)
    messages: list[JSONObject] = []
    if system_text:
        messages.append({"role": "system", "content": system_text})
    messages += [_message(message) for message in turns]
    payload["messages"] = messages
    if request.tools and request.tool_choice is not ToolChoice.NONE:
        payload["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": dict(tool.parameters),
                },
            }
            for tool in request.tools
        ]


def tool_calls(message: Any, first_index: int = 0) -> tuple[ToolCall, ...]:
    """Return the tool calls of a `message`; Ollama gives them no id, so they are numbered."""
    calls = message.get("tool_calls") if isinstance(message, dict) else None
    found: list[ToolCall] = []
    for call in calls or ():
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            continue
        call_id = call.get("id")
        found.append(
            ToolCall(
                call_id
                if isinstance(call_id, str) and call_id
                else f"call_{first_index + len(found)}",
                function["name"],
                parse_arguments(function.get("arguments") or {}),
            )
        )
    return tuple(found)


class RecordDecoder:
    """Turns NDJSON chat records into deltas; the last (`done: true`) one carries the usage."""

    def __init__(self) -> None:
        """Start with nothing seen."""
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.model: str | None = None
        self.calls: list[ToolCall] = []
        self.done = False
        self.error: str | None = None

    def feed(self, data: Any) -> list[ProviderDelta]:
        """Deltas of one record."""
        if not isinstance(data, dict):
            raise TypeError("a stream record is not an object")
        if isinstance(data.get("error"), str):
            # Ollama reports a failure after the stream began as a record of its own.
            self.error = data["error"]
            return []
        if isinstance(data.get("model"), str):
            self.model = data["model"]
        deltas: list[ProviderDelta] = []
        message = data.get("message")
        if isinstance(message, dict):
            if isinstance(text := message.get("thinking"), str) and text:
                deltas.append(ReasoningDelta(text))
            if isinstance(text := message.get("content"), str) and text:
                deltas.append(TextDelta(text))
            for call in tool_calls(message, len(self.calls)):
                deltas.append(
                    ToolCallDelta(
                        len(self.calls), call.id, call.name, call.arguments_json
                    )
                )
                self.calls.append(call)
        if data.get("done") is True:
            self.done = True
            self.finish_reason = str(data.get("done_reason") or "stop")
            self.usage = usage_from(
                data.get("prompt_eval_count"), data.get("eval_count")
            )
        return deltas
