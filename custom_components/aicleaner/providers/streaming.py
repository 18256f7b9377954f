"""Reading streamed answers: server-sent events and NDJSON lines, and tool calls put back together.

The readers take an open aiohttp response and yield one parsed JSON object per event (SSE, as OpenAI,
Anthropic and Gemini send) or per line (NDJSON, as Ollama sends). A line longer than any real event is
refused rather than buffered without end.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Final

import aiohttp
import orjson

from ..router.conversation import ToolCall, ToolCallDelta

# One event of a real stream is a few KiB; a tool call's arguments stay far below this.
MAX_EVENT_BYTES: Final = 1024 * 1024


class StreamFormatError(ValueError):
    """A stream that is not what its protocol sends (an oversize or unparseable event)."""


def _split(buffer: bytes, chunk: bytes) -> tuple[list[bytes], bytes]:
    """Return the complete lines of `buffer + chunk` (without line breaks), and the rest."""
    buffer += chunk
    if b"\n" not in chunk:
        if len(buffer) > MAX_EVENT_BYTES:
            raise StreamFormatError("a stream line exceeds the size limit")
        return [], buffer
    *lines, rest = buffer.split(b"\n")
    return [line.removesuffix(b"\r") for line in lines], rest


async def sse_events(
    content: aiohttp.StreamReader,
) -> AsyncIterator[tuple[str | None, Any]]:
    """Yield (event name, parsed data) per server-sent event; `[DONE]` comes as (None, None)."""
    # One generator, lines split in place: every layer would cost each event a resumption.
    name: str | None = None
    data: list[bytes] = []
    buffer = b""
    async for chunk in content.iter_any():
        lines, buffer = _split(buffer, chunk)
        for line in lines:
            if not line:
                if data:
                    raw = b"\n".join(data)
                    yield name, None if raw == b"[DONE]" else _parse(raw)
                name, data = None, []
            elif line.startswith(b"data:"):
                data.append(line[5:].removeprefix(b" "))
            elif line.startswith(b"event:"):
                name = line[6:].strip().decode(errors="replace")
            # Comments (":" keep-alives), ids and retry fields carry nothing for us.
    if buffer.startswith(b"data:"):
        data.append(buffer.removesuffix(b"\r")[5:].removeprefix(b" "))
    if data:
        raw = b"\n".join(data)
        yield name, None if raw == b"[DONE]" else _parse(raw)


async def ndjson_records(content: aiohttp.StreamReader) -> AsyncIterator[Any]:
    """Yield one parsed JSON value per non-empty line."""
    buffer = b""
    async for chunk in content.iter_any():
        lines, buffer = _split(buffer, chunk)
        for line in lines:
            if line.strip():
                yield _parse(line)
    if buffer.strip():
        yield _parse(buffer)


def _parse(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        raise StreamFormatError("a stream event is not valid JSON") from err


@dataclass(slots=True)
class _PartialCall:
    id: str | None = None
    name: str | None = None
    arguments: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ToolCallAssembler:
    """Puts streamed tool-call pieces together, by their index, in the order they began."""

    _calls: dict[int, _PartialCall] = field(default_factory=dict)

    def add(self, delta: ToolCallDelta) -> None:
        """Add one piece."""
        call = self._calls.setdefault(delta.index, _PartialCall())
        if delta.id:
            call.id = delta.id
        if delta.name:
            call.name = delta.name
        if delta.arguments:
            call.arguments.append(delta.arguments)

    def calls(self, make_id: Any) -> tuple[ToolCall, ...]:
        """Return the complete calls; `make_id(index)` names one the provider gave no id.

        Raises `StreamFormatError` for a call without a name or with arguments that are not a JSON
        object.
        """
        done = []
        for index, call in sorted(self._calls.items()):
            if not call.name:
                raise StreamFormatError("a streamed tool call has no name")
            done.append(
                ToolCall(
                    call.id or make_id(index),
                    call.name,
                    parse_arguments("".join(call.arguments)),
                )
            )
        return tuple(done)


def parse_arguments(text: str | Any) -> dict[str, Any]:
    """Return a tool call's arguments from their JSON text (or an object as Ollama and Gemini send)."""
    if isinstance(text, dict):
        return text
    if isinstance(text, str):
        if not text.strip():
            return {}
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as err:
            raise StreamFormatError("tool call arguments are not valid JSON") from err
        if isinstance(value, dict):
            return value
    raise StreamFormatError("tool call arguments are not a JSON object")
