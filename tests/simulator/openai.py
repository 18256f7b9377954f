"""OpenAI Chat Completions wire protocol: POST /chat/completions and GET /models below /openai/v1."""

from __future__ import annotations

import math
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

# Alias -> the dated snapshot the API reports back in `model`.
MODELS: dict[str, str] = {
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano": "gpt-4.1-nano-2025-04-14",
    "gpt-5": "gpt-5-2025-08-07",
    "gpt-5-mini": "gpt-5-mini-2025-08-07",
    "gpt-5-nano": "gpt-5-nano-2025-08-07",
    "gpt-5.1": "gpt-5.1-2025-11-13",
    "gpt-5.2": "gpt-5.2-2025-12-11",
    "gpt-5.4": "gpt-5.4-2026-03-05",
    "gpt-5.4-mini": "gpt-5.4-mini-2026-03-17",
    "gpt-5.4-nano": "gpt-5.4-nano-2026-03-17",
    "gpt-5.5": "gpt-5.5-2026-04-23",
    "o3": "o3-2025-04-16",
    "o4-mini": "o4-mini-2025-04-16",
}
_SNAPSHOTS = {snapshot: snapshot for snapshot in MODELS.values()}
# Reasoning families: no max_tokens (max_completion_tokens instead).
_REASONING_PREFIXES = ("gpt-5", "gpt-6", "o1", "o3", "o4")
# Of those, these reason by default (effort "medium") and take only temperature 1; the
# gpt-5.1+ families default to effort "none" and take a temperature only at "none".
_ALWAYS_REASONING = ("gpt-5-", "o1", "o3", "o4")
# Reasoning models spend hidden tokens before the visible answer; they count against
# max_completion_tokens, so a tight limit gives an empty answer with finish_reason "length".
REASONING_TOKENS = 64
_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")

_KNOWN_PARAMS = frozenset(
    {
        "messages", "model", "audio", "frequency_penalty", "function_call", "functions",
        "logit_bias", "logprobs", "max_completion_tokens", "max_tokens", "metadata",
        "modalities", "n", "parallel_tool_calls", "prediction", "presence_penalty",
        "prompt_cache_key", "prompt_cache_options", "prompt_cache_retention", "reasoning_effort", "response_format",
        "safety_identifier", "seed", "service_tier", "stop", "store", "stream",
        "stream_options", "temperature", "tool_choice", "tools", "top_logprobs", "top_p",
        "user", "verbosity", "web_search_options", "moderation",
    }
)  # fmt: skip
_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})

_NO_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header "
    "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank "
    "username) if you're accessing the API from your browser and are prompted for a username. "
    "You can obtain an API key from https://platform.openai.com/account/api-keys."
)
_BAD_JSON = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using "
    "your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not "
    "valid JSON. If you have trouble figuring out how to fix this, please contact us through our "
    "help center at help.openai.com.)"
)
_BAD_IMAGE_FORMAT = (
    "You uploaded an unsupported image. Please make sure your image has of one the following "
    "formats: ['png', 'jpeg', 'gif', 'webp']."
)

# status -> (message, type, code): what the API (or Cloudflare in front of it) sends.
_STATUS_ERRORS: dict[int, tuple[str, str, Any]] = {
    400: ("Invalid request.", "invalid_request_error", None),
    401: (_NO_KEY, "invalid_request_error", None),
    403: ("Country, region, or territory not supported", "request_forbidden", "unsupported_country_region_territory"),
    404: ("The model `unknown` does not exist or you do not have access to it.", "invalid_request_error", "model_not_found"),
    409: ("The request conflicted with another request.", "invalid_request_error", None),
    422: ("Unprocessable entity.", "invalid_request_error", None),
    429: (
        (
            "You exceeded your current quota, please check your plan and billing details. For more "
            "information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors."
        ),
        "insufficient_quota",
        "insufficient_quota",
    ),
    500: ("The server had an error while processing your request. Sorry about that!", "server_error", None),
    502: ("Bad gateway.", "cf_bad_gateway", 502),
    503: ("The server is overloaded or not ready yet.", "server_error", None),
    504: ("Gateway timeout.", "cf_gateway_timeout", 504),
}  # fmt: skip


