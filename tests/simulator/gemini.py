"""Gemini API wire protocol: models/{model}:generateContent and the model list below /gemini.

Auth follows the real API, which differs from the others: a missing key is 403
PERMISSION_DENIED and an invalid key is 400 INVALID_ARGUMENT with ErrorInfo reason
API_KEY_INVALID (not 401). Field names are accepted in lowerCamelCase and snake_case, as
protobuf JSON parsing does.
"""

from __future__ import annotations

import json
import math
import re
import time
from typing import Any

from aiohttp import web

from . import stream_billing, tools
from .common import (
    ImageInfo,
    InvalidImageError,
    ProviderProtocol,
    Route,
    SimCall,
    chars_to_tokens,
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

API_VERSIONS = frozenset({"v1", "v1beta"})
# model id -> (display name, input limit, output limit, thinks by default)
MODELS: dict[str, tuple[str, int, int, bool]] = {
    "gemini-3.8-flash": ("Gemini 3.8 Flash", 1048576, 65536, True),
    "gemini-3.5-flash": ("Gemini 3.5 Flash", 1048576, 65536, True),
    "gemini-3.1-pro-preview": ("Gemini 3.1 Pro Preview", 1048576, 65536, True),
    "gemini-3.1-flash-lite": ("Gemini 3.1 Flash-Lite", 1048576, 65536, False),
    "gemini-2.5-flash": ("Gemini 2.5 Flash", 1048576, 65536, True),
    "gemini-2.5-pro": ("Gemini 2.5 Pro", 1048576, 65536, True),
    "gemini-2.5-flash-lite": ("Gemini 2.5 Flash-Lite", 1048576, 65536, False),
}
# Listed by GET /models but not generative (generateContent on them is 404, as for an unknown model).
EMBEDDING_MODELS: dict[str, str] = {"gemini-embedding-001": "Gemini Embedding 001"}
# Thinking models think before answering; thoughts count against maxOutputTokens.
THINKING_TOKENS = 48

_SAFETY_CATEGORIES = (
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
    "HARM_CATEGORY_HATE_SPEECH",
    "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_DANGEROUS_CONTENT",
)
_TOP_LEVEL = frozenset(
    {
        "model", "contents", "tools", "tool_config", "safety_settings", "system_instruction",
        "generation_config", "cached_content",
    }
)  # fmt: skip
_GENERATION_CONFIG = frozenset(
    {
        "stop_sequences", "response_mime_type", "response_schema", "response_json_schema",
        "_response_json_schema", "response_modalities", "candidate_count", "max_output_tokens",
        "temperature", "top_p", "top_k", "seed", "presence_penalty", "frequency_penalty",
        "response_logprobs", "logprobs", "enable_enhanced_civic_answers", "speech_config",
        "thinking_config", "image_config", "media_resolution",
    }
)  # fmt: skip
_PART = frozenset(
    {
        "text", "inline_data", "file_data", "function_call", "function_response",
        "executable_code", "code_execution_result", "thought", "thought_signature",
        "video_metadata", "part_metadata", "media_resolution",
    }
)  # fmt: skip
_CONTENT = frozenset({"role", "parts"})
_BLOB = frozenset({"mime_type", "data", "display_name"})
_IMAGE_MIME_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/webp", "image/heic", "image/heif", "image/gif"}
)
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")

