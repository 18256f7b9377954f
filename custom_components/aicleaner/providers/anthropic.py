"""Anthropic Messages client: `POST {base}/v1/messages`.

Wire details follow the anthropic SDK 2.14: it authenticates an API key with `Authorization: Bearer <key>`
(`_client.py`, `_api_key_auth`) and sends `anthropic-version: 2026-10-21` (`_constants.py`). Older
deployments and proxies that only know `x-api-key` can be served with `auth_header="x-api-key"`.
`MessageCreateParams` of that API version has no `temperature` (nor `top_p`/`top_k`): the client
leaves the request's temperature out rather than send a field the API no longer defines.
"""

from __future__ import annotations

import base64
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar, Final

from ..router.errors import (
    ContentFilterError,
    OverloadedError,
    ProviderError,
    ProviderServerError,
    RateLimitError,
)
from ..router.models import ModelCapabilities, Usage
from . import anthropic_wire
from .base import JSONObject
from .catalog import ANTHROPIC_REQUEST_BYTES, anthropic_capabilities
from .conversing import ConversationProvider
from .pricing import PriceQuote, anthropic_quote
from .streaming import sse_events

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import aiohttp

    from ..router.conversation import ProviderDelta, ToolCall
    from ..router.models import AIRequest, ImageInput

ANTHROPIC_VERSION: Final = "2026-10-21"


class AnthropicProvider(ConversationProvider):
    """Anthropic's Messages API."""

    kind: ClassVar[str] = "anthropic"
    default_base_url: ClassVar[str | None] = "https://api.anthropic.com"
    max_request_bytes: ClassVar[int | None] = ANTHROPIC_REQUEST_BYTES

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        auth_header: str = "authorization",
        **settings: Any,
    ) -> None:
        """Accept the common settings plus `auth_header` ("authorization" or "x-api-key")."""
        if auth_header not in ("authorization", "x-api-key"):
            raise ValueError("auth_header must be 'authorization' or 'x-api-key'")
        self._auth_header = auth_header
        super().__init__(session, **settings)

    def _build_headers(self, api_key: str | None) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "anthropic-version": ANTHROPIC_VERSION,
        }
        if api_key:
            if self._auth_header == "x-api-key":
                headers["x-api-key"] = api_key
            else:
                headers["Authorization"] = f"Bearer {api_key}"
        return headers

    def _completion_request(
        self, request: AIRequest, model: str, images: tuple[ImageInput, ...]
    ) -> tuple[str, JSONObject]:
        if request.messages or request.tools:
            payload: JSONObject = {"model": model, "max_tokens": request.max_tokens}
            anthropic_wire.conversation_body(request, payload)
            return f"{self._base_url}/v1/messages", payload
        content: str | list[JSONObject]
        if images:
            # Anthropic recommends images before the text that asks about them.
            content = [
                {
                    "type": "image",
                    "source": {
                        "type": "base64",
                        "media_type": image.mime_type,
                        "data": base64.b64encode(image.data).decode("ascii"),
                    },
                }
                for image in images
            ]
            content.append({"type": "text", "text": request.prompt})
        else:
            content = request.prompt
        payload = {
            "model": model,
            "max_tokens": request.max_tokens,
            "messages": [{"role": "user", "content": content}],
        }
        # JSON is asked by instruction only: the Messages API has no JSON mode of its own.
        if system := request.effective_system_prompt:
            payload["system"] = system
        return f"{self._base_url}/v1/messages", payload

    def _parse_completion(
        self, body: JSONObject, model: str
    ) -> tuple[str, str | None, Usage | None, str]:
        blocks = body.get("content")
        if not isinstance(blocks, list):
            raise self._malformed("answer has no content blocks")
        stop_reason = str(body.get("stop_reason") or "end_turn")
        if stop_reason == "refusal":
            raise ContentFilterError(
                "the model refused the request", provider=self._name
            )
        usage: Any = body.get("usage")
        text = "".join(
            block["text"]
            for block in blocks
            if isinstance(block, dict)
            and block.get("type") == "text"
            and isinstance(block.get("text"), str)
        )
        used_model = body.get("model")
        return (
            text,
            used_model if isinstance(used_model, str) else None,
            anthropic_wire.usage_of(usage),
            stop_reason,
        )

    def _parse_tool_calls(self, body: JSONObject) -> tuple[ToolCall, ...]:
        blocks = body.get("content")
        return anthropic_wire.tool_calls(blocks) if isinstance(blocks, list) else ()

    def _stream_request(self, request: AIRequest, model: str) -> tuple[str, JSONObject]:
        url, payload = self._completion_request(request, model, request.images)
        payload["stream"] = True
        return url, payload

    def _stream_items(
        self, content: aiohttp.StreamReader
    ) -> AsyncIterator[tuple[str | None, Any]]:
        return sse_events(content)

    def _stream_decoder(self) -> anthropic_wire.EventDecoder:
        return anthropic_wire.EventDecoder()

    def _stream_feed(
        self, decoder: anthropic_wire.EventDecoder, name: str | None, data: Any
    ) -> list[ProviderDelta]:
        return decoder.feed(name, data)

    def _stream_failure(
        self, decoder: anthropic_wire.EventDecoder
    ) -> ProviderError | None:
        if decoder.error is not None:
            # An error event after the stream began: the Messages API names its type.
            kind = decoder.error.get("type")
            if kind == "overloaded_error":
                return OverloadedError("overloaded", provider=self._name)
            if kind == "rate_limit_error":
                return RateLimitError("rate limited", provider=self._name)
            return ProviderServerError(
                "the stream reported an error", provider=self._name
            )
        if decoder.finish_reason == "refusal":
            return ContentFilterError(
                "the model refused the request", provider=self._name
            )
        return None

    def _models_url(self) -> str:
        return f"{self._base_url}/v1/models?limit=1000"

    def _model_capabilities(self, model: str) -> ModelCapabilities:
        return anthropic_capabilities(model)

    def _model_quote(self, model: str, day: date) -> PriceQuote:
        return anthropic_quote(model, day)
