"""Pieces every wire protocol shares: the per-request context, routes, ids, tokens and images."""

from __future__ import annotations

from abc import ABC, abstractmethod
import asyncio
import binascii
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
import io
import json
import math
import random
import string
from typing import TYPE_CHECKING, Any, Literal

from aiohttp import web
import orjson
from PIL import Image, UnidentifiedImageError

from .structured import instance, requested_schema

if TYPE_CHECKING:
    from .faults import Fault
    from .tools import ScriptedCall

Endpoint = Literal["generate", "models"]

_BASE62 = string.digits + string.ascii_letters


@dataclass(slots=True)
class SimCall:
    """One request as a protocol handler sees it."""

    provider: str
    request: web.Request
    json: Any  # the parsed body, or None (no body, or invalid JSON: see json_invalid)
    json_invalid: bool
    rng: random.Random
    reply_text: str | None  # a test-chosen reply, else the protocol's default
    content_filter: Fault | None = (
        None  # set when a content_filter fault hit this request
    )
    # Tool calls a test scripted for this provider (`tools.due` picks the one to answer with).
    tool_calls: tuple[ScriptedCall, ...] = ()

    @property
    def headers(self) -> Any:
        """The request headers (case-insensitive)."""
        return self.request.headers


Handler = Callable[[SimCall], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Route:
    """One endpoint of a protocol: method, path below the prefix, handler, fault class."""

    method: str
    path: str
    handler: Handler
    endpoint: Endpoint


class ProviderProtocol(ABC):
    """One provider's wire protocol, mounted below its path prefix."""

    name: str
    prefix: str

    @abstractmethod
    def routes(self) -> list[Route]:
        """The endpoints this protocol serves."""

    @abstractmethod
    def error_response(self, status: int, body: Any = None) -> web.Response:
        """The provider's own error response for this status (body overrides it)."""

    @abstractmethod
    def rate_limit_response(self, retry_after: float) -> web.Response:
        """A 429 carrying retry information the way this provider sends it."""


def json_response(
    data: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A JSON response serialised with orjson (the simulator is a bench upstream too)."""
    return web.Response(
        body=orjson.dumps(data),
        status=status,
        headers=headers,
        content_type="application/json",
    )


def custom_body_response(status: int, body: Any) -> web.Response:
    """A test-chosen error body: a str goes out as text, anything else as JSON."""
    if isinstance(body, str):
        return web.Response(text=body, status=status, content_type="text/plain")
    return json_response(body, status=status)


def random_token(rng: random.Random, length: int, alphabet: str = _BASE62) -> str:
    """A random id fragment like the providers use (base62 by default)."""
    return "".join(rng.choices(alphabet, k=length))


def text_tokens(text: str) -> int:
    """About one token per four characters, as the providers' docs estimate."""
    return math.ceil(len(text) / 4) if text else 0


def chars_to_tokens(chars: int) -> int:
    """The same estimate for a character count."""
    return math.ceil(chars / 4)


def truncate_to_tokens(text: str, max_tokens: int | None) -> tuple[str, bool]:
    """Cut a reply to max_tokens (four characters each); True when it was cut."""
    if max_tokens is None or text_tokens(text) <= max_tokens:
        return text, False
    return text[: max(max_tokens, 0) * 4], True


def default_reply(
    provider: str, model: str, prompt_chars: int, images: int, *, body: Any = None
) -> str:
    """A deterministic reply that tells tests what the simulator received.

    A request that asks for JSON (natively, or by instruction as a model would read it) gets the
    same facts as a JSON object, or an instance of the JSON schema it gives (`structured.py`).
    """
    text = (
        f"Simulated {provider} reply from {model}: "
        f"received {prompt_chars} characters of text and {images} image(s)."
    )
    if body is not None and wants_json(body):
        # Asked for a schema, a model with structured output answers with an instance of it.
        schema = requested_schema(body)
        if schema is not None:
            return json.dumps(instance(schema, text))
        return json.dumps({"reply": text, "characters": prompt_chars, "images": images})
    return text


def wants_json(body: Any) -> bool:
    """Whether a request body asks for a JSON answer, in any protocol's way or in its instructions."""
    sent = json.dumps(body)
    return any(
        marker in sent
        for marker in ("JSON", "json_object", "application/json", '"format": "json"')
    )


class InvalidImageError(Exception):
    """An image the provider would reject; reason is "base64" or "format"."""

    def __init__(self, reason: Literal["base64", "format"]) -> None:
        """Keep the reason so each protocol can word its own error."""
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """What the provider reads from an image before counting its tokens."""

    width: int
    height: int
    mime_type: str


_MIME_BY_FORMAT = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "GIF": "image/gif",
    "WEBP": "image/webp",
}


def inspect_image(data_b64: str) -> ImageInfo:
    """Decode base64 strictly and read the image header (cheap: pixels are not decoded)."""
    try:
        raw = binascii.a2b_base64(data_b64, strict_mode=True)
    except (binascii.Error, ValueError) as err:
        raise InvalidImageError("base64") from err
    try:
        with Image.open(io.BytesIO(raw)) as image:
            width, height = image.size
            mime_type = _MIME_BY_FORMAT.get(image.format or "")
    except (UnidentifiedImageError, OSError) as err:
        raise InvalidImageError("format") from err
    if mime_type is None:
        raise InvalidImageError("format")
    return ImageInfo(width, height, mime_type)


def split_text(text: str, pieces: int = 3) -> list[str]:
    """Cut a reply into a few word-aligned deltas, as a stream would deliver it."""
    words = text.split(" ")
    if len(words) < pieces:
        return [text] if text else []
    size = math.ceil(len(words) / pieces)
    chunks = [
        " ".join(words[start : start + size]) for start in range(0, len(words), size)
    ]
    return [chunk if index == 0 else " " + chunk for index, chunk in enumerate(chunks)]


# Where a "stream_stall", "stream_cut" or "stream_slow" fault waits for the stream it acts on.
STREAM_FAULT = "sim_stream_fault"
_HANG_POLL = 0.05


async def stream_fault(request: web.Request, sent: int) -> bool:
    """Break the stream here if a stream fault is due after `sent` events; True if it did.

    A cut aborts the connection mid-body; a stall stops sending until the client leaves; a slow
    stream pauses before each event.
    """
    fault = request.get(STREAM_FAULT)
    if fault is None:
        return False
    if fault.kind == "stream_slow":
        await asyncio.sleep(fault.latency or 0.0)
        return False
    if sent != fault.after_chunks:
        return False
    transport = request.transport
    if fault.kind == "stream_cut":
        if transport is not None:
            transport.abort()
        return True
    # No event tells that the client left: the transport is polled, as `app._hang` does.
    while transport is not None and not transport.is_closing():  # noqa: ASYNC110
        await asyncio.sleep(_HANG_POLL)
    return True


async def send_sse(
    request: web.Request,
    events: list[tuple[str | None, Any]],
    *,
    headers: dict[str, str] | None = None,
    done_marker: bool = False,
) -> web.StreamResponse:
    """Server-sent events: `event: name` (when named) and `data: <json>` per event."""
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-cache",
            **(headers or {}),
        }
    )
    await response.prepare(request)
    for sent, (name, data) in enumerate(events):
        if await stream_fault(request, sent):
            return response
        prefix = f"event: {name}\n".encode() if name else b""
        await response.write(prefix + b"data: " + orjson.dumps(data) + b"\n\n")
    if done_marker:
        await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response
