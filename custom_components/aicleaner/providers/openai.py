"""OpenAI Chat Completions client: `POST {base}/chat/completions`, Bearer auth, images as data URLs.

Wire details follow the openai SDK 3.57 (`resources/chat/completions`, `types/chat/completion_create_params`):
the base URL keeps its path prefix (`https://api.openai.com/v1` by default) and the SDK appends
`/chat/completions` and `/models`.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar, Final

from ..router.errors import (
    ContentFilterError,
    ProviderError,
    ProviderServerError,
    RateLimitError,
)
from ..router.models import ModelCapabilities, Usage
from . import openai_wire
from .base import JSONObject
from .catalog import OPENAI_REQUEST_BYTES, openai_capabilities
from .conversing import ConversationProvider
from .pricing import PriceQuote, openai_quote
from .streaming import sse_events

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping

    import aiohttp

    from ..router.conversation import ProviderDelta, ToolCall
    from ..router.models import AIRequest, ImageInput

# OpenAI answers 429 "insufficient_quota" when the account is out of credit: no retry helps for a while.
_QUOTA_EXHAUSTED: Final = b"insufficient_quota"
QUOTA_RETRY_AFTER: Final = 3600.0


@dataclass(frozen=True, slots=True)
class ParameterRules:
    """How one model family wants the common request parameters spelled."""

    # "max_completion_tokens" (reasoning families) or the older "max_tokens".
    token_limit_field: str
    # Reasoning families reject any temperature other than the default: leave it out.
    temperature: bool
    # Reasoning families take instructions as a "developer" message; "system" is the classic role.
    system_role: str


CLASSIC_RULES: Final = ParameterRules(
    "max_tokens", temperature=True, system_role="system"
)
# o-series, GPT-5 (2025-08) and every "-pro" model always reason: temperature is rejected.
REASONING_RULES: Final = ParameterRules(
    "max_completion_tokens", temperature=False, system_role="developer"
)
# GPT-5.1 and later default to reasoning effort "none", and at "none" they take a temperature. We never
# send reasoning_effort, so the temperature goes along.
NO_EFFORT_RULES: Final = ParameterRules(
    "max_completion_tokens", temperature=True, system_role="developer"
)
# The one table of model-specific parameter rules: prefixes, the first match wins, else CLASSIC_RULES.
# Sources: the SDK's docstrings ("max_tokens ... is not compatible with o-series models") and OpenAI's
# reasoning guide (GPT-5.1+: sampling parameters only at reasoning effort "none").
OPENAI_PARAMETER_RULES: Final = (
    ("o1", REASONING_RULES),
    ("o3", REASONING_RULES),
    ("o4", REASONING_RULES),
    (
        "gpt-5-",
        REASONING_RULES,
    ),  # gpt-5-mini, gpt-5-nano, gpt-5-pro, dated gpt-5 snapshots
    ("gpt-5.", NO_EFFORT_RULES),
    ("gpt-6", NO_EFFORT_RULES),
    ("gpt-5", REASONING_RULES),
)


@lru_cache(maxsize=256)
def parameter_rules(model: str) -> ParameterRules:
    """Parameter rules of an OpenAI model (a `vendor/` prefix, as gateways write it, is ignored)."""
    bare = model.rsplit("/", 1)[-1].lower()
    for prefix, rules in OPENAI_PARAMETER_RULES:
        if bare.startswith(prefix):
            # Pro models reason at a fixed high effort, whatever their generation.
            return REASONING_RULES if "-pro" in bare else rules
    return CLASSIC_RULES


def _message_text(content: Any) -> str | None:
    """Return the answer text of a message's `content`; None when it is neither text nor parts.

    OpenAI sends a string (or null with no text); Mistral and some gateways send a list of parts,
    `{"type": "text", "text": ...}`, whose texts are joined. Parts of other types (images, refusals
    in parts, thinking) carry no answer text.
    """
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(part, dict) for part in content):
        return "".join(
            part["text"]
            for part in content
            if part.get("type", "text") == "text" and isinstance(part.get("text"), str)
        )
    return None


class OpenAIProvider(ConversationProvider):
    """OpenAI's own API."""

    kind: ClassVar[str] = "openai"
    default_base_url: ClassVar[str | None] = "https://api.openai.com/v1"
    # Whether to send `response_format: json_object` for a JSON request (else: instruction only).
    native_json: ClassVar[bool] = True
    max_request_bytes: ClassVar[int | None] = OPENAI_REQUEST_BYTES
    # Sent with every image: "high" is what `catalog.openai_image_tokens` bounds; left to "auto",
    # gpt-5.4 and later may pick "original", whose 10,000-patch budget is far above that bound.
    image_detail: ClassVar[str | None] = "high"

    def _build_headers(self, api_key: str | None) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        return headers

    def _rules(self, model: str) -> ParameterRules:
        return parameter_rules(model)

    def _completion_request(
        self, request: AIRequest, model: str, images: tuple[ImageInput, ...]
    ) -> tuple[str, JSONObject]:
        rules = self._rules(model)
        if request.messages or request.tools:
            messages = openai_wire.messages_body(
                request, system_role=rules.system_role, image_detail=self.image_detail
            )
        else:
            messages = self._prompt_messages(request, rules, images)
        payload: JSONObject = {
            "model": model,
            "messages": messages,
            rules.token_limit_field: request.max_tokens,
        }
        if request.temperature is not None and rules.temperature:
            payload["temperature"] = request.temperature
        if request.json_output and self.native_json:
            payload["response_format"] = {"type": "json_object"}
        openai_wire.add_tools(payload, request)
        return f"{self._base_url}/chat/completions", payload

    def _prompt_messages(
        self, request: AIRequest, rules: ParameterRules, images: tuple[ImageInput, ...]
    ) -> list[JSONObject]:
        """Return the `messages` of a prompt-only request."""
        messages: list[JSONObject] = []
        if system := request.effective_system_prompt:
            messages.append({"role": rules.system_role, "content": system})
        if images:
            content: list[JSONObject] = [{"type": "text", "text": request.prompt}]
            content.extend(
                {
                    "type": "image_url",
                    "image_url": {
                        "url": f"data:{image.mime_type};base64,"
                        + base64.b64encode(image.data).decode("ascii"),
                        **({"detail": self.image_detail} if self.image_detail else {}),
                    },
                }
                for image in images
            )
            messages.append({"role": "user", "content": content})
        else:
            messages.append({"role": "user", "content": request.prompt})
        return messages

    def _parse_tool_calls(self, body: JSONObject) -> tuple[ToolCall, ...]:
        choices = body.get("choices")
        message = choices[0].get("message") if choices else None
        return openai_wire.tool_calls(message) if isinstance(message, dict) else ()

    def _stream_request(self, request: AIRequest, model: str) -> tuple[str, JSONObject]:
        url, payload = self._completion_request(request, model, request.images)
        openai_wire.stream_options(payload)
        return url, payload

    def _stream_items(
        self, content: aiohttp.StreamReader
    ) -> AsyncIterator[tuple[str | None, Any]]:
        return sse_events(content)

    def _stream_decoder(self) -> openai_wire.ChunkDecoder:
        return openai_wire.ChunkDecoder()

    def _stream_feed(
        self, decoder: openai_wire.ChunkDecoder, name: str | None, data: Any
    ) -> list[ProviderDelta]:
        if isinstance(data, dict) and isinstance(data.get("error"), dict):
            decoder.error = data["error"]
            return []
        return decoder.feed(data)

    def _stream_failure(
        self, decoder: openai_wire.ChunkDecoder
    ) -> ProviderError | None:
        if decoder.error is not None:
            return ProviderServerError(
                "the stream reported an error", provider=self._name
            )
        if decoder.refused:
            return ContentFilterError(
                "the model refused the request", provider=self._name
            )
        if decoder.finish_reason == "content_filter":
            return ContentFilterError(
                "the content filter stopped the answer", provider=self._name
            )
        return None

    def _parse_completion(
        self, body: JSONObject, model: str
    ) -> tuple[str, str | None, Usage | None, str]:
        choices = body.get("choices")
        if (
            not isinstance(choices, list)
            or not choices
            or not isinstance(choices[0], dict)
        ):
            raise self._malformed("answer has no choices")
        choice: dict[str, Any] = choices[0]
        message = choice.get("message")
        if not isinstance(message, dict):
            raise self._malformed("answer has no message")
        finish_reason = str(choice.get("finish_reason") or "stop")
        if message.get("refusal"):
            raise ContentFilterError(
                "the model refused the request", provider=self._name
            )
        if finish_reason == "content_filter":
            raise ContentFilterError(
                "the content filter stopped the answer", provider=self._name
            )
        text = _message_text(message.get("content"))
        if text is None:
            raise self._malformed("answer content is not text")
        tokens = openai_wire.usage_of(body.get("usage"))
        used_model = body.get("model")
        return (
            text,
            used_model if isinstance(used_model, str) else None,
            tokens,
            finish_reason,
        )

    def _status_error(
        self,
        status: int,
        headers: Mapping[str, str],
        raw: bytes,
    ) -> ProviderError:
        if status == 429 and _QUOTA_EXHAUSTED in raw:
            return RateLimitError(
                "the account's quota or credit is exhausted",
                provider=self._name,
                status=status,
                retry_after=QUOTA_RETRY_AFTER,
            )
        return super()._status_error(status, headers, raw)

    def _models_url(self) -> str:
        return f"{self._base_url}/models"

    def _model_capabilities(self, model: str) -> ModelCapabilities:
        return openai_capabilities(model)

    def _model_quote(self, model: str, day: date) -> PriceQuote:
        return openai_quote(model, day)
