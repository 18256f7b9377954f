"""Check a captured request body against the official SDK's own request types.

    validate_request_body("openai", recorded.json)   # raises RequestBodyMismatch

The SDK is the reference client: a body our code sends must be one the SDK could have
sent. Unknown or misspelled keys fail (TypedDicts are checked strictly by typecheck.py;
the genai models forbid extras themselves), and so do wrong types, missing required
fields and invalid base64 image data.
- openai: openai.types.chat.CompletionCreateParamsNonStreaming (Streaming for `stream: true`)
- anthropic: anthropic.types.MessageCreateParamsNonStreaming (Streaming for `stream: true`)
- gemini: google.genai.types Content / GenerationConfig / SafetySetting / Tool / ToolConfig,
  over the wire (camelCase) body of models.generateContent
- ollama: ollama._types.ChatRequest and Message
"""

from __future__ import annotations

import binascii
from collections.abc import Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import ValidationError

from .typecheck import TypeMismatch, check_type

if TYPE_CHECKING:
    from .app import ProviderSimulator


class RequestBodyMismatch(ValueError):
    """A request body that the provider's official SDK could not have produced."""


@cache
def _openai_params(stream: bool = False) -> Any:
    from openai.types.chat.completion_create_params import (
        CompletionCreateParamsNonStreaming,
        CompletionCreateParamsStreaming,
    )

    return (
        CompletionCreateParamsStreaming
        if stream
        else CompletionCreateParamsNonStreaming
    )


@cache
def _anthropic_params(stream: bool = False) -> Any:
    from anthropic.types.message_create_params import (
        MessageCreateParamsNonStreaming,
        MessageCreateParamsStreaming,
    )

    return MessageCreateParamsStreaming if stream else MessageCreateParamsNonStreaming


def _check_with(params: Any, provider: str, body: Any) -> None:
    try:
        check_type(body, params)
    except TypeMismatch as err:
        raise RequestBodyMismatch(
            f"{provider} request body does not match the SDK types: {err}"
        ) from err


def _validate_openai(body: Mapping[str, Any]) -> None:
    _check_with(_openai_params(body.get("stream") is True), "openai", body)
    # The TypedDict says `str` for the data URL; the API wants real base64 image data in it.
    for message in body.get("messages", []):
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for part in content:
            if part.get("type") == "image_url":
                url = part["image_url"]["url"]
                if url.startswith("data:"):
                    header, _, data = url.partition(",")
                    if not header.endswith(";base64"):
                        raise RequestBodyMismatch(
                            "openai image data URL is not ;base64"
                        )
                    _check_base64("openai", data)


def _validate_anthropic(body: Mapping[str, Any]) -> None:
    _check_with(_anthropic_params(body.get("stream") is True), "anthropic", body)
    for message in body.get("messages", []):
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for block in content:
            source = block.get("source") if block.get("type") == "image" else None
            if isinstance(source, dict) and source.get("type") == "base64":
                _check_base64("anthropic", source["data"])


def _gemini_fields() -> dict[str, tuple[Callable[[Any], None], bool]]:
    """Wire field (camelCase and snake_case) -> (validator, is a list)."""
    from google.genai import types

    def model(cls: Any) -> Callable[[Any], None]:
        # JSON mode: bytes fields (inlineData.data) must be valid base64, as on the wire.
        return lambda value: cls.model_validate_json(orjson.dumps(value))

    def string(value: Any) -> None:
        if not isinstance(value, str):
            raise TypeError("expected a string")

    fields: dict[str, tuple[Callable[[Any], None], bool]] = {
        "contents": (model(types.Content), True),
        "systemInstruction": (model(types.Content), False),
        "generationConfig": (model(types.GenerationConfig), False),
        "safetySettings": (model(types.SafetySetting), True),
        "tools": (model(types.Tool), True),
        "toolConfig": (model(types.ToolConfig), False),
        "cachedContent": (string, False),
        "model": (string, False),
    }
    snake = {
        "system_instruction": fields["systemInstruction"],
        "generation_config": fields["generationConfig"],
        "safety_settings": fields["safetySettings"],
        "tool_config": fields["toolConfig"],
        "cached_content": fields["cachedContent"],
    }
    return fields | snake


