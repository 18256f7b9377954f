"""Anthropic Messages wire protocol: POST /v1/messages and GET /v1/models below /anthropic."""

from __future__ import annotations

import json
import math
from typing import Any

from aiohttp import web

from . import stream_billing, tools
from .common import (
    ImageInfo,
    InvalidImageError,
    ProviderProtocol,
    Route,
    SimCall,
    custom_body_response,
    default_reply,
    inspect_image,
    json_response,
    random_token,
    send_sse,
    split_text,
    text_tokens,
    truncate_to_tokens,
)

# Alias -> the id the API reports back in `model` (models since 4.6 have no dated id).
MODELS: dict[str, str] = {
    "claude-opus-5-5": "claude-opus-5-5",
    "claude-sonnet-5-5": "claude-sonnet-5-5",
    "claude-haiku-5-5": "claude-haiku-5-5",
    "claude-opus-4-7": "claude-opus-4-7",
    "claude-sonnet-4-6": "claude-sonnet-4-6",
    "claude-opus-4-5": "claude-opus-4-5-20251101",
    "claude-sonnet-4-5": "claude-sonnet-4-5-20250929",
    "claude-haiku-4-5": "claude-haiku-4-5-20251001",
}
_MODEL_INFO: dict[str, tuple[str, str, str]] = {
    # id -> (display name, created_at, line)
    "claude-opus-5-5": ("Claude Opus 5.5", "2026-09-15T00:00:00Z", "opus"),
    "claude-sonnet-5-5": ("Claude Sonnet 5.5", "2026-09-15T00:00:00Z", "sonnet"),
    "claude-haiku-5-5": ("Claude Haiku 5.5", "2026-09-15T00:00:00Z", "haiku"),
    "claude-opus-4-7": ("Claude Opus 4.7", "2026-04-16T00:00:00Z", "opus"),
    "claude-sonnet-4-6": ("Claude Sonnet 4.6", "2026-02-17T00:00:00Z", "sonnet"),
    "claude-opus-4-5-20251101": ("Claude Opus 4.5", "2025-11-24T00:00:00Z", "opus"),
    "claude-sonnet-4-5-20250929": (
        "Claude Sonnet 4.5",
        "2025-09-29T00:00:00Z",
        "sonnet",
    ),
    "claude-haiku-4-5-20251001": ("Claude Haiku 4.5", "2025-10-15T00:00:00Z", "haiku"),
}
# Deprecated ids -> (deprecated_at, retires_at), as the SDK's deprecation table has them.
_DEPRECATED: dict[str, tuple[str, str]] = {
    "claude-opus-4-5-20251101": ("2026-07-22T00:00:00Z", "2027-01-22T00:00:00Z"),
    "claude-sonnet-4-5-20250929": ("2026-05-30T00:00:00Z", "2026-11-30T00:00:00Z"),
}
# Versions the API accepts in the anthropic-version header; the current SDK sends the last.
LEGACY_API_VERSION = "2023-06-01"
CURRENT_API_VERSION = "2026-10-21"
API_VERSIONS = frozenset({"2023-01-01", LEGACY_API_VERSION, CURRENT_API_VERSION})
# 2026-10-21 removed the sampling parameters: any value, even the default, is a 400.
SAMPLING_PARAMS = ("temperature", "top_p", "top_k")
# Generation-5 models think by default (adaptive); thinking counts against max_tokens.
THINKING_TOKENS = 48
_KNOWN_PARAMS = frozenset(
    {
        "model", "messages", "max_tokens", "system", "stop_sequences", "stream", "metadata",
        "tools", "tool_choice", "thinking", "service_tier", "container", "context_management",
        "mcp_servers", "output_config", "inference_geo", "cache_control", "speed",
        "diagnostics", "user_profile_id", "workspace_id",
    }
)  # fmt: skip
_MEDIA_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
_RATE_LIMIT_MESSAGE = (
    "This request would exceed the rate limit for your organization (org-simulator) of 50 "
    "requests per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits. "
    "You can see the response headers for current usage. Please reduce the prompt length or the "
    "maximum tokens requested, or try again later. You may also contact sales at "
    "https://www.anthropic.com/contact-sales to discuss your options for a rate limit increase."
)
# status -> (error type, message)
_STATUS_ERRORS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    402: ("billing_error", "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits."),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "Not found"),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", _RATE_LIMIT_MESSAGE),
    500: ("api_error", "Internal server error"),
    504: ("timeout_error", "Request timed out"),
    529: ("overloaded_error", "Overloaded"),
}  # fmt: skip


