"""Ollama client: `POST {base}/api/chat` with `stream: false`; the model list is `GET {base}/api/tags`.

Wire details follow ollama-python 0.6 (`_client.py`, `_types.ChatRequest`): images travel as base64
strings in the user message's `images`, and `max_tokens` / `temperature` go in `options` as
`num_predict` / `temperature`. There is no key for a local server; an optional one is sent as
`Authorization: Bearer`, as the SDK does with `OLLAMA_API_KEY` (Ollama's cloud, or an auth proxy).
"""

from __future__ import annotations

import base64
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar, Final
from urllib.parse import urlsplit

from ..router.errors import BadRequestError, ProviderError, ProviderServerError
from ..router.models import ModelCapabilities, Usage
from . import ollama_wire
from .base import JSONObject, usage_from
from .catalog import is_ollama_cloud_model, ollama_capabilities
from .conversing import ConversationProvider
from .pricing import PriceQuote, ollama_quote
from .streaming import ndjson_records

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping

    import aiohttp

    from ..router.conversation import ProviderDelta, ToolCall
    from ..router.models import AIRequest, ImageInput

OLLAMA_CLOUD_HOST: Final = "ollama.com"
# Ollama answers 500 when a text-only model is sent an image; that is this model's limit, not an outage.
_NO_VISION_MESSAGE: Final = b"missing data required for image input"


class OllamaProvider(ConversationProvider):
    """A user's Ollama server."""

    kind: ClassVar[str] = "ollama"
    default_base_url: ClassVar[str | None] = "http://localhost:11434"
    # llama.cpp's image loader (stb_image) reads JPEG and PNG reliably; the rest are re-encoded.
    accepted_image_types: ClassVar[frozenset[str]] = frozenset(
        {"image/jpeg", "image/png"}
    )

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        local: bool | None = None,
        **settings: Any,
    ) -> None:
        """Accept the common settings plus `local`: False when the user says the server is not at home.

        The setup form suggests it from the host (`locality.is_private_host`); unstated (None), the
        server is trusted, as before the setting existed.
        """
        super().__init__(session, **settings)
        self._trusted_local = local is not False

    @property
    def is_local(self) -> bool:
        """A trusted Ollama server runs at home, except Ollama's own cloud and its cloud-run models.

        Ollama's cloud (`ollama.com`) and a model whose name marks it as cloud-run
        (`gpt-oss:120b-cloud`, which a home server forwards to Ollama's cloud) are not local,
        whatever the user said about the server.
        """
        host = (urlsplit(self._base_url).hostname or "").lower()
        return self._trusted_local and not (
            host == OLLAMA_CLOUD_HOST
            or host.endswith("." + OLLAMA_CLOUD_HOST)
            or is_ollama_cloud_model(self._model)
        )

    def _build_headers(self, api_key: str | None) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        return headers

    def _completion_request(
        self, request: AIRequest, model: str, images: tuple[ImageInput, ...]
    ) -> tuple[str, JSONObject]:
        messages: list[JSONObject] = []
        if system := request.effective_system_prompt:
            messages.append({"role": "system", "content": system})
        user: JSONObject = {"role": "user", "content": request.prompt}
        if images:
            user["images"] = [
                base64.b64encode(image.data).decode("ascii") for image in images
            ]
        messages.append(user)
        options: JSONObject = {"num_predict": request.max_tokens}
        if request.temperature is not None:
            options["temperature"] = request.temperature
        payload: JSONObject = {
            "model": model,
            "messages": messages,
            "stream": False,
            "options": options,
        }
        if request.messages or request.tools:
            ollama_wire.conversation_body(request, payload)
        if request.json_output:
            payload["format"] = "json"
        return f"{self._base_url}/api/chat", payload

    def _parse_completion(
        self, body: JSONObject, model: str
    ) -> tuple[str, str | None, Usage | None, str]:
        message = body.get("message")
        if not isinstance(message, dict) or body.get("done") is False:
            raise self._malformed("answer has no complete message")
        content = message.get("content")
        if content is not None and not isinstance(content, str):
            raise self._malformed("answer content is not text")
        used_model = body.get("model")
        return (
            content or "",
            used_model if isinstance(used_model, str) else None,
            usage_from(body.get("prompt_eval_count"), body.get("eval_count")),
            str(body.get("done_reason") or "stop"),
        )

    def _status_error(
        self,
        status: int,
        headers: Mapping[str, str],
        raw: bytes,
    ) -> ProviderError:
        if status == 500 and _NO_VISION_MESSAGE in raw:
            return BadRequestError(
                "the model cannot take images", provider=self._name, status=status
            )
        return super()._status_error(status, headers, raw)

    def _parse_tool_calls(self, body: JSONObject) -> tuple[ToolCall, ...]:
        return ollama_wire.tool_calls(body.get("message"))

    def _stream_request(self, request: AIRequest, model: str) -> tuple[str, JSONObject]:
        url, payload = self._completion_request(request, model, request.images)
        payload["stream"] = True
        return url, payload

    def _stream_headers(self) -> dict[str, str]:
        return {**self._headers, "Accept": "application/x-ndjson"}

    async def _stream_items(
        self, content: aiohttp.StreamReader
    ) -> AsyncIterator[tuple[str | None, Any]]:
        async for record in ndjson_records(content):
            yield None, record

    def _stream_decoder(self) -> ollama_wire.RecordDecoder:
        return ollama_wire.RecordDecoder()

    def _stream_feed(
        self, decoder: ollama_wire.RecordDecoder, name: str | None, data: Any
    ) -> list[ProviderDelta]:
        return decoder.feed(data)

    def _stream_failure(
        self, decoder: ollama_wire.RecordDecoder
    ) -> ProviderError | None:
        if decoder.error is not None:
            return ProviderServerError(
                "the stream reported an error", provider=self._name
            )
        return None

    def _models_url(self) -> str:
        return f"{self._base_url}/api/tags"

    def _parse_models(self, body: JSONObject) -> tuple[str, ...]:
        models = body.get("models")
        if not isinstance(models, list):
            raise self._malformed("tag list has no models")
        return tuple(
            str(item.get("name") or item.get("model"))
            for item in models
            if isinstance(item, dict) and (item.get("name") or item.get("model"))
        )

    def _model_capabilities(self, model: str) -> ModelCapabilities:
        return ollama_capabilities(model)

    def _model_quote(self, model: str, day: date) -> PriceQuote:
        return ollama_quote(model, day)