def _validate_gemini(body: Mapping[str, Any]) -> None:
    fields = _gemini_fields()
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise RequestBodyMismatch(f"gemini request body has unknown fields: {unknown}")
    if not body.get("contents"):
        raise RequestBodyMismatch("gemini request body has no contents")
    for name, value in body.items():
        check, is_list = fields[name]
        if is_list and not isinstance(value, list):
            raise RequestBodyMismatch(f"gemini field {name!r} must be a list")
        try:
            for item in value if is_list else [value]:
                check(item)
        except (ValidationError, TypeError, ValueError) as err:
            raise RequestBodyMismatch(
                f"gemini field {name!r} does not match the SDK types: {err}"
            ) from err


def _validate_ollama(body: Mapping[str, Any]) -> None:
    from ollama._types import ChatRequest, Message, Options

    unknown = sorted(set(body) - set(ChatRequest.model_fields))
    if unknown:
        raise RequestBodyMismatch(f"ollama request body has unknown fields: {unknown}")
    message_fields = set(Message.model_fields)
    try:
        ChatRequest.model_validate(body, strict=True)
        # The request type also takes any Mapping as options; the wire wants Options' keys.
        options = body.get("options")
        if isinstance(options, Mapping):
            unknown_options = sorted(set(options) - set(Options.model_fields))
            if unknown_options:
                raise RequestBodyMismatch(
                    f"ollama options has unknown keys: {unknown_options}"
                )
            Options.model_validate(options, strict=True)
        for message in body.get("messages") or []:
            # On the wire images are base64 strings; the SDK model wraps them in Image objects.
            Message.model_validate({k: v for k, v in message.items() if k != "images"})
    except ValidationError as err:
        raise RequestBodyMismatch(
            f"ollama request body does not match the SDK types: {err}"
        ) from err
    for message in body.get("messages") or []:
        extra = sorted(set(message) - message_fields)
        if extra:
            raise RequestBodyMismatch(f"ollama message has unknown fields: {extra}")
        for image in message.get("images") or []:
            if not isinstance(image, str):
                raise RequestBodyMismatch(
                    "ollama images must be base64 strings on the wire"
                )
            _check_base64("ollama", image)


def _check_base64(provider: str, data: str) -> None:
    try:
        binascii.a2b_base64(data, strict_mode=True)
    except (binascii.Error, ValueError) as err:
        raise RequestBodyMismatch(
            f"{provider} image data is not valid base64: {err}"
        ) from err


_VALIDATORS: dict[str, Callable[[Mapping[str, Any]], None]] = {
    "openai": _validate_openai,
    "compatible": _validate_openai,
    "anthropic": _validate_anthropic,
    "gemini": _validate_gemini,
    "ollama": _validate_ollama,
}


def validate_request_body(provider: str, body: Any) -> None:
    """Raise RequestBodyMismatch unless the provider's official SDK types accept `body`.

    provider: "openai" or "compatible" (OpenAI-compatible servers), "anthropic", "gemini",
    "ollama".
    """
    if not isinstance(body, Mapping):
        raise RequestBodyMismatch(
            f"{provider} request body is not a JSON object: {body!r:.80}"
        )
    try:
        validator = _VALIDATORS[provider]
    except KeyError:
        raise ValueError(f"unknown provider {provider!r}") from None
    validator(body)


def validate_recorded_requests(sim: ProviderSimulator, *providers: str) -> int:
    """Validate every recorded generate-request body (of the given providers, or all).

    Returns how many bodies were checked, so a test can assert it checked something.
    countTokens bodies (Gemini) are skipped: they are not generate requests.
    """
    checked = 0
    for provider, recorded in sim.requests.items():
        if providers and provider not in providers:
            continue
        for request in recorded:
            if request.endpoint != "generate" or request.path.endswith(":countTokens"):
                continue
            validate_request_body(provider, request.json)
            checked += 1
    return checked