class _RequestError(Exception):
    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message


def _invalid(message: str) -> _RequestError:
    return _RequestError(400, "invalid_request_error", message)


def max_output_tokens(model_id: str) -> int:
    """Opus models since 4.6 write up to 128k tokens; the others 64k."""
    return 128_000 if "opus" in model_id and model_id >= "claude-opus-4-6" else 64_000


def context_window_tokens(model_id: str) -> int:
    """1M for Sonnet 4.6, Opus 4.6 and later; 200k before."""
    newer = model_id.startswith(
        ("claude-sonnet-4-6", "claude-opus-4-7")
    ) or is_generation_5(model_id)
    return 1_000_000 if newer else 200_000


def is_generation_5(model: str) -> bool:
    """claude-{opus,sonnet,haiku,...}-5 and later."""
    parts = model.split("-")
    return len(parts) >= 3 and parts[2].isdigit() and int(parts[2]) >= 5


def _check_sampling(body: dict[str, Any], model: str) -> None:
    """anthropic-version 2023-06-01 still takes sampling parameters, within limits."""
    given = [name for name in SAMPLING_PARAMS if body.get(name) is not None]
    if not given:
        return
    if is_generation_5(model):
        raise _invalid(f"{given[0]} is deprecated for this model.")
    if "temperature" in given and "top_p" in given:
        raise _invalid(
            "`temperature` and `top_p` cannot both be specified for this model. Please use only one."
        )
    temperature = body.get("temperature")
    if temperature is None:
        return
    if isinstance(temperature, bool) or not isinstance(temperature, int | float):
        raise _invalid("temperature: Input should be a valid number")
    if temperature > 1:
        raise _invalid("temperature: Input should be less than or equal to 1")
    if temperature < 0:
        raise _invalid("temperature: Input should be greater than or equal to 0")


def _thinking_tokens(thinking: Any, model: str, max_tokens: int) -> int:
    """Tokens spent thinking; generation-5 models think unless told not to."""
    if thinking is None:
        return THINKING_TOKENS if is_generation_5(model) else 0
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    if kind == "disabled":
        return 0
    if kind in ("adaptive", "between_tools"):
        return THINKING_TOKENS
    if kind == "enabled":
        budget = thinking.get("budget_tokens")
        if not isinstance(budget, int) or budget < 1024:
            raise _invalid(
                "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
            )
        if budget >= max_tokens:
            raise _invalid(
                "`max_tokens` must be greater than `thinking.budget_tokens`."
            )
        return THINKING_TOKENS
    raise _invalid(
        f"thinking: Input tag '{kind}' found using 'type' does not match any of the expected "
        "tags: 'enabled', 'disabled', 'between_tools', 'adaptive'"
    )


def image_tokens(info: ImageInfo) -> int:
    """Anthropic's estimate: width * height / 750 after fitting the long edge in 1568 px."""
    width, height = float(info.width), float(info.height)
    if max(width, height) > 1568:
        scale = 1568 / max(width, height)
        width, height = width * scale, height * scale
    return math.ceil(width * height / 750)


