"""OpenAI Chat Completions wire form of a conversation: `messages`, `tools`, `tool_calls`, stream chunks.

Follows the openai SDK's `ChatCompletionMessageParam` and `ChatCompletionChunk`: an assistant turn
carries `tool_calls` (`{id, type: "function", function: {name, arguments}}`, arguments as JSON text),
a tool result is a `tool` message naming its `tool_call_id`. OpenAI-compatible servers that reason
(DeepSeek, vLLM, OpenRouter) stream `reasoning_content` or `reasoning` beside `content`.
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
    ToolDefinition,
    conversation_of,
)
from ..router.models import Usage
from .base import JSONObject, token_count, usage_from
from .streaming import parse_arguments

if TYPE_CHECKING:
    from ..router.models import AIRequest, ImageInput


def _image_part(image: ImageInput, detail: str | None) -> JSONObject:
    url: JSONObject = {
        "url": f"data:{image.mime_type};base64,"
        + base64.b64encode(image.data).decode("ascii")
    }
    if detail:
        url["detail"] = detail
    return {"type": "image_url", "image_url": url}


def _message(message: Message, detail: str | None) -> JSONObject:
    if message.role is Role.USER:
        if not message.images:
            return {"role": "user", "content": message.text}
        parts: list[JSONObject] = [{"type": "text", "text": message.text}]
        parts += [_image_part(image, detail) for image in message.images]
        return {"role": "user", "content": parts}
    if message.role is Role.TOOL:
        return {
            "role": "tool",
            "tool_call_id": message.tool_call_id or "",
            "content": message.text,
        }
    out: JSONObject = {"role": "assistant", "content": message.text or None}
    if message.tool_calls:
        out["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments_json},
            }
            for call in message.tool_calls
        ]
    return out


def messages_body(
    request: AIRequest, *, system_role: str, image_detail: str | None
) -> list[JSONObject]:
    """Return the request's conversation as Chat Completions `messages`."""
    system_text, turns = conversation_of(request)
    messages: list[JSONObject] = []
    if system_text:
        messages.append({"role": system_role, "content": system_text})
    messages += [_message(message, image_detail) for message in turns]
    return messages


def tools_body(tools: tuple[ToolDefinition, ...]) -> list[JSONObject]:
    """Tool definitions as `tools`."""
    return [
        {
            "type": "function",
            "function": {
                "name": tool.name,
                "description": tool.description,
                "parameters": dict(tool.parameters),
            },
        }
        for tool in tools
    ]


def add_tools(payload: JSONObject, request: AIRequest) -> None:
    """Put the request's tools and tool choice in `payload`."""
    if request.tools:
        payload["tools"] = tools_body(request.tools)
        payload["tool_choice"] = str(request.tool_choice)


def tool_calls(message: JSONObject) -> tuple[ToolCall, ...]:
    """Return the function calls of an answer's message (other tool types are not ours)."""
    calls = message.get("tool_calls")
    if not isinstance(calls, list):
        return ()
    found = []
    for index, call in enumerate(calls):
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            continue
        call_id = call.get("id")
        found.append(
            ToolCall(
                call_id if isinstance(call_id, str) and call_id else f"call_{index}",
                function["name"],
                parse_arguments(function.get("arguments") or ""),
            )
        )
    return tuple(found)


def usage_of(usage: Any) -> Usage | None:
    """Usage from a `usage` object, cached prompt tokens included."""
    if not isinstance(usage, dict):
        return None
    tokens = usage_from(usage.get("prompt_tokens"), usage.get("completion_tokens"))
    if tokens is None:
        return None
    details = usage.get("prompt_tokens_details")
    cached = (
        token_count(details.get("cached_tokens") or 0)
        if isinstance(details, dict)
        else 0
    )
    return Usage(tokens.input_tokens, tokens.output_tokens, cached or 0)


class ChunkDecoder:
    """Turns `chat.completion.chunk` events into deltas; remembers the finish, usage and model."""

    def __init__(self) -> None:
        """Start with nothing seen."""
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.model: str | None = None
        self.refused = False
        self.done = False
        self.error: JSONObject | None = None

    def feed(self, data: Any) -> list[ProviderDelta]:
        """Deltas of one chunk; `None` is the `[DONE]` marker."""
        if data is None:
            self.done = True
            return []
        if not isinstance(data, dict):
            raise TypeError("a stream chunk is not an object")
        if isinstance(data.get("model"), str):
            self.model = data["model"]
        if (usage := usage_of(data.get("usage"))) is not None:
            self.usage = usage
        deltas: list[ProviderDelta] = []
        for choice in data.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            if choice.get("finish_reason"):
                self.finish_reason = str(choice["finish_reason"])
            delta = choice.get("delta")
            if not isinstance(delta, dict):
                continue
            deltas.extend(
                ReasoningDelta(text)
                for key in ("reasoning_content", "reasoning")
                if isinstance(text := delta.get(key), str) and text
            )
            if isinstance(text := delta.get("content"), str) and text:
                deltas.append(TextDelta(text))
            if delta.get("refusal"):
                self.refused = True
            for call in delta.get("tool_calls") or ():
                if not isinstance(call, dict):
                    continue
                function = call.get("function") or {}
                deltas.append(
                    ToolCallDelta(
                        int(call.get("index", 0)),
                        call.get("id") or None,
                        function.get("name") or None,
                        function.get("arguments") or "",
                    )
                )
        return deltas


def stream_options(payload: JSONObject) -> None:
    """Ask for a stream whose last chunk carries the usage."""
    payload["stream"] = True
    payload["stream_options"] = {"include_usage": True}
