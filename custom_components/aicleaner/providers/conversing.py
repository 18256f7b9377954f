"""The client half shared by every protocol for conversations: tool calls, cache-aware cost, streams.

`ConversationProvider` sits between `BaseProvider` and each client. It adds `stream()`: the same call
as `complete`, sent as a stream and decoded into deltas (text, reasoning, tool-call pieces, each
finished tool call) and one `StreamEnd` with the usage and its cost. Each client supplies how a
request becomes a stream request (`_stream_request`), how the body is framed (`_stream_items`: SSE or
NDJSON) and how its events decode (`_stream_decoder`/`_stream_feed`/`_stream_failure`).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date
import logging
from typing import Any, Final, Protocol

import aiohttp
import orjson

from ..router.conversation import (
    ProviderDelta,
    StreamEnd,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolCallDone,
)
from ..router.errors import (
    BadRequestError,
    CutOffError,
    EmptyResponseError,
    InvalidInputError,
    ProviderError,
    ProviderTimeoutError,
)
from ..router.models import AIRequest, Usage
from .base import (
    ERROR_BODY_LIMIT,
    BaseProvider,
    JSONObject,
    _encodable,
    _read_prefix,
    transport_error,
)
from .cache_pricing import usage_cost
from .pricing import PriceQuote
from .streaming import StreamFormatError, ToolCallAssembler

_LOGGER = logging.getLogger("custom_components.aicleaner.providers")

_CONNECT_TIMEOUT: Final = 10.0


class StreamDecoder(Protocol):
    """What a protocol's stream decoder keeps while it reads."""

    finish_reason: str | None
    usage: Usage | None
    model: str | None
    done: bool