class AnthropicProtocol(ProviderProtocol):
    """The Messages API as api.anthropic.com serves it."""

    name = "anthropic"
    prefix = "/anthropic"

    def routes(self) -> list[Route]:
        """Messages, the model list and one model."""
        return [
            Route("POST", "/v1/messages", self.messages, "generate"),
            Route("GET", "/v1/models", self.list_models, "models"),
            Route("GET", "/v1/models/{model}", self.get_model, "models"),
        ]

    @staticmethod
    def _request_id(call: SimCall) -> str:
        return f"req_011C{random_token(call.rng, 20)}"

    def _error(
        self, status: int, error_type: str, message: str, request_id: str
    ) -> web.Response:
        body = {
            "type": "error",
            "error": {"type": error_type, "message": message},
            "request_id": request_id,
        }
        return json_response(body, status=status, headers={"request-id": request_id})

    def error_response(self, status: int, body: Any = None) -> web.Response:
        """The API's error envelope for a status (529 is `overloaded_error`)."""
        if body is not None:
            return custom_body_response(status, body)
        error_type, message = _STATUS_ERRORS.get(
            status, ("api_error", "Internal server error")
        )
        request_id = "req_011CSimulatedError000000"
        return self._error(status, error_type, message, request_id)

    def rate_limit_response(self, retry_after: float) -> web.Response:
        """429 rate_limit_error with retry-after in whole seconds and the ratelimit headers."""
        response = self.error_response(429)
        response.headers.update(
            {
                "retry-after": str(max(math.ceil(retry_after), 0)),
                "anthropic-ratelimit-requests-limit": "50",
                "anthropic-ratelimit-requests-remaining": "0",
                "anthropic-ratelimit-requests-reset": "2026-01-01T00:00:00Z",
            }
        )
        return response

    def _check_headers(self, call: SimCall, request_id: str) -> web.Response | None:
        """Auth first (x-api-key wins over Bearer when both come), then anthropic-version."""
        headers = call.headers
        key = headers.get("x-api-key")
        scheme = "x-api-key"
        if not key:
            auth_scheme, _, token = headers.get("Authorization", "").partition(" ")
            if auth_scheme.lower() == "bearer" and token.strip():
                key, scheme = token.strip(), "bearer"
        if not key:
            return self._error(
                401, "authentication_error", "x-api-key header is required", request_id
            )
        if key.startswith("bad"):
            message = (
                "invalid x-api-key" if scheme == "x-api-key" else "Invalid bearer token"
            )
            return self._error(401, "authentication_error", message, request_id)
        version = headers.get("anthropic-version")
        if version is None:
            return self._error(
                400,
                "invalid_request_error",
                "anthropic-version: header is required",
                request_id,
            )
        if version not in API_VERSIONS:
            return self._error(
                400,
                "invalid_request_error",
                f"anthropic-version: invalid version '{version}'. Valid versions are: "
                + ", ".join(sorted(API_VERSIONS)),
                request_id,
            )
        return None

    def _headers(self, request_id: str) -> dict[str, str]:
        return {
            "request-id": request_id,
            "anthropic-organization-id": "00000000-0000-4000-8000-000000000000",
            "anthropic-ratelimit-requests-limit": "50",
            "anthropic-ratelimit-requests-remaining": "49",
        }

    @staticmethod
    def _model_info(model_id: str) -> dict[str, Any]:
        display_name, created_at, line = _MODEL_INFO[model_id]
        deprecated_at, retires_at = _DEPRECATED.get(model_id, (None, None))
        return {
            "type": "model",
            "id": model_id,
            "display_name": display_name,
            "created_at": created_at,
            "lifecycle": "active" if deprecated_at is None else "deprecated",
            "deprecated_at": deprecated_at,
            "retires_at": retires_at,
            "line": line,
            "max_input_tokens": context_window_tokens(model_id),
            "max_tokens": max_output_tokens(model_id),
        }

    async def list_models(self, call: SimCall) -> web.StreamResponse:
        """GET /v1/models: the dated ids, newest first, one page."""
        request_id = self._request_id(call)
        if (denied := self._check_headers(call, request_id)) is not None:
            return denied
        data = [self._model_info(model_id) for model_id in _MODEL_INFO]
        body = {
            "data": data,
            "has_more": False,
            "first_id": data[0]["id"],
            "last_id": data[-1]["id"],
        }
        return json_response(body, headers=self._headers(request_id))

    async def get_model(self, call: SimCall) -> web.StreamResponse:
        """GET /v1/models/{model}: an alias resolves to its dated id."""
        request_id = self._request_id(call)
        if (denied := self._check_headers(call, request_id)) is not None:
            return denied
        model = call.request.match_info["model"]
        model_id = MODELS.get(model, model)
        if model_id not in _MODEL_INFO:
            return self._error(404, "not_found_error", f"model: {model}", request_id)
        return json_response(
            self._model_info(model_id), headers=self._headers(request_id)
        )

    async def messages(self, call: SimCall) -> web.StreamResponse:
        """POST /v1/messages, validated the way the API validates it."""
        request_id = self._request_id(call)
        if (denied := self._check_headers(call, request_id)) is not None:
            return denied
        try:
            message = self._build(call)
        except _RequestError as err:
            return self._error(err.status, err.error_type, err.message, request_id)
        if (scripted := tools.due("anthropic", call.json, call.tool_calls)) is not None:
            tools.anthropic_answer(message, scripted, call.rng)
        if call.json.get("stream"):
            stream_billing.note(call.request, call.json["model"], message["usage"])
            return await send_sse(
                call.request, _stream_events(message), headers=self._headers(request_id)
            )
        return json_response(message, headers=self._headers(request_id))

    def _build(self, call: SimCall) -> dict[str, Any]:
        body = call.json
        if call.json_invalid:
            raise _invalid("There was an issue with your request body: invalid JSON")
        if not isinstance(body, dict):
            raise _invalid("Input should be a valid dictionary")
        for required in ("model", "messages", "max_tokens"):
            if required not in body:
                raise _invalid(f"{required}: Field required")
        version = call.headers.get("anthropic-version", CURRENT_API_VERSION)
        legacy = version != CURRENT_API_VERSION
        allowed = (
            _KNOWN_PARAMS | frozenset(SAMPLING_PARAMS) if legacy else _KNOWN_PARAMS
        )
        unknown = sorted(set(body) - allowed, key=list(body).index)
        if unknown:
            raise _invalid(f"{unknown[0]}: Extra inputs are not permitted")
        model = body["model"]
        if not isinstance(model, str) or not model:
            raise _invalid("model: Input should be a valid string")
        max_tokens = body["max_tokens"]
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
            raise _invalid("max_tokens: Input should be a valid integer")
        if max_tokens < 1:
            raise _invalid("max_tokens: Input should be greater than or equal to 1")
        if legacy:
            _check_sampling(body, model)
        thinking = _thinking_tokens(body.get("thinking"), model, max_tokens)
        model_id = MODELS.get(model, model)
        if model_id not in _MODEL_INFO:
            raise _RequestError(404, "not_found_error", f"model: {model}")
        max_output = max_output_tokens(model_id)
        if max_tokens > max_output:
            raise _invalid(
                f"max_tokens: {max_tokens} > {max_output}, which is the maximum allowed number of "
                f"output tokens for {model_id}"
            )
        chars, input_tokens, images = self._read_system(body.get("system"))
        more_chars, more_tokens, more_images = self._read_messages(body["messages"])
        chars += more_chars
        input_tokens += more_tokens
        images += more_images
        context_window = context_window_tokens(model_id)
        if input_tokens > context_window:
            raise _invalid(
                f"prompt is too long: {input_tokens} tokens > {context_window} maximum"
            )

        text = call.reply_text or default_reply(
            "anthropic", model, chars, images, body=body
        )
        thinking = min(thinking, max_tokens)
        text, cut = truncate_to_tokens(text, max_tokens - thinking)
        stop_reason = "max_tokens" if cut else "end_turn"
        content: list[dict[str, Any]] = []
        if thinking:
            # Display "omitted" (the default here): no thinking text, only the signature.
            signature = random_token(call.rng, 64)
            content.append({"type": "thinking", "thinking": "", "signature": signature})
        if text:
            content.append({"type": "text", "text": text})
        stop_details: dict[str, Any] | None = None
        if call.content_filter is not None:
            content = []
            stop_reason = "refusal"
            stop_details = {"type": "refusal", "category": None, "explanation": None}
            text = ""
        response: dict[str, Any] = {
            "id": f"msg_01{random_token(call.rng, 22)}",
            "type": "message",
            "role": "assistant",
            "model": model_id,
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "stop_details": stop_details,
            "usage": {
                "input_tokens": input_tokens,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "cache_creation": {
                    "ephemeral_5m_input_tokens": 0,
                    "ephemeral_1h_input_tokens": 0,
                },
                "output_tokens": max(text_tokens(text) + thinking, 1),
                "service_tier": "standard",
            },
        }
        return response

    @staticmethod
    def _read_system(system: Any) -> tuple[int, int, int]:
        if system is None:
            return 0, 0, 0
        if isinstance(system, str):
            return len(system), text_tokens(system), 0
        if isinstance(system, list):
            chars = 0
            for index, block in enumerate(system):
                if not isinstance(block, dict) or block.get("type") != "text":
                    raise _invalid(f"system.{index}.type: Input should be 'text'")
                text = block.get("text")
                if not isinstance(text, str):
                    raise _invalid(f"system.{index}.text: Field required")
                chars += len(text)
            return chars, math.ceil(chars / 4), 0
        raise _invalid("system: Input should be a valid string")

    @staticmethod
    def _read_messages(messages: Any) -> tuple[int, int, int]:
        """Validate the messages; return (chars, input tokens, images)."""
        if not isinstance(messages, list):
            raise _invalid("messages: Input should be a valid list")
        if not messages:
            raise _invalid("messages: at least one message is required")
        chars = 0
        tokens = 0
        images = 0
        for index, message in enumerate(messages):
            if not isinstance(message, dict):
                raise _invalid(f"messages.{index}: Input should be a valid dictionary")
            role = message.get("role")
            if role not in ("user", "assistant"):
                raise _invalid(
                    f"messages.{index}.role: Input should be 'user' or 'assistant'"
                )
            if index == 0 and role != "user":
                raise _invalid('messages: first message must use the "user" role')
            content = message.get("content")
            if content is None:
                raise _invalid(f"messages.{index}.content: Field required")
            if isinstance(content, str):
                chars += len(content)
                tokens += text_tokens(content)
                continue
            if not isinstance(content, list):
                raise _invalid(
                    f"messages.{index}.content: Input should be a valid list"
                )
            for block_index, block in enumerate(content):
                where = f"messages.{index}.content.{block_index}"
                block_type = block.get("type") if isinstance(block, dict) else None
                if block_type == "text":
                    text = block.get("text")
                    if not isinstance(text, str):
                        raise _invalid(f"{where}.text.text: Field required")
                    chars += len(text)
                    tokens += text_tokens(text)
                elif block_type == "image":
                    tokens += _image_block_tokens(block, where)
                    images += 1
                elif block_type == "tool_use" and role == "assistant":
                    tokens += text_tokens(json.dumps(block.get("input"))) + 8
                elif block_type == "tool_result" and role == "user":
                    result = block.get("content")
                    tokens += text_tokens(json.dumps(result)) + 8
                else:
                    raise _invalid(
                        f"{where}: Input tag '{block_type}' found using 'type' does not match any "
                        "of the expected tags: 'text', 'image', 'document', 'search_result', "
                        "'tool_use', 'tool_result', 'thinking', 'redacted_thinking'"
                    )
        if (unpaired := tools.check_anthropic_pairs(messages)) is not None:
            raise _invalid(unpaired)
        return chars, tokens + 8, images