def error_body(
    message: str, type_: str, param: str | None = None, code: Any = None
) -> dict[str, Any]:
    """OpenAI's error envelope."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def is_reasoning_model(model: str) -> bool:
    """gpt-5*, gpt-6*, o1*, o3*, o4*: no max_tokens, only max_completion_tokens."""
    return model.startswith(_REASONING_PREFIXES)


def reasoning_effort(model: str, requested: object) -> str | None:
    """The effort a model runs at: None for non-reasoning models."""
    if not is_reasoning_model(model):
        return None
    if isinstance(requested, str):
        return requested
    return (
        "medium" if model == "gpt-5" or model.startswith(_ALWAYS_REASONING) else "none"
    )


def model_limits(model: str) -> tuple[int, int]:
    """(context window, maximum completion tokens) of a model family."""
    if model.startswith(("gpt-5.4", "gpt-5.5", "gpt-6")):
        return 1_050_000, 128_000
    if model.startswith("gpt-5"):
        return 400_000, 128_000
    if model.startswith("gpt-4.1"):
        return 1_047_576, 32_768
    if model.startswith(("o3", "o4")):
        return 200_000, 100_000
    return 128_000, 16_384


def mask_key(key: str) -> str:
    """The API echoes a masked key in its 401 message."""
    return f"{key[:3]}{'*' * max(len(key) - 7, 4)}{key[-4:]}"


def image_tokens(model: str, info: ImageInfo | None, detail: str) -> int:
    """OpenAI's tile formula: fit in 2048², shortest side to 768, 512-px tiles."""
    if model.startswith("gpt-4o-mini"):
        base, per_tile = 2833, 5667
    elif model.startswith("gpt-5"):
        base, per_tile = 70, 140
    elif model.startswith(("o1", "o3", "o4")):
        base, per_tile = 75, 150
    else:
        base, per_tile = 85, 170
    if detail == "low" or info is None:
        return base
    width, height = float(info.width), float(info.height)
    if max(width, height) > 2048:
        scale = 2048 / max(width, height)
        width, height = width * scale, height * scale
    if min(width, height) > 768:
        scale = 768 / min(width, height)
        width, height = width * scale, height * scale
    tiles = math.ceil(width / 512) * math.ceil(height / 512)
    return base + per_tile * tiles


class _RequestError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def _invalid(
    message: str, param: str | None = None, code: str | None = None
) -> _RequestError:
    return _RequestError(400, error_body(message, "invalid_request_error", param, code))