class ConversationProvider(BaseProvider):
    """A client that also converses: tool calls in answers, streams, cached-token prices."""

    async def prepare(self, request: AIRequest) -> AIRequest:
        """Return `request` with every image fitted, the conversation's as the prompt's.

        The images of all turns are fitted together, so that they share the request's size
        limit, and go back to their turns in order.
        """
        if not any(message.images for message in request.messages):
            return await super().prepare(request)
        own = len(request.images)
        every = request.images + tuple(
            image for message in request.messages for image in message.images
        )
        fitted = (await super().prepare(replace(request, images=every))).images
        rest = iter(fitted[own:])
        messages = tuple(
            replace(message, images=tuple(next(rest) for _ in message.images))
            if message.images
            else message
            for message in request.messages
        )
        return replace(request, images=fitted[:own], messages=messages)

    def _usage_cost(self, quote: PriceQuote, model: str, usage: Usage) -> float:
        """USD of `usage` at `quote`, cached input at the provider's cached rate when the price is its own."""
        own = not (self._price_override is not None and model == self._model)
        return usage_cost(
            quote.price, usage, kind=self.kind, listed=own and quote.listed
        )

    # --- streams -------------------------------------------------------------------------------

    @abstractmethod
    def _stream_request(self, request: AIRequest, model: str) -> tuple[str, JSONObject]:
        """URL and JSON body of one streamed call."""

    @abstractmethod
    def _stream_items(
        self, content: aiohttp.StreamReader
    ) -> AsyncIterator[tuple[str | None, Any]]:
        """Return the body's events as (event name, parsed data)."""

    @abstractmethod
    def _stream_decoder(self) -> StreamDecoder:
        """Return a fresh decoder for one stream."""

    @abstractmethod
    def _stream_feed(
        self, decoder: Any, name: str | None, data: Any
    ) -> list[ProviderDelta]:
        """Deltas of one event."""

    def _stream_failure(self, decoder: Any) -> ProviderError | None:
        """Return the error an event reported (an error event, a refusal), if any."""
        return None

    async def stream(
        self,
        request: AIRequest,
        *,
        timeout: float,
        day: date | None = None,
        idle: float | None = None,
    ) -> AsyncIterator[ProviderDelta]:
        """Send `request` as a stream and yield its deltas, then one `StreamEnd`.

        The whole stream may take `timeout` seconds, and go `idle` seconds without a byte (None:
        no such limit). The answer is priced on `day`, the day the router reserved the call on
        (as `complete`).

        Every failure is a `ProviderError`: before the first delta (a status, a connection that
        fails) or after it (a stream cut short, a stall past `idle` or `timeout`, an error event).
        """
        model = request.model or self._model
        if not (
            _encodable(request.prompt)
            and _encodable(request.effective_system_prompt or "")
            and all(_encodable(m.text) for m in request.messages)
        ):
            raise InvalidInputError(
                "the request holds text that is not valid Unicode",
                provider=self._name,
            )
        if not timeout > 0:
            raise ProviderTimeoutError(
                f"no time left for the request (timeout {timeout:g} s)",
                provider=self._name,
            )
        url, payload = self._stream_request(request, model)
        try:
            async with self._session.post(
                url,
                data=orjson.dumps(payload),
                headers=self._stream_headers(),
                timeout=aiohttp.ClientTimeout(
                    total=timeout,
                    connect=min(_CONNECT_TIMEOUT, timeout * 0.8),
                    sock_read=idle,
                ),
                allow_redirects=False,
            ) as response:
                status = response.status
                if 300 <= status < 400:
                    raise BadRequestError(
                        f"the provider redirected to another location (HTTP {status})",
                        provider=self._name,
                        status=status,
                    )
                if status >= 400:
                    raw = await _read_prefix(response, ERROR_BODY_LIMIT)
                    raise self._status_error(status, response.headers, raw)
                # Decoded here, not in a helper generator: each layer would cost every delta
                # a resumption.
                decoder = self._stream_decoder()
                assembler = ToolCallAssembler()
                text: list[str] = []
                async for name, data in self._stream_items(response.content):
                    deltas = self._stream_feed(decoder, name, data)
                    if (failure := self._stream_failure(decoder)) is not None:
                        raise failure
                    for delta in deltas:
                        if type(delta) is TextDelta:
                            text.append(delta.text)
                        elif type(delta) is ToolCallDelta:
                            assembler.add(delta)
                        yield delta
                for item in self._finish(
                    decoder, assembler, "".join(text), model, day or date.today()
                ):
                    yield item
        except ProviderError:
            raise
        except (StreamFormatError, ValueError, TypeError, KeyError) as err:
            raise self._malformed(
                f"the stream could not be read ({type(err).__name__})"
            ) from err
        except (TimeoutError, aiohttp.ClientError, OSError) as err:
            raise transport_error(
                err,
                self._name,
                timed_out=(
                    f"the stream sent nothing for {idle:g} s, or did not finish within"
                    f" {timeout:g} s"
                    if idle
                    else f"the stream did not finish within {timeout:g} s"
                ),
                broke="the stream broke",
            ) from err

    def _stream_headers(self) -> dict[str, str]:
        headers = dict(self._headers)
        headers["Accept"] = "text/event-stream"
        return headers

    def _finish(
        self,
        decoder: StreamDecoder,
        assembler: ToolCallAssembler,
        answer: str,
        model: str,
        day: date,
    ) -> list[ProviderDelta]:
        """Return the finished tool calls and the `StreamEnd` of a stream read to its end."""
        if not decoder.done:
            # The answer began: the provider generated it, and bills it.
            raise CutOffError(
                "the stream ended before it was complete", provider=self._name
            )
        whole: list[ToolCall] = list(getattr(decoder, "calls", ()) or ())
        calls = tuple(whole) or assembler.calls(lambda index: f"call_{index}")
        if not answer.strip() and not calls:
            raise EmptyResponseError(
                "the stream had no text and no tool call", provider=self._name
            )
        usage = decoder.usage
        served = decoder.model or model
        items: list[ProviderDelta] = [ToolCallDone(call) for call in calls]
        items.append(
            StreamEnd(
                model=served,
                finish_reason=decoder.finish_reason or "stop",
                usage=usage,
                cost=0.0
                if usage is None
                else self._usage_cost(
                    self._answer_price(model, served, day), model, usage
                ),
                text=answer,
                tool_calls=calls,
            )
        )
        return items