def _stream_events(message: dict[str, Any]) -> list[tuple[str | None, Any]]:
    """The same message as the Messages streaming events."""
    usage = message["usage"]
    start = {
        **message,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "stop_details": None,
        "usage": {**usage, "output_tokens": 1},
    }
    events: list[tuple[str | None, Any]] = [
        ("message_start", {"type": "message_start", "message": start}),
        ("ping", {"type": "ping"}),
    ]
    for index, block in enumerate(message["content"]):
        if block["type"] == "thinking":
            empty = {"type": "thinking", "thinking": "", "signature": ""}
            deltas = [{"type": "signature_delta", "signature": block["signature"]}]
        elif block["type"] == "tool_use":
            empty, deltas = tools.anthropic_block_events(block)
        else:
            empty = {"type": "text", "text": ""}
            deltas = [
                {"type": "text_delta", "text": piece}
                for piece in split_text(block["text"])
            ]
        events.append(
            (
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": empty},
            )
        )
        events += [
            (
                "content_block_delta",
                {"type": "content_block_delta", "index": index, "delta": delta},
            )
            for delta in deltas
        ]
        events.append(
            ("content_block_stop", {"type": "content_block_stop", "index": index})
        )
    delta = {
        "stop_reason": message["stop_reason"],
        "stop_sequence": None,
        "stop_details": message["stop_details"],
    }
    events.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": delta,
                "usage": {"output_tokens": usage["output_tokens"]},
            },
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def _image_block_tokens(block: dict[str, Any], where: str) -> int:
    source = block.get("source")
    if not isinstance(source, dict):
        raise _invalid(f"{where}.image.source: Field required")
    if source.get("type") == "url" and isinstance(source.get("url"), str):
        return image_tokens(ImageInfo(1024, 768, "image/jpeg"))
    if source.get("type") != "base64":
        raise _invalid(
            f"{where}.image.source: Input tag '{source.get('type')}' found using 'type' does not "
            "match any of the expected tags: 'base64', 'url', 'file'"
        )
    media_type = source.get("media_type")
    if not isinstance(media_type, str) or media_type not in _MEDIA_TYPES:
        raise _invalid(
            f"{where}.image.source.base64.media_type: Input should be 'image/jpeg', 'image/png', "
            "'image/gif' or 'image/webp'"
        )
    data = source.get("data")
    if not isinstance(data, str):
        raise _invalid(f"{where}.image.source.base64.data: Field required")
    if not data:
        raise _invalid(f"{where}.image.source.base64: image cannot be empty")
    try:
        info = inspect_image(data)
    except InvalidImageError as err:
        if err.reason == "base64":
            raise _invalid(f"{where}.image.source.base64: invalid base64 data") from err
        raise _invalid(
            f"{where}.image.source.base64.data: Image does not match the provided media type {media_type}"
        ) from err
    if info.mime_type != media_type:
        raise _invalid(
            f"{where}.image.source.base64.data: Image does not match the provided media type {media_type}"
        )
    return image_tokens(info)
