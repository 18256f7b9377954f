"""Google Gemini client: `POST {base}/v1/models/{model}:generateContent` with `x-goog-api-key`.

Wire details follow google-genai 3.6: the Developer API default is `https://generativelanguage.googleapis.com/`
with API version `v1` (`_api_client.py`, `GOOGLE_AI_API_DEFAULT_VERSION`), the key goes in
`x-goog-api-key`, and the body is the camelCase JSON that `models._GenerateContentParameters_to_mldev`
builds: `contents[].parts[]` with `text` / `inlineData {mimeType, data}`, a top-level `systemInstruction`
and `generationConfig {maxOutputTokens, temperature}`.
"""

from __future__ import annotations

import base64
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar, Final

from ..router.errors import ContentFilterError, ProviderError
from ..router.models import ModelCapabilities, Usage
from . import gemini_wire
from .base import JSONObject, enum_text
from .catalog import GEMINI_REQUEST_BYTES, gemini_capabilities
from .conversing import ConversationProvider
from .pricing import PriceQuote, gemini_quote
from .streaming import sse_events

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import aiohttp

    from ..router.conversation import ProviderDelta, ToolCall
    from ..router.models import AIRequest, ImageInput

GEMINI_API_VERSION: Final = "v1"
# Finish reasons that mean "refused on content grounds", from google-genai 3.6 `types.FinishReason`:
# every safety, blocklist, recitation and policy stop, for text and images. ESCALATION is a filtering
# rule; PUP_LIMITED_DISABLED is the account limited for policy violations, so this provider will keep
# refusing while another may answer. Any `promptFeedback.blockReason` is a block as well.
BLOCKED_FINISH_REASONS: Final = frozenset(
    {
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
        "MODEL_ARMOR",
        "ESCALATION",
        "PUP_LIMITED_DISABLED",
    }
)
_AUTH_REASONS: Final = frozenset({"API_KEY_INVALID", "API_KEY_SERVICE_BLOCKED"})


