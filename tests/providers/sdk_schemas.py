"""Check request bodies against the official SDKs' own request types (pydantic).

openai and anthropic describe requests as TypedDicts: pydantic validates them, lazily for `Iterable`
fields (so the result is walked to force that), and ignores unknown keys (so the keys are checked
against the TypedDict's own). google-genai's models forbid unknown keys and accept the REST camelCase
aliases. ollama's `ChatRequest` is a pydantic model too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from anthropic.types import message_create_params
from google.genai import types as genai_types
from ollama._types import ChatRequest, Message, Options
from openai.types.chat import completion_create_params
from pydantic import TypeAdapter

_OPENAI = completion_create_params.CompletionCreateParamsNonStreaming
_ANTHROPIC = message_create_params.MessageCreateParamsNonStreaming
_OPENAI_ADAPTER = TypeAdapter(_OPENAI)
_ANTHROPIC_ADAPTER = TypeAdapter(_ANTHROPIC)
# The REST GenerateContentRequest fields (google-genai builds these in _GenerateContentParameters_to_mldev).
_GEMINI_TOP_LEVEL = frozenset(
    {
        "contents",
        "systemInstruction",
        "generationConfig",
        "safetySettings",
        "tools",
        "toolConfig",
        "cachedContent",
    }
)


def _typed_dict_keys(typed_dict: Any) -> frozenset[str]:
    return frozenset(typed_dict.__required_keys__ | typed_dict.__optional_keys__)


def _force(value: Any) -> Any:
    """Walk a validated value so pydantic's lazy Iterable validators run."""
    if isinstance(value, Mapping):
        return {key: _force(item) for key, item in value.items()}
    if isinstance(value, (str, bytes)):
        return value
    if isinstance(value, Iterable):
        return [_force(item) for item in value]
    return value


def _check_keys(body: Mapping[str, Any], allowed: frozenset[str], what: str) -> None:
    unknown = set(body) - allowed
    if unknown:
        raise AssertionError(
            f"{what} has fields the SDK does not define: {sorted(unknown)}"
        )


def validate_request_body(provider: str, body: Any) -> None:
    """Raise if `body` is not a request the provider's official SDK could have sent."""
    if provider in ("openai", "openai_compatible"):
        _check_keys(body, _typed_dict_keys(_OPENAI), "chat.completions.create")
        _force(_OPENAI_ADAPTER.validate_python(body))
        for message in body["messages"]:
            assert set(message) <= {"role", "content", "name"}, message
    elif provider == "anthropic":
        _check_keys(body, _typed_dict_keys(_ANTHROPIC), "messages.create")
        _force(_ANTHROPIC_ADAPTER.validate_python(body))
    elif provider == "gemini":
        _check_keys(body, _GEMINI_TOP_LEVEL, "generateContent")
        for content in body["contents"]:
            genai_types.Content.model_validate(content)
        if "systemInstruction" in body:
            genai_types.Content.model_validate(body["systemInstruction"])
        if "generationConfig" in body:
            genai_types.GenerationConfig.model_validate(body["generationConfig"])
    elif provider == "ollama":
        _check_keys(body, frozenset(ChatRequest.model_fields), "ollama.chat")
        ChatRequest.model_validate(body)
        for message in body["messages"]:
            _check_keys(message, frozenset(Message.model_fields), "ollama Message")
        if "options" in body:
            _check_keys(
                body["options"], frozenset(Options.model_fields), "ollama Options"
            )
    else:
        raise ValueError(f"no SDK schema for {provider}")