class OpenAIProtocol(ProviderProtocol):
    """Chat Completions as api.openai.com serves it (also the OpenAI-compatible target)."""

    name = "openai"
    prefix = "/openai/v1"
    # Alias -> the model id reported back; snapshots answer to their own name too.
    models: dict[str, str] = {**MODELS, **_SNAPSHOTS}
    # Listed by GET /models like the real account's list, but not chat models.
    other_models: tuple[str, ...] = (
        "text-embedding-3-small",
        "whisper-1",
        "tts-1",
        "dall-e-3",
        "omni-moderation-latest",
    )
    key_required = True

    def routes(self) -> list[Route]:
        """Chat completions, the model list and one model."""
        return [
            Route("POST", "/chat/completions", self.chat_completions, "generate"),
            Route("GET", "/models", self.list_models, "models"),
            Route("GET", "/models/{model}", self.get_model, "models"),
        ]

    def _headers(self, call: SimCall) -> dict[str, str]:
        return {
            "x-request-id": f"req_{random_token(call.rng, 32, '0123456789abcdef')}",
            "openai-version": "2020-10-01",
            "openai-organization": "user-simulator",
            "openai-processing-ms": "42",
            "x-ratelimit-limit-requests": "5000",
            "x-ratelimit-remaining-requests": "4999",
            "x-ratelimit-reset-requests": "12ms",
        }

    def error_response(self, status: int, body: Any = None) -> web.Response:
        """The API's error envelope for a status (the 401 one is the missing-key text)."""
        if body is not None:
            return custom_body_response(status, body)
        message, type_, code = _STATUS_ERRORS.get(
            status, (f"Error {status}", "server_error", None)
        )
        return json_response(error_body(message, type_, None, code), status=status)

    def rate_limit_response(self, retry_after: float) -> web.Response:
        """429 with retry-after (seconds) and retry-after-ms, as the SDK reads them."""
        wait_ms = round(retry_after * 1000)
        body = error_body(
            "Rate limit reached for gpt-4o-mini in organization org-simulator on requests per min "
            f"(RPM): Limit 500, Used 500, Requested 1. Please try again in {wait_ms}ms. Visit "
            "https://platform.openai.com/account/rate-limits to learn more.",
            "requests",
            None,
            "rate_limit_exceeded",
        )
        headers = {
            "retry-after": str(max(math.ceil(retry_after), 0)),
            "retry-after-ms": str(wait_ms),
            "x-ratelimit-limit-requests": "500",
            "x-ratelimit-remaining-requests": "0",
            "x-ratelimit-reset-requests": f"{wait_ms}ms",
        }
        return json_response(body, status=429, headers=headers)

    def _check_auth(self, call: SimCall) -> web.Response | None:
        auth = call.headers.get("Authorization", "")
        scheme, _, key = auth.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            if not self.key_required:
                return None
            return json_response(
                error_body(_NO_KEY, "invalid_request_error"), status=401
            )
        key = key.strip()
        if key.startswith("bad"):
            message = (
                f"Incorrect API key provided: {mask_key(key)}. You can find your API key at "
                "https://platform.openai.com/account/api-keys."
            )
            return json_response(
                error_body(message, "invalid_request_error", None, "invalid_api_key"),
                status=401,
            )
        return None

    async def list_models(self, call: SimCall) -> web.StreamResponse:
        """GET /models: every alias and snapshot, as `object: list`."""
        if (denied := self._check_auth(call)) is not None:
            return denied
        data = [
            {
                "id": model_id,
                "object": "model",
                "created": 1715367049,
                "owned_by": "system",
            }
            for model_id in [*self.models, *self.other_models]
        ]
        return json_response(
            {"object": "list", "data": data}, headers=self._headers(call)
        )

    async def get_model(self, call: SimCall) -> web.StreamResponse:
        """GET /models/{model}."""
        if (denied := self._check_auth(call)) is not None:
            return denied
        model = call.request.match_info["model"]
        if model not in self.models and model not in self.other_models:
            return self._model_not_found(model)
        return json_response(
            {
                "id": model,
                "object": "model",
                "created": 1715367049,
                "owned_by": "system",
            },
            headers=self._headers(call),
        )

    def _model_not_found(self, model: str) -> web.Response:
        body = error_body(
            f"The model `{model}` does not exist or you do not have access to it.",
            "invalid_request_error",
            None,
            "model_not_found",
        )
        return json_response(body, status=404)

    async def chat_completions(self, call: SimCall) -> web.StreamResponse:
        """POST /chat/completions, validated the way the API validates it."""
        if (denied := self._check_auth(call)) is not None:
            return denied
        try:
            response = self._build(call)
        except _RequestError as err:
            return json_response(
                err.body, status=err.status, headers=self._headers(call)
            )
        if (scripted := tools.due("openai", call.json, call.tool_calls)) is not None:
            tools.openai_answer(response, scripted, call.rng)
        if call.json.get("stream"):
            stream_billing.note(call.request, call.json["model"], response["usage"])
            options = call.json.get("stream_options") or {}
            return await self._stream(
                call, response, bool(options.get("include_usage"))
            )
        return json_response(response, headers=self._headers(call))

    async def _stream(
        self, call: SimCall, response: dict[str, Any], include_usage: bool
    ) -> web.StreamResponse:
        """The same answer as `chat.completion.chunk` events, ending with [DONE]."""
        choice = response["choices"][0]
        message = choice["message"]
        base = {
            key: response[key]
            for key in ("id", "created", "model", "service_tier", "system_fingerprint")
        }
        base["object"] = "chat.completion.chunk"

        def chunk(
            delta: dict[str, Any], finish_reason: str | None = None
        ) -> dict[str, Any]:
            return {
                **base,
                "choices": [
                    {
                        "index": 0,
                        "delta": delta,
                        "logprobs": None,
                        "finish_reason": finish_reason,
                    }
                ],
            }

        events: list[tuple[str | None, Any]] = [
            (None, chunk({"role": "assistant", "content": "", "refusal": None}))
        ]
        events += [
            (None, chunk({"content": piece}))
            for piece in split_text(message["content"] or "")
        ]
        events += [
            (None, chunk(delta)) for delta in tools.openai_stream_deltas(message)
        ]
        if message["refusal"]:
            events.append((None, chunk({"refusal": message["refusal"]})))
        events.append((None, chunk({}, choice["finish_reason"])))
        if include_usage:
            events.append((None, {**base, "choices": [], "usage": response["usage"]}))
        return await send_sse(
            call.request, events, headers=self._headers(call), done_marker=True
        )

    def _build(self, call: SimCall) -> dict[str, Any]:
        body = call.json
        if call.json_invalid or not isinstance(body, dict):
            raise _invalid(_BAD_JSON)
        unknown = sorted(set(body) - _KNOWN_PARAMS)
        if unknown:
            raise _invalid(f"Unrecognized request argument supplied: {unknown[0]}")
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise _invalid("you must provide a model parameter")
        if "messages" not in body:
            raise _invalid(
                "Missing required parameter: 'messages'.",
                "messages",
                "missing_required_parameter",
            )
        if model in self.other_models:
            raise _RequestError(
                404,
                error_body(
                    "This is not a chat model and thus not supported in the v1/chat/completions "
                    "endpoint. Did you mean to use v1/completions?",
                    "invalid_request_error",
                    "model",
                    None,
                ),
            )
        if model not in self.models:
            raise _RequestError(
                404,
                error_body(
                    f"The model `{model}` does not exist or you do not have access to it.",
                    "invalid_request_error",
                    None,
                    "model_not_found",
                ),
            )
        snapshot = self.models[model]
        reasoning = is_reasoning_model(model)
        if body.get("reasoning_effort") is not None and not reasoning:
            raise _invalid(
                "Unsupported parameter: 'reasoning_effort' is not supported with this model.",
                "reasoning_effort",
                "unsupported_parameter",
            )
        effort = reasoning_effort(model, body.get("reasoning_effort"))
        if effort not in (None, *_EFFORTS):
            raise _invalid(
                f"Invalid value: '{effort}'. Supported values are: 'none', 'minimal', 'low', "
                "'medium', 'high', 'xhigh', and 'max'.",
                "reasoning_effort",
                "invalid_value",
            )
        max_tokens = self._max_tokens(body, reasoning)
        self._check_temperature(body, effort not in (None, "none"))
        prompt_chars, prompt_tokens, image_count, image_token_total = (
            self._read_messages(body["messages"], model)
        )
        context_window, max_output = model_limits(model)
        if max_tokens is not None and max_tokens > max_output:
            name = (
                "max_completion_tokens"
                if "max_completion_tokens" in body
                else "max_tokens"
            )
            raise _invalid(
                f"max_tokens is too large: {max_tokens}. This model supports at most {max_output} "
                f"completion tokens, whereas you provided {max_tokens}.",
                name,
                "invalid_value",
            )
        if prompt_tokens > context_window:
            raise _invalid(
                f"This model's maximum context length is {context_window} tokens. However, your "
                f"messages resulted in {prompt_tokens} tokens. Please reduce the length of the messages.",
                "messages",
                "context_length_exceeded",
            )

        reasoning_tokens = 0 if effort in (None, "none") else REASONING_TOKENS
        text = call.reply_text or default_reply(
            self.name, model, prompt_chars, image_count, body=body
        )
        budget = None if max_tokens is None else max(max_tokens - reasoning_tokens, 0)
        if max_tokens is not None:
            reasoning_tokens = min(reasoning_tokens, max_tokens)
        text, cut = truncate_to_tokens(text, budget)
        completion_tokens = text_tokens(text) + reasoning_tokens
        finish_reason = "length" if cut else "stop"
        message: dict[str, Any] = {
            "role": "assistant",
            "content": text,
            "refusal": None,
            "annotations": [],
        }
        if call.content_filter is not None:
            if call.content_filter.variant == "refusal":
                message["content"] = None
                message["refusal"] = "I'm sorry, but I can't help with that request."
                finish_reason = "stop"
            else:
                message["content"] = None
                finish_reason = "content_filter"
            completion_tokens = reasoning_tokens + (10 if message["refusal"] else 0)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {
                "cached_tokens": 0,
                "audio_tokens": 0,
                "image_tokens": image_token_total,
            },
            "completion_tokens_details": {
                "reasoning_tokens": reasoning_tokens,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }
        response: dict[str, Any] = {
            "id": f"chatcmpl-{random_token(call.rng, 29)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": snapshot,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": finish_reason,
                }
            ],
            "usage": usage,
            "service_tier": "default",
            "system_fingerprint": f"fp_{random_token(call.rng, 10, '0123456789abcdef')}",
        }
        return response

    @staticmethod
    def _max_tokens(body: dict[str, Any], reasoning: bool) -> int | None:
        if reasoning and body.get("max_tokens") is not None:
            raise _invalid(
                "Unsupported parameter: 'max_tokens' is not supported with this model. "
                "Use 'max_completion_tokens' instead.",
                "max_tokens",
                "unsupported_parameter",
            )
        for name in ("max_completion_tokens", "max_tokens"):
            value = body.get(name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                raise _invalid(
                    f"Invalid type for '{name}': expected an integer, but got a {type(value).__name__} instead.",
                    name,
                    "invalid_type",
                )
            if value < 1:
                raise _invalid(
                    f"Invalid '{name}': integer below minimum value. Expected a value >= 1, but got {value} instead.",
                    name,
                    "integer_below_min_value",
                )
            return value
        return None

    @staticmethod
    def _check_temperature(body: dict[str, Any], reasoning: bool) -> None:
        """Reasoning at any effort above "none" allows only the default temperature."""
        value = body.get("temperature")
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _invalid(
                f"Invalid type for 'temperature': expected a decimal, but got a {type(value).__name__} instead.",
                "temperature",
                "invalid_type",
            )
        if reasoning and value != 1:
            raise _invalid(
                f"Unsupported value: 'temperature' does not support {value} with this model. "
                "Only the default (1) value is supported.",
                "temperature",
                "unsupported_value",
            )
        if value > 2:
            raise _invalid(
                f"Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got {value} instead.",
                "temperature",
                "decimal_above_max_value",
            )
        if value < 0:
            raise _invalid(
                f"Invalid 'temperature': decimal below minimum value. Expected a value >= 0, but got {value} instead.",
                "temperature",
                "decimal_below_min_value",
            )

    @staticmethod
    def _read_messages(messages: Any, model: str) -> tuple[int, int, int, int]:
        """Validate the messages; return (chars, prompt tokens, images, image tokens)."""
        if not isinstance(messages, list):
            raise _invalid(
                f"Invalid type for 'messages': expected an array, but got {type(messages).__name__} instead.",
                "messages",
                "invalid_type",
            )
        if not messages:
            raise _invalid(
                "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
                "messages",
                "empty_array",
            )
        chars = 0
        tokens = 3  # every reply is primed with <|start|>assistant<|message|>
        images = 0
        image_token_total = 0
        for index, message in enumerate(messages):
            param = f"messages[{index}]"
            if not isinstance(message, dict):
                raise _invalid(
                    f"Invalid type for '{param}': expected an object.",
                    param,
                    "invalid_type",
                )
            role = message.get("role")
            if not isinstance(role, str) or role not in _ROLES:
                raise _invalid(
                    f"Invalid value: '{role}'. Supported values are: 'system', 'assistant', 'user', "
                    "'function', 'tool', and 'developer'.",
                    f"{param}.role",
                    "invalid_value",
                )
            tokens += 3
            content = message.get("content")
            if isinstance(content, str):
                chars += len(content)
                tokens += text_tokens(content)
                continue
            if not isinstance(content, list):
                if role == "assistant" and content is None:
                    continue
                raise _invalid(
                    f"Missing required parameter: '{param}.content'.",
                    f"{param}.content",
                    "missing_required_parameter",
                )
            for part_index, part in enumerate(content):
                part_param = f"{param}.content[{part_index}]"
                part_type = part.get("type") if isinstance(part, dict) else None
                if part_type == "text" and isinstance(part.get("text"), str):
                    chars += len(part["text"])
                    tokens += text_tokens(part["text"])
                elif part_type == "image_url" and role == "user":
                    count = _image_part_tokens(part, part_param, model)
                    images += 1
                    image_token_total += count
                    tokens += count
                elif part_type in ("text", "image_url"):
                    raise _invalid(
                        f"Invalid content for '{part_param}'.",
                        part_param,
                        "invalid_value",
                    )
                else:
                    raise _invalid(
                        f"Invalid value: '{part_type}'. Supported values are: 'text', 'image_url', "
                        "'input_audio', 'refusal', 'audio', and 'file'.",
                        f"{part_param}.type",
                        "invalid_value",
                    )
        return chars, tokens, images, image_token_total


def _image_part_tokens(part: dict[str, Any], param: str, model: str) -> int:
    image_url = part.get("image_url")
    if not isinstance(image_url, dict) or not isinstance(image_url.get("url"), str):
        raise _invalid(
            f"Missing required parameter: '{param}.image_url'.",
            f"{param}.image_url",
            "missing_required_parameter",
        )
    detail = image_url.get("detail", "auto")
    if detail not in ("auto", "low", "high"):
        raise _invalid(
            f"Invalid value: '{detail}'. Supported values are: 'auto', 'low', and 'high'.",
            f"{param}.image_url.detail",
            "invalid_value",
        )
    url: str = image_url["url"]
    if not url.startswith("data:"):
        # A remote URL: the API would fetch it; the simulator counts a typical photo instead.
        return image_tokens(model, ImageInfo(1024, 768, "image/jpeg"), detail)
    header, _, data = url.partition(",")
    if not header.endswith(";base64") or not data:
        raise _invalid(
            f"Invalid '{param}.image_url.url'. Expected a valid URL, but got a value with an invalid format.",
            f"{param}.image_url.url",
            "invalid_value",
        )
    try:
        info = inspect_image(data)
    except InvalidImageError as err:
        if err.reason == "base64":
            raise _invalid("Invalid base64 image_url.") from err
        raise _invalid(_BAD_IMAGE_FORMAT, None, "invalid_image_format") from err
    return image_tokens(model, info, detail)


class CompatibleProtocol(OpenAIProtocol):
    """A self-hosted OpenAI-compatible server (vLLM, LM Studio, LocalAI): the key is optional.

    Served under /compatible/v1 with local model names; a key, when sent, still has to be
    valid (so "bad..." keys get OpenAI's 401, as a LiteLLM or OpenRouter proxy answers).
    """

    name = "compatible"
    prefix = "/compatible/v1"
    models = {
        "llama-3.1-8b-instruct": "llama-3.1-8b-instruct",
        "qwen2.5-vl-7b-instruct": "qwen2.5-vl-7b-instruct",
        "gemma-3-12b-it": "gemma-3-12b-it",
        "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    }
    other_models = ("nomic-embed-text-v1.5",)
    key_required = False
