"""Ollama wire protocol: POST /api/chat, GET /api/tags, POST /api/show below /ollama.

Ollama has no key and no content filter. The simulator still answers 401 {"error":
"unauthorized"} when an `Authorization: Bearer bad...` header is sent (as ollama.com and
authenticating reverse proxies do), and its "content_filter" fault is what a local model
really does: a normal 200 reply whose text is a refusal.
"""

from __future__ import annotations

import math
from typing import Any

from aiohttp import web
import orjson

from . import stream_billing, tools
from .common import (
    InvalidImageError,
    ProviderProtocol,
    Route,
    SimCall,
    custom_body_response,
    default_reply,
    inspect_image,
    json_response,
    stream_fault,
    text_tokens,
    truncate_to_tokens,
)

# name -> (family, families, parameter size, size in bytes, digest prefix, vision, context)
MODELS: dict[str, tuple[str, list[str], str, int, str, bool, int]] = {
    "llava:latest": ("llama", ["llama", "clip"], "7B", 4733363377, "8dd30f6b0cb1", True, 32768),
    "llama3.2:latest": ("llama", ["llama"], "3.2B", 2019393189, "a80c4f17acd5", False, 131072),
    "llama3.2-vision:latest": ("mllama", ["mllama"], "10.7B", 7901829417, "6f2f9757ae97", True, 131072),
    "qwen2.5vl:7b": ("qwen25vl", ["qwen25vl"], "8.3B", 5969245856, "5ced39dfa4ba", True, 128000),
    "qwen3-vl:8b": ("qwen3vl", ["qwen3vl"], "8.8B", 6135117622, "901cae732162", True, 262144),
    "nomic-embed-text:latest": ("nomic-bert", ["nomic-bert"], "137M", 274302450, "0a109f422b47", False, 2048),
}  # fmt: skip
# Installed but unable to chat (embedding models): /api/chat on them is 400.
EMBEDDING_MODELS = frozenset({"nomic-embed-text:latest"})
# Models that think by default (Ollama turns `think` on for them): thoughts come back in
# message.thinking and count in eval_count and against num_predict.
THINKING_MODELS = frozenset({"qwen3-vl:8b"})
THINKING_TOKENS = 48
THINKING_TEXT = "The user wants a short description; I will list what I see."
# A llava-style CLIP encoder turns every image into this many prompt tokens.
IMAGE_TOKENS = 576
REFUSAL_TEXT = "I'm sorry, but I can't help with that."
_STATUS_ERRORS: dict[int, str] = {
    400: "invalid request",
    401: "unauthorized",
    404: "not found",
    429: "too many requests",
    500: "an error was encountered while running the model: unexpected EOF",
    502: "bad gateway",
    503: "server busy, please try again.  maximum pending requests exceeded",
}


def resolve(model: str) -> str | None:
    """Ollama names default to the `latest` tag."""
    name = model if ":" in model else f"{model}:latest"
    return name if name in MODELS else None


def _error(status: int, message: str) -> web.Response:
    return json_response({"error": message}, status=status)


# Field -> the JSON types Go's decoder takes for it in api.ChatRequest.
_GO_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "model": (str,),
    "messages": (list,),
    "stream": (bool,),
    "options": (dict,),
    "think": (bool, str),
    "keep_alive": (str, int, float),
    "tools": (list,),
}
_GO_TYPE_NAMES = {"model": "string", "messages": "[]api.Message", "stream": "bool",
                  "options": "map[string]interface {}", "think": "api.ThinkValue",
                  "keep_alive": "api.Duration", "tools": "[]api.Tool"}  # fmt: skip


def _go_type_mismatch(body: dict[str, Any]) -> str | None:
    """The error Go's JSON decoder gives for a field of the wrong type (null is allowed)."""
    for field_name, allowed in _GO_FIELD_TYPES.items():
        value = body.get(field_name)
        if value is None or (
            isinstance(value, allowed)
            and not (isinstance(value, bool) and bool not in allowed)
        ):
            continue
        kind = {bool: "bool", str: "string", list: "array", dict: "object"}.get(
            type(value), "number"
        )
        return (
            f"json: cannot unmarshal {kind} into Go struct field ChatRequest.{field_name} of type "
            f"{_GO_TYPE_NAMES[field_name]}"
        )
    return None


def _timestamp() -> str:
    # Ollama prints nanosecond RFC 3339 timestamps.
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond:06d}000Z"