class GeminiProvider(ConversationProvider):
    """Google's Gemini Developer API."""

    kind: ClassVar[str] = "gemini"
    default_base_url: ClassVar[str | None] = "https://generativelanguage.googleapis.com"
    max_request_bytes: ClassVar[int | None] = GEMINI_REQUEST_BYTES
    accepted_image_types: ClassVar[frozenset[str]] = frozenset(
        {"image/jpeg", "image/png", "image/webp", "image/heic", "image/heif"}
    )

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        api_version: str = GEMINI_API_VERSION,
        **settings: Any,
    ) -> None:
        """Accept the common settings plus `api_version` ("v1" as the SDK sends, or "v1beta")."""
        super().__init__(session, **settings)
        self._api_root = f"{self._base_url}/{api_version}"

    def _build_headers(self, api_key: str | None) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if api_key:
            headers["x-goog-api-key"] = api_key
        return headers

    def _completion_request(
        self, request: AIRequest, model: str, images: tuple[ImageInput, ...]
    ) -> tuple[str, JSONObject]:
        parts: list[JSONObject] = [
            {
                "inlineData": {
                    "mimeType": image.mime_type,
                    "data": base64.b64encode(image.data).decode("ascii"),
                }
            }
            for image in images
        ]
        parts.append({"text": request.prompt})
        config: JSONObject = {"maxOutputTokens": request.max_tokens}
        if request.temperature is not None:
            config["temperature"] = request.temperature
        payload: JSONObject = {
            "contents": [{"role": "user", "parts": parts}],
            "generationConfig": config,
        }
        if request.json_output:
            config["responseMimeType"] = "application/json"
        if request.messages or request.tools:
            gemini_wire.conversation_body(request, payload)
        elif system := request.effective_system_prompt:
            payload["systemInstruction"] = {"parts": [{"text": system}]}
        path = model if model.startswith("models/") else f"models/{model}"
        return f"{self._api_root}/{path}:generateContent", payload

    def _parse_completion(
        self, body: JSONObject, model: str
    ) -> tuple[str, str | None, Usage | None, str]:
        feedback = body.get("promptFeedback")
        if isinstance(feedback, dict) and feedback.get("blockReason"):
            raise ContentFilterError(
                f"the prompt was blocked ({enum_text(str(feedback['blockReason']))})",
                provider=self._name,
            )
        candidates = body.get("candidates")
        if (
            not isinstance(candidates, list)
            or not candidates
            or not isinstance(candidates[0], dict)
        ):
            raise self._malformed("answer has no candidates")
        candidate: dict[str, Any] = candidates[0]
        finish_reason = str(candidate.get("finishReason") or "STOP")
        if finish_reason in BLOCKED_FINISH_REASONS:
            raise ContentFilterError(
                f"the answer was blocked ({finish_reason})", provider=self._name
            )
        content = candidate.get("content")
        parts = content.get("parts") if isinstance(content, dict) else None
        if parts is None and finish_reason == "MAX_TOKENS":
            parts = []  # thinking used the whole budget: no text, which `complete` refuses
        if not isinstance(parts, list):
            raise self._malformed("answer candidate has no content parts")
        text = "".join(
            part["text"]
            for part in parts
            if isinstance(part, dict)
            and isinstance(part.get("text"), str)
            and not part.get("thought")
        )
        # Thinking tokens are billed as output tokens; a response with no thinking has no
        # thoughtsTokenCount, and one with no text no candidatesTokenCount.
        tokens = gemini_wire.usage_of(body.get("usageMetadata"))
        used_model = body.get("modelVersion")
        return (
            text,
            used_model if isinstance(used_model, str) else None,
            tokens,
            finish_reason,
        )

    def _parse_tool_calls(self, body: JSONObject) -> tuple[ToolCall, ...]:
        candidates = body.get("candidates")
        content = candidates[0].get("content") if candidates else None
        parts = content.get("parts") if isinstance(content, dict) else None
        return gemini_wire.tool_calls(parts) if isinstance(parts, list) else ()

    def _stream_request(self, request: AIRequest, model: str) -> tuple[str, JSONObject]:
        url, payload = self._completion_request(request, model, request.images)
        url = url.removesuffix(":generateContent") + ":streamGenerateContent?alt=sse"
        return url, payload

    def _stream_items(
        self, content: aiohttp.StreamReader
    ) -> AsyncIterator[tuple[str | None, Any]]:
        return sse_events(content)

    def _stream_decoder(self) -> gemini_wire.ChunkDecoder:
        return gemini_wire.ChunkDecoder()

    def _stream_feed(
        self, decoder: gemini_wire.ChunkDecoder, name: str | None, data: Any
    ) -> list[ProviderDelta]:
        return decoder.feed(data)

    def _stream_failure(
        self, decoder: gemini_wire.ChunkDecoder
    ) -> ProviderError | None:
        if decoder.blocked is not None:
            return ContentFilterError(
                f"the prompt was blocked ({enum_text(decoder.blocked)})",
                provider=self._name,
            )
        if decoder.finish_reason in BLOCKED_FINISH_REASONS:
            return ContentFilterError(
                f"the answer was blocked ({decoder.finish_reason})",
                provider=self._name,
            )
        return None

    def _models_url(self) -> str:
        return f"{self._api_root}/models?pageSize=1000"

    def _parse_models(self, body: JSONObject) -> tuple[str, ...]:
        models = body.get("models")
        if not isinstance(models, list):
            raise self._malformed("model list has no models")
        return tuple(
            str(item["name"]).removeprefix("models/")
            for item in models
            if isinstance(item, dict) and "name" in item
        )

    def _is_auth_failure(self, status: int, body: Any) -> bool:
        # The Developer API answers 400 INVALID_ARGUMENT with ErrorInfo reason API_KEY_INVALID.
        if status != 400 or not isinstance(body, dict):
            return False
        error = body.get("error")
        details = error.get("details") if isinstance(error, dict) else None
        return isinstance(details, list) and any(
            isinstance(detail, dict) and detail.get("reason") in _AUTH_REASONS
            for detail in details
        )

    def _model_capabilities(self, model: str) -> ModelCapabilities:
        return gemini_capabilities(model)

    def _model_quote(self, model: str, day: date) -> PriceQuote:
        return gemini_quote(model, day)
