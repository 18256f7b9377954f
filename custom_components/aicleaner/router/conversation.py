"""The provider-neutral conversation: messages, tools, tool calls and the deltas of a stream.

A request either carries a prompt (the actions' form) or a conversation (`AIRequest.messages`); a
prompt-only request is a one-message conversation (`conversation_of`). Each client converts this form
to its own wire format on every call, so a conversation begun on one provider can go on at another.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import orjson

from .estimate import TOKENS_PER_MESSAGE, utf8_length

if TYPE_CHECKING:
    from .models import AIRequest, AIResponse, ImageInput, Usage


class Role(StrEnum):
    """Who said a message."""

    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"


class ToolChoice(StrEnum):
    """Whether the model may, must not, or must call a tool."""

    AUTO = "auto"
    NONE = "none"
    REQUIRED = "required"


@dataclass(frozen=True, slots=True)
class ToolDefinition:
    """A tool the model may call: a name, what it does, and a JSON schema of its parameters."""

    name: str
    description: str = ""
    parameters: Mapping[str, Any] = field(
        default_factory=lambda: {"type": "object", "properties": {}}
    )


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One call the model asked for: the provider's id (or ours), the tool and its arguments."""

    id: str
    name: str
    arguments: Mapping[str, Any]
    # Gemini's `thoughtSignature` of the call, sent back with it.
    signature: str | None = None

    @property
    def arguments_json(self) -> str:
        """The arguments as the JSON text OpenAI-style protocols carry."""
        return orjson.dumps(dict(self.arguments)).decode()


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """One turn of a conversation.

    A user message has text and images; an assistant message text and tool calls; a tool message
    answers the call `tool_call_id` of tool `tool_name` with `text` (Gemini needs the name).
    """

    role: Role
    text: str = ""
    images: tuple[ImageInput, ...] = ()
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    tool_name: str | None = None


def system(text: str) -> Message:
    """Return a system message."""
    return Message(role=Role.SYSTEM, text=text)


def user(text: str, images: tuple[ImageInput, ...] = ()) -> Message:
    """Return a user message, with any images."""
    return Message(role=Role.USER, text=text, images=images)


def assistant(text: str = "", tool_calls: tuple[ToolCall, ...] = ()) -> Message:
    """Return an assistant message, with any tool calls."""
    return Message(role=Role.ASSISTANT, text=text, tool_calls=tool_calls)


def tool_result(call: ToolCall, result: Any) -> Message:
    """Return the answer to `call`: a string as it is, anything else as JSON."""
    text = result if isinstance(result, str) else orjson.dumps(result).decode()
    return Message(role=Role.TOOL, text=text, tool_call_id=call.id, tool_name=call.name)


def conversation_of(request: AIRequest) -> tuple[str | None, tuple[Message, ...]]:
    """Return the request as (system text, messages without system ones), whatever form it came in.

    System messages in the conversation are joined to the request's (effective) system prompt:
    every protocol but OpenAI's takes one system text, apart from the turns.
    """
    if not request.messages:
        return request.effective_system_prompt, (user(request.prompt, request.images),)
    systems = [request.effective_system_prompt or ""]
    systems += [m.text for m in request.messages if m.role is Role.SYSTEM]
    text = "\n\n".join(part for part in systems if part)
    turns = tuple(m for m in request.messages if m.role is not Role.SYSTEM)
    if request.prompt:
        turns += (user(request.prompt, request.images),)
    return text or None, turns


def conversation_token_bound(request: AIRequest) -> int:
    """Most input tokens the conversation's text, tool calls and tool definitions can take.

    Images are left out (the router bounds them per model). One token per UTF-8 byte bounds every
    tokenizer the providers use (see `estimate`).
    """
    system_text, turns = conversation_of(request)
    total = TOKENS_PER_MESSAGE + (
        utf8_length(system_text) + TOKENS_PER_MESSAGE if system_text else 0
    )
    for message in turns:
        total += utf8_length(message.text) + TOKENS_PER_MESSAGE
        for call in message.tool_calls:
            total += (
                utf8_length(call.name)
                + utf8_length(call.arguments_json)
                + TOKENS_PER_MESSAGE
            )
    for tool in request.tools:
        total += (
            utf8_length(tool.name)
            + utf8_length(tool.description)
            + len(orjson.dumps(dict(tool.parameters)))
            + TOKENS_PER_MESSAGE
        )
    return total


def image_count(request: AIRequest) -> int:
    """Images in the request, in the prompt form or anywhere in the conversation."""
    return len(request.images) + sum(len(m.images) for m in request.messages)


# --------------------------------------------------------------------- stream deltas


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the answer's text."""

    text: str


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """A piece of the model's reasoning (thinking), kept apart from the answer."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A piece of a tool call as it streams: `index` tells the calls apart.

    The id and name come with the first piece (when the protocol sends them), `arguments` is a
    fragment of the arguments' JSON text.
    """

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass(frozen=True, slots=True)
class ToolCallDone:
    """A tool call complete, its arguments parsed."""

    call: ToolCall


@dataclass(frozen=True, slots=True)
class StreamEnd:
    """The last record of a provider's stream: what it used and why it stopped.

    `usage` is None when the stream carried no usable token counts: the router then books the
    reservation, an upper bound. `cost` is the provider's price of `usage` (cache rates applied).
    """

    model: str
    finish_reason: str
    usage: Usage | None
    cost: float
    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()


@dataclass(frozen=True, slots=True)
class StreamResult:
    """The last item `Router.stream` yields: the whole answer, as `process` would return it."""

    response: AIResponse


type ProviderDelta = (
    TextDelta | ReasoningDelta | ToolCallDelta | ToolCallDone | StreamEnd
)
type RouterDelta = (
    TextDelta | ReasoningDelta | ToolCallDelta | ToolCallDone | StreamResult
)