class OllamaProtocol(ProviderProtocol):
    """The Ollama server's REST API (no auth, no content filter)."""

    name = "ollama"
    prefix = "/ollama"

    def routes(self) -> list[Route]:
        """Chat, the installed-model list, model details and the version."""
        return [
            Route("POST", "/api/chat", self.chat, "generate"),
            Route("GET", "/api/tags", self.tags, "models"),
            Route("POST", "/api/show", self.show, "models"),
            Route("GET", "/api/version", self.version, "models"),
        ]

    def error_response(self, status: int, body: Any = None) -> web.Response:
        """Ollama's `{"error": "..."}` body for a status."""
        if body is not None:
            return custom_body_response(status, body)
        return _error(status, _STATUS_ERRORS.get(status, f"error {status}"))

    def rate_limit_response(self, retry_after: float) -> web.Response:
        """429 with Retry-After, as ollama.com or a proxy in front of a server sends it."""
        response = _error(429, "too many requests")
        response.headers["Retry-After"] = str(max(math.ceil(retry_after), 0))
        return response

    @staticmethod
    def _check_auth(call: SimCall) -> web.Response | None:
        scheme, _, token = call.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip().startswith("bad"):
            return _error(401, "unauthorized")
        return None

    async def version(self, call: SimCall) -> web.StreamResponse:
        """GET /api/version."""
        return json_response({"version": "0.12.6"})

    async def tags(self, call: SimCall) -> web.StreamResponse:
        """GET /api/tags: the installed models."""
        if (denied := self._check_auth(call)) is not None:
            return denied
        models = []
        for name, (family, families, size_label, size, digest, _, _) in MODELS.items():
            models.append(
                {
                    "name": name,
                    "model": name,
                    "modified_at": "2025-10-01T12:00:00.000000000Z",
                    "size": size,
                    "digest": digest + "0" * 52,
                    "details": {
                        "parent_model": "",
                        "format": "gguf",
                        "family": family,
                        "families": families,
                        "parameter_size": size_label,
                        "quantization_level": "Q4_K_M",
                    },
                }
            )
        return json_response({"models": models})

    async def show(self, call: SimCall) -> web.StreamResponse:
        """POST /api/show: details and capabilities (vision) of one model."""
        if (denied := self._check_auth(call)) is not None:
            return denied
        body = call.json if isinstance(call.json, dict) else {}
        model = body.get("model") or body.get("name")
        if not isinstance(model, str) or not model:
            return _error(400, "model is required")
        name = resolve(model)
        if name is None:
            return _error(404, f"model '{model}' not found")
        family, families, size_label, _, _, vision, context = MODELS[name]
        capabilities = ["completion", "vision"] if vision else ["completion", "tools"]
        if name in EMBEDDING_MODELS:
            capabilities = ["embedding"]
        if name in THINKING_MODELS:
            capabilities.append("thinking")
        return json_response(
            {
                "modelfile": f"# Modelfile generated by the simulator\nFROM {name}\n",
                "parameters": 'stop "<|eot_id|>"',
                "template": "{{ .Prompt }}",
                "details": {
                    "parent_model": "",
                    "format": "gguf",
                    "family": family,
                    "families": families,
                    "parameter_size": size_label,
                    "quantization_level": "Q4_K_M",
                },
                "model_info": {
                    "general.architecture": family,
                    f"{family}.context_length": context,
                },
                "capabilities": capabilities,
                "modified_at": "2025-10-01T12:00:00.000000000Z",
            }
        )

    async def chat(self, call: SimCall) -> web.StreamResponse:
        """POST /api/chat; streams NDJSON unless `stream` is false, as Ollama does."""
        if (denied := self._check_auth(call)) is not None:
            return denied
        if call.json_invalid:
            return _error(400, "invalid character 'x' looking for beginning of value")
        body = call.json
        if not isinstance(body, dict):
            return _error(400, "missing request body")
        if (mismatch := _go_type_mismatch(body)) is not None:
            return _error(400, mismatch)
        model = body.get("model")
        if not isinstance(model, str) or not model:
            return _error(400, "model is required")
        name = resolve(model)
        if name is None:
            return _error(404, f"model '{model}' not found")
        if name in EMBEDDING_MODELS:
            return _error(400, f'"{model}" does not support chat')
        if body.get("tools") and MODELS[name][5]:
            # The library's vision models lack the "tools" capability (see `show`).
            return _error(
                400, f"registry.ollama.ai/library/{name} does not support tools"
            )
        messages = body.get("messages") or []
        if not isinstance(messages, list):
            return _error(
                400,
                "json: cannot unmarshal object into Go struct field ChatRequest.messages",
            )
        chars = 0
        prompt_tokens = 0
        images = 0
        for message in messages:
            if not isinstance(message, dict):
                return _error(
                    400, "json: cannot unmarshal into Go value of type api.Message"
                )
            content = message.get("content") or ""
            if not isinstance(content, str):
                return _error(
                    400,
                    "json: cannot unmarshal array into Go struct field Message.messages.content of type string",
                )
            chars += len(content)
            prompt_tokens += (
                text_tokens(content) + 4
            )  # the chat template's role markers
            images_field = message.get("images") or []
            if not isinstance(images_field, list):
                return _error(
                    400,
                    "json: cannot unmarshal into Go struct field Message.messages.images of type []api.ImageData",
                )
            for image in images_field:
                if not isinstance(image, str):
                    return _error(
                        400,
                        "json: cannot unmarshal into Go struct field Message.messages.images of type api.ImageData",
                    )
                try:
                    inspect_image(image)
                except InvalidImageError as err:
                    if err.reason == "base64":
                        return _error(400, "illegal base64 data at input byte 0")
                    return _error(400, "image: unknown format")
                images += 1
                prompt_tokens += IMAGE_TOKENS
        if images and not MODELS[name][5]:
            # The runner's ErrNoVisionModel, surfaced by ChatHandler as a 500 (some builds
            # pass it through as 400: clients should match the message, not only the status).
            return _error(500, "this model is missing data required for image input")
        think = body.get("think")
        thinks = name in THINKING_MODELS
        if think not in (None, False) and not thinks:
            return _error(400, f'"{model}" does not support thinking')
        thinking_tokens = THINKING_TOKENS if thinks and think is not False else 0
        options = body.get("options") or {}
        num_predict = options.get("num_predict") if isinstance(options, dict) else None
        limit = (
            num_predict if isinstance(num_predict, int) and num_predict > 0 else None
        )

        text = call.reply_text or default_reply(
            "ollama", model, chars, images, body=body
        )
        if call.content_filter is not None:
            text = REFUSAL_TEXT
        thinking_tokens = (
            min(thinking_tokens, limit) if limit is not None else thinking_tokens
        )
        text, cut = truncate_to_tokens(
            text, None if limit is None else limit - thinking_tokens
        )
        eval_count = text_tokens(text) + thinking_tokens
        reply: dict[str, Any] = {"role": "assistant", "content": text}
        if thinking_tokens:
            reply["thinking"] = THINKING_TEXT
        stats = {
            "done": True,
            "done_reason": "length" if cut else "stop",
            "total_duration": 1_234_567_890,
            "load_duration": 12_345_678,
            "prompt_eval_count": prompt_tokens,
            "prompt_eval_duration": 123_456_789,
            "eval_count": eval_count,
            "eval_duration": 987_654_321,
        }
        if (scripted := tools.due("ollama", body, call.tool_calls)) is not None:
            tools.ollama_answer(reply, stats, scripted)
        if body.get("stream", True) is False:
            return json_response(
                {
                    "model": model,
                    "created_at": _timestamp(),
                    "message": reply,
                    **stats,
                }
            )
        stream_billing.note(call.request, model, stats)
        return await self._stream(call, model, reply, stats)

    @staticmethod
    async def _stream(
        call: SimCall, model: str, message: dict[str, Any], stats: dict[str, Any]
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await response.prepare(call.request)
        pieces: list[dict[str, Any]] = []
        if message.get("thinking"):
            pieces.append(
                {"role": "assistant", "content": "", "thinking": message["thinking"]}
            )
        words = message["content"].split(" ")
        for index, word in enumerate(words):
            piece = word if index == len(words) - 1 else word + " "
            pieces.append({"role": "assistant", "content": piece})
        if message.get("tool_calls"):
            pieces.append(
                {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": message["tool_calls"],
                }
            )
        for sent, piece_message in enumerate(pieces):
            if await stream_fault(call.request, sent):
                return response
            chunk = {
                "model": model,
                "created_at": _timestamp(),
                "message": piece_message,
                "done": False,
            }
            await response.write(orjson.dumps(chunk) + b"\n")
        final = {
            "model": model,
            "created_at": _timestamp(),
            "message": {"role": "assistant", "content": ""},
            **stats,
        }
        if await stream_fault(call.request, len(pieces)):
            return response
        await response.write(orjson.dumps(final) + b"\n")
        await response.write_eof()
        return response