_NO_KEY = (
    "Method doesn't allow unregistered callers (callers without established identity). "
    "Please use API Key or other form of API consumer identity to call this API."
)
# status -> (google.rpc status, message)
_STATUS_ERRORS: dict[int, tuple[str, str]] = {
    400: ("INVALID_ARGUMENT", "Request contains an invalid argument."),
    401: ("UNAUTHENTICATED", "Request had invalid authentication credentials."),
    403: ("PERMISSION_DENIED", "The caller does not have permission"),
    404: ("NOT_FOUND", "Requested entity was not found."),
    429: ("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
    500: ("INTERNAL", "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"),
    503: ("UNAVAILABLE", "The model is overloaded. Please try again later."),
    504: ("DEADLINE_EXCEEDED", "The request timed out. Please try again."),
}  # fmt: skip


def snake(name: str) -> str:
    """lowerCamelCase -> snake_case (snake_case passes through)."""
    return _CAMEL.sub("_", name).lower()


def error_body(
    code: int, status: str, message: str, details: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Google's error envelope (google.rpc.Status as JSON)."""
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        error["details"] = details
    return {"error": error}


def _bad_request(message: str, field: str | None = None) -> _RequestError:
    details = None
    if field is not None:
        details = [
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": field, "description": message}],
            }
        ]
    return _RequestError(400, error_body(400, "INVALID_ARGUMENT", message, details))


def format_duration(seconds: float) -> str:
    """google.protobuf.Duration JSON: "17s", or "1.500s" for fractions."""
    if seconds == int(seconds):
        return f"{int(seconds)}s"
    return f"{seconds:.3f}s"


def _thinking_tokens(model: str, thinking_config: Any) -> int:
    """Thoughts spent before the answer; a budget of 0 turns thinking off where allowed."""
    config = _fields(thinking_config) if isinstance(thinking_config, dict) else {}
    budget = config.get("thinking_budget")
    if budget == 0:
        if "-pro" in model:
            raise _bad_request(
                "Budget 0 is invalid. This model only works in thinking mode."
            )
        return 0
    if budget is not None or config.get("thinking_level") is not None:
        return THINKING_TOKENS
    return THINKING_TOKENS if MODELS[model][3] else 0


def image_tokens(info: ImageInfo) -> int:
    """258 tokens for an image up to 384x384, else 258 per 768x768 tile."""
    if info.width <= 384 and info.height <= 384:
        return 258
    return 258 * math.ceil(info.width / 768) * math.ceil(info.height / 768)


class _RequestError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def _fields(obj: dict[str, Any]) -> dict[str, Any]:
    return {snake(key): value for key, value in obj.items()}


def _check_fields(
    obj: dict[str, Any], allowed: frozenset[str], where: str | None
) -> None:
    for key in obj:
        if snake(key) not in allowed:
            at = f" at '{where}'" if where else ""
            raise _bad_request(
                f'Invalid JSON payload received. Unknown name "{key}"{at}: Cannot find field.',
                where or "",
            )


class GeminiProtocol(ProviderProtocol):
    """The Gemini Developer API (generativelanguage.googleapis.com), v1 and v1beta."""

    name = "gemini"
    prefix = "/gemini"

    def routes(self) -> list[Route]:
        """generateContent (and countTokens), the model list and one model."""
        return [
            Route("POST", "/{version}/models/{target}", self.model_action, "generate"),
            Route("GET", "/{version}/models", self.list_models, "models"),
            Route("GET", "/{version}/models/{model}", self.get_model, "models"),
        ]

    def error_response(self, status: int, body: Any = None) -> web.Response:
        """Google's error envelope for a status."""
        if body is not None:
            return custom_body_response(status, body)
        rpc_status, message = _STATUS_ERRORS.get(status, ("UNKNOWN", f"Error {status}"))
        return json_response(error_body(status, rpc_status, message), status=status)

    def rate_limit_response(self, retry_after: float) -> web.Response:
        """429 RESOURCE_EXHAUSTED whose RetryInfo carries the delay (no Retry-After header)."""
        delay = format_duration(max(retry_after, 0.0))
        details: list[dict[str, Any]] = [
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [
                    {
                        "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                        "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                        "quotaDimensions": {
                            "location": "global",
                            "model": "gemini-2.5-flash",
                        },
                        "quotaValue": "10",
                    }
                ],
            },
            {
                "@type": "type.googleapis.com/google.rpc.Help",
                "links": [
                    {
                        "description": "Learn more about Gemini API quotas",
                        "url": "https://ai.google.dev/gemini-api/docs/rate-limits",
                    }
                ],
            },
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay},
        ]
        message = (
            "You exceeded your current quota, please check your plan and billing details. For "
            "more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits. "
            f"Please retry in {max(retry_after, 0.0):.6f}s."
        )
        return json_response(
            error_body(429, "RESOURCE_EXHAUSTED", message, details), status=429
        )

    def _check(self, call: SimCall) -> web.Response | None:
        """Unknown API versions are 404; then the key (header or ?key=)."""
        version = call.request.match_info["version"]
        if version not in API_VERSIONS:
            return json_response(
                error_body(
                    404, "NOT_FOUND", f"Requested entity was not found. ({version})"
                ),
                status=404,
            )
        key = call.headers.get("x-goog-api-key") or call.request.query.get("key")
        if not key:
            return json_response(
                error_body(403, "PERMISSION_DENIED", _NO_KEY), status=403
            )
        if key.startswith("bad"):
            details: list[dict[str, Any]] = [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                    "metadata": {"service": "generativelanguage.googleapis.com"},
                },
                {
                    "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
                    "locale": "en-US",
                    "message": "API key not valid. Please pass a valid API key.",
                },
            ]
            body = error_body(
                400,
                "INVALID_ARGUMENT",
                "API key not valid. Please pass a valid API key.",
                details,
            )
            return json_response(body, status=400)
        return None

    @staticmethod
    def _model_resource(model_id: str) -> dict[str, Any]:
        display_name, input_limit, output_limit, thinking = MODELS[model_id]
        return {
            "name": f"models/{model_id}",
            "version": "001",
            "displayName": display_name,
            "description": f"Simulated {display_name}",
            "inputTokenLimit": input_limit,
            "outputTokenLimit": output_limit,
            "supportedGenerationMethods": [
                "generateContent",
                "countTokens",
                "createCachedContent",
                "batchGenerateContent",
            ],
            "temperature": 1,
            "topP": 0.95,
            "topK": 64,
            "maxTemperature": 2,
            "thinking": thinking,
        }

    @staticmethod
    def _embedding_resource(model_id: str) -> dict[str, Any]:
        return {
            "name": f"models/{model_id}",
            "version": "001",
            "displayName": EMBEDDING_MODELS[model_id],
            "description": "Obtain a distributed representation of a text.",
            "inputTokenLimit": 2048,
            "outputTokenLimit": 1,
            "supportedGenerationMethods": [
                "embedContent",
                "countTextTokens",
                "countTokens",
            ],
        }

    async def list_models(self, call: SimCall) -> web.StreamResponse:
        """GET /{version}/models: one page of model resources."""
        if (denied := self._check(call)) is not None:
            return denied
        models = [self._model_resource(m) for m in MODELS]
        models += [self._embedding_resource(model_id) for model_id in EMBEDDING_MODELS]
        return json_response({"models": models})

    async def get_model(self, call: SimCall) -> web.StreamResponse:
        """GET /{version}/models/{model}."""
        if (denied := self._check(call)) is not None:
            return denied
        model = call.request.match_info["model"]
        if model in EMBEDDING_MODELS:
            return json_response(self._embedding_resource(model))
        if model not in MODELS:
            return json_response(
                error_body(
                    404,
                    "NOT_FOUND",
                    f"models/{model} is not found for API version "
                    f"{call.request.match_info['version']}",
                ),
                status=404,
            )
        return json_response(self._model_resource(model))

    async def model_action(self, call: SimCall) -> web.StreamResponse:
        """POST /{version}/models/{model}:{method}: generate (plain or streamed), countTokens."""
        if (denied := self._check(call)) is not None:
            return denied
        version = call.request.match_info["version"]
        model, _, method = call.request.match_info["target"].partition(":")
        if method not in ("generateContent", "streamGenerateContent", "countTokens"):
            return json_response(
                error_body(404, "NOT_FOUND", f"Method not found: {method or '(none)'}"),
                status=404,
            )
        if model not in MODELS:
            message = (
                f"models/{model} is not found for API version {version}, or is not supported for "
                f"{method}. Call ListModels to see the list of available models and their "
                "supported methods."
            )
            return json_response(error_body(404, "NOT_FOUND", message), status=404)
        try:
            response = self._generate(call, model, count_only=method == "countTokens")
        except _RequestError as err:
            return json_response(err.body, status=err.status)
        if (
            method != "countTokens"
            and (scripted := tools.due("gemini", call.json, call.tool_calls))
            is not None
        ):
            tools.gemini_answer(response, scripted, call.rng)
        if method != "streamGenerateContent":
            return json_response(response)
        stream_billing.note(call.request, model, response.get("usageMetadata") or {})
        chunks = _stream_chunks(response)
        if call.request.query.get("alt") == "sse":
            return await send_sse(call.request, [(None, chunk) for chunk in chunks])
        # Without alt=sse the API streams one JSON array of the same chunks.
        return json_response(chunks)

    def _generate(
        self, call: SimCall, model: str, *, count_only: bool
    ) -> dict[str, Any]:
        if call.json_invalid or not isinstance(call.json, dict):
            raise _bad_request(
                "Invalid JSON payload received. Unexpected token.",
                "" if call.json_invalid else None,
            )
        body = call.json
        _check_fields(body, _TOP_LEVEL, None)
        fields = _fields(body)
        contents = fields.get("contents")
        if not contents:
            raise _bad_request(
                "* GenerateContentRequest.contents: contents is not specified\n"
            )
        config = fields.get("generation_config") or {}
        if not isinstance(config, dict):
            raise _bad_request(
                "Invalid JSON payload received. Expected an object for 'generation_config'."
            )
        _check_fields(config, _GENERATION_CONFIG, "generation_config")
        config = _fields(config)
        temperature = config.get("temperature")
        if temperature is not None and (
            isinstance(temperature, bool)
            or not isinstance(temperature, int | float)
            or not 0 <= temperature <= 2
        ):
            raise _bad_request(
                "* GenerateContentRequest.generation_config.temperature: temperature must be in "
                "the range [0.0, 2.0]\n"
            )
        max_output = config.get("max_output_tokens")
        if max_output is not None and (
            isinstance(max_output, bool)
            or not isinstance(max_output, int)
            or max_output < 1
        ):
            raise _bad_request(
                "* GenerateContentRequest.generation_config.max_output_tokens: max_output_tokens "
                "must be positive.\n"
            )

        text_chars = 0
        text_token_count = 0
        image_token_count = 0
        images = 0
        system = fields.get("system_instruction")
        if system is not None:
            chars, _, _ = self._read_content(
                system, "system_instruction", allow_images=False
            )
            text_chars += chars
            text_token_count += chars_to_tokens(chars)
        if not isinstance(contents, list):
            raise _bad_request(
                "Invalid JSON payload received. Expected a list for 'contents'."
            )
        for index, content in enumerate(contents):
            chars, count, image_tokens_here = self._read_content(
                content, f"contents[{index}]", allow_images=True
            )
            text_chars += chars
            text_token_count += chars_to_tokens(chars)
            images += count
            image_token_count += image_tokens_here
        prompt_tokens = text_token_count + image_token_count
        if count_only:
            return {"totalTokens": prompt_tokens}

        thinking = _thinking_tokens(model, config.get("thinking_config"))
        text = call.reply_text or default_reply(
            "gemini", model, text_chars, images, body=body
        )
        budget = None if max_output is None else max(max_output - thinking, 0)
        if max_output is not None:
            thinking = min(thinking, max_output)
        text, cut = truncate_to_tokens(text, budget)
        candidate: dict[str, Any] = {
            "content": {"parts": [{"text": text}], "role": "model"}
            if text
            else {"role": "model"},
            "finishReason": "MAX_TOKENS" if cut else "STOP",
            "index": 0,
        }
        response: dict[str, Any] = {"candidates": [candidate]}
        output_tokens = text_tokens(text)
        if call.content_filter is not None:
            ratings = [
                {
                    "category": category,
                    "probability": "HIGH"
                    if category.endswith("DANGEROUS_CONTENT")
                    else "NEGLIGIBLE",
                    **(
                        {"blocked": True}
                        if category.endswith("DANGEROUS_CONTENT")
                        else {}
                    ),
                }
                for category in _SAFETY_CATEGORIES
            ]
            output_tokens = 0
            if call.content_filter.variant == "prompt":
                response = {
                    "promptFeedback": {
                        "blockReason": "SAFETY",
                        "safetyRatings": ratings,
                    }
                }
                thinking = 0
            else:
                # A blocked candidate carries no content at all.
                del candidate["content"]
                candidate["finishReason"] = "SAFETY"
                candidate["safetyRatings"] = ratings
        usage: dict[str, Any] = {
            "promptTokenCount": prompt_tokens,
            "totalTokenCount": prompt_tokens + output_tokens + thinking,
            "promptTokensDetails": [
                {"modality": "TEXT", "tokenCount": text_token_count}
            ],
        }
        if output_tokens:
            usage["candidatesTokenCount"] = output_tokens
        if image_token_count:
            usage["promptTokensDetails"].append(
                {"modality": "IMAGE", "tokenCount": image_token_count}
            )
        if thinking:
            usage["thoughtsTokenCount"] = thinking
        response["usageMetadata"] = usage
        response["modelVersion"] = model
        response["responseId"] = random_token(call.rng, 22)
        response["createTime"] = time.strftime(
            "%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime()
        )
        return response

    @staticmethod
    def _read_content(
        content: Any, where: str, *, allow_images: bool
    ) -> tuple[int, int, int]:
        """Validate one Content; return (text chars, images, image tokens)."""
        if not isinstance(content, dict):
            raise _bad_request(
                f"Invalid JSON payload received. Expected an object for '{where}'."
            )
        _check_fields(content, _CONTENT, where)
        fields = _fields(content)
        role = fields.get("role")
        if role not in (None, "", "user", "model"):
            raise _bad_request("Please use a valid role: user, model.")
        parts = fields.get("parts")
        if not isinstance(parts, list) or not parts:
            raise _bad_request(
                f"* GenerateContentRequest.{where}.parts: contents.parts must not be empty.\n"
            )
        chars = images = image_token_count = 0
        for index, part in enumerate(parts):
            part_where = f"{where}.parts[{index}]"
            if not isinstance(part, dict):
                raise _bad_request(
                    f"Invalid JSON payload received. Expected an object for '{part_where}'."
                )
            _check_fields(part, _PART, part_where)
            part_fields = _fields(part)
            if isinstance(part_fields.get("text"), str):
                chars += len(part_fields["text"])
            elif isinstance(part_fields.get("function_call"), dict) and role == "model":
                chars += len(json.dumps(part_fields["function_call"]))
            elif isinstance(part_fields.get("function_response"), dict) and role in (
                None,
                "",
                "user",
            ):
                chars += len(json.dumps(part_fields["function_response"]))
            elif isinstance(part_fields.get("inline_data"), dict) and allow_images:
                image_token_count += _inline_image_tokens(
                    part_fields["inline_data"], part_where
                )
                images += 1
            else:
                raise _bad_request(
                    f"* GenerateContentRequest.{part_where}.data: required oneof field 'data' must "
                    "have one initialized field\n"
                )
        return chars, images, image_token_count


