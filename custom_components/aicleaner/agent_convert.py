"""HA's chat log to the router's provider-neutral conversation, and the router's deltas back to HA's.

Converted afresh for every model call, so a turn's next round may go to another provider with the
whole history (tool calls and tool results included).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

from homeassistant.components import conversation
from homeassistant.helpers import llm
import probatio

from .router.conversation import (
    Message,
    ReasoningDelta,
    RouterDelta,
    StreamResult,
    TextDelta,
    ToolCall,
    ToolCallDone,
    ToolDefinition,
    assistant,
    tool_result,
    user,
)
from .router.models import AIResponse

# JSON-schema keywords some protocols refuse at the top of a tool's parameters (as core drops them).
_UNSUPPORTED_TOP_LEVEL = frozenset({"oneOf", "anyOf", "allOf", "enum", "not"})


def tool_definitions(api: llm.APIInstance | None) -> tuple[ToolDefinition, ...]:
    """Return the tools of the chat log's LLM API, their parameters as JSON schema."""
    if api is None:
        return ()
    definitions = []
    for tool in api.tools:
        schema = probatio.to_openapi(
            tool.parameters,
            custom_serializer=api.custom_serializer,
            openapi_version="3.1.0",
        )
        schema = {k: v for k, v in schema.items() if k not in _UNSUPPORTED_TOP_LEVEL}
        schema.setdefault("type", "object")
        schema.setdefault("properties", {})
        definitions.append(
            ToolDefinition(
                name=tool.name, description=tool.description or "", parameters=schema
            )
        )
    return tuple(definitions)


def system_prompt(content: Iterable[conversation.Content]) -> str | None:
    """Return the chat log's system prompt (its first message, filled by `async_provide_llm_data`)."""
    texts = [c.content for c in content if isinstance(c, conversation.SystemContent)]
    return "\n\n".join(text for text in texts if text) or None


def messages(content: Iterable[conversation.Content]) -> tuple[Message, ...]:
    """Return every turn of the chat log but the system prompt, in the router's form."""
    turns: list[Message] = []
    for item in content:
        if isinstance(item, conversation.UserContent):
            turns.append(user(item.content))
        elif isinstance(item, conversation.AssistantContent):
            calls = tuple(
                ToolCall(id=call.id, name=call.tool_name, arguments=call.tool_args)
                for call in item.tool_calls or ()
                if not call.external
            )
            if item.content or calls:
                turns.append(assistant(item.content or "", calls))
        elif isinstance(item, conversation.ToolResultContent):
            call = ToolCall(id=item.tool_call_id, name=item.tool_name, arguments={})
            turns.append(
                tool_result(
                    call, {"data": item.result.data, "error": item.result.error}
                )
            )
    return tuple(turns)


class DeltaStream:
    """The router's deltas of one model call as HA's chat-log deltas; keeps the final answer.

    Text goes to `content`, reasoning to `thinking_content`, each finished tool call to
    `tool_calls` (HA starts running it at once). The first delta opens the assistant message.
    """

    def __init__(self, deltas: AsyncIterator[RouterDelta]) -> None:
        """Wrap `Router.stream`'s iterator."""
        self._deltas = deltas
        self.response: AIResponse | None = None
        self.spoke = False

    async def __aiter__(self) -> AsyncIterator[conversation.AssistantContentDeltaDict]:
        """Yield HA's deltas: an assistant role first, then its pieces."""
        opened = False
        async for delta in self._deltas:
            piece: conversation.AssistantContentDeltaDict
            if isinstance(delta, TextDelta):
                piece = {"content": delta.text}
            elif isinstance(delta, ReasoningDelta):
                piece = {"thinking_content": delta.text}
            elif isinstance(delta, ToolCallDone):
                call = delta.call
                piece = {
                    "tool_calls": [
                        llm.ToolInput(
                            id=call.id,
                            tool_name=call.name,
                            tool_args=dict(call.arguments),
                        )
                    ]
                }
            elif isinstance(delta, StreamResult):
                self.response = delta.response
                continue
            else:  # a tool call's pieces: HA takes the call once it is complete
                continue
            if not opened:
                opened = True
                yield {"role": "assistant"}
            self.spoke = True
            yield piece