def _stream_chunks(response: dict[str, Any]) -> list[dict[str, Any]]:
    """The same answer cut into streamed chunks; the last carries finishReason and usage."""
    candidates = response.get("candidates")
    if not candidates:
        return [response]
    candidate = candidates[0]
    parts = candidate.get("content", {}).get("parts") or []
    if any("functionCall" in part for part in parts):
        # A function call comes whole, in one chunk with the finish reason and usage.
        return [response]
    text = parts[0].get("text", "") if parts else ""
    pieces = split_text(text) or [""]
    tail = {key: response[key] for key in ("modelVersion", "responseId", "createTime")}
    prompt_usage = {
        key: value
        for key, value in response["usageMetadata"].items()
        if key.startswith("prompt")
    }
    chunks: list[dict[str, Any]] = []
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1
        chunk_candidate: dict[str, Any] = {"index": 0}
        chunk_candidate["content"] = (
            {"parts": [{"text": piece}], "role": "model"}
            if piece
            else {"role": "model"}
        )
        if last:
            for key in ("finishReason", "safetyRatings"):
                if key in candidate:
                    chunk_candidate[key] = candidate[key]
        usage = response["usageMetadata"] if last else prompt_usage
        chunks.append({"candidates": [chunk_candidate], "usageMetadata": usage, **tail})
    return chunks


def _inline_image_tokens(blob: dict[str, Any], where: str) -> int:
    _check_fields(blob, _BLOB, f"{where}.inline_data")
    fields = _fields(blob)
    mime_type = fields.get("mime_type")
    data = fields.get("data")
    if not isinstance(data, str) or not data:
        raise _bad_request(
            f"* GenerateContentRequest.{where}.inline_data.data: required field"
        )
    if not isinstance(mime_type, str) or mime_type not in _IMAGE_MIME_TYPES:
        raise _bad_request(f"Unsupported MIME type: {mime_type}")
    # Protobuf JSON takes standard and URL-safe base64 alike.
    standard = data.replace("-", "+").replace("_", "/")
    try:
        info = inspect_image(standard)
    except InvalidImageError as err:
        if err.reason == "base64":
            field = f"{where}.inline_data.data"
            raise _bad_request(
                f"Invalid value at '{field}' (TYPE_BYTES), Base64 decoding failed for \"{data[:40]}\"",
                field,
            ) from err
        raise _bad_request(
            "Unable to process input image. Please retry or report in "
            "https://developers.generativeai.google/guide/troubleshooting"
        ) from err
    return image_tokens(info)
