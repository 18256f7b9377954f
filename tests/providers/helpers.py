"""Per-provider test data: how to build each client and what its provider answers."""

from __future__ import annotations

from typing import Any

import aiohttp

from custom_components.aicleaner.providers import BaseProvider, create_provider

from .conftest import KEY

KINDS = ("openai", "anthropic", "gemini", "ollama", "openai_compatible")
MODELS = {
    "openai": "gpt-4o-mini",
    "anthropic": "claude-haiku-4-5",
    "gemini": "gemini-2.5-flash",
    "ollama": "llava",
    "openai_compatible": "llama-3.1-8b-instruct",
}
# The fake server is mounted at the root; each client gets the path prefix its SDK keeps.
PREFIXES = {
    "openai": "/v1",
    "anthropic": "",
    "gemini": "",
    "ollama": "",
    "openai_compatible": "/v1",
}


def make_client(
    kind: str, session: aiohttp.ClientSession, root_url: str, **settings: Any
) -> BaseProvider:
    settings.setdefault("name", f"my-{kind}")
    settings.setdefault("model", MODELS[kind])
    settings.setdefault("api_key", None if kind == "ollama" else KEY)
    trailing = "/" if root_url.endswith("/") else ""
    settings.setdefault("base_url", root_url.rstrip("/") + PREFIXES[kind] + trailing)
    return create_provider(kind, session, **settings)


def success_body(
    kind: str, text: str = "hello", model: str | None = None
) -> dict[str, Any]:
    model = model or MODELS[kind]
    if kind in ("openai", "openai_compatible"):
        return {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "refusal": None},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": 1000,
                "completion_tokens": 500,
                "total_tokens": 1500,
            },
        }
    if kind == "anthropic":
        return {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 1000, "output_tokens": 500},
        }
    if kind == "gemini":
        return {
            "candidates": [
                {
                    "content": {"role": "model", "parts": [{"text": text}]},
                    "finishReason": "STOP",
                }
            ],
            "usageMetadata": {
                "promptTokenCount": 1000,
                "candidatesTokenCount": 500,
                "totalTokenCount": 1500,
            },
            "modelVersion": model,
        }
    return {
        "model": model,
        "created_at": "2026-11-26T12:00:00Z",
        "message": {"role": "assistant", "content": text},
        "done": True,
        "done_reason": "stop",
        "prompt_eval_count": 1000,
        "eval_count": 500,
    }


def models_body(kind: str) -> dict[str, Any]:
    if kind in ("openai", "openai_compatible"):
        return {
            "object": "list",
            "data": [{"id": "gpt-4o", "object": "model"}, {"id": "gpt-5-mini"}],
        }
    if kind == "anthropic":
        return {
            "data": [
                {"id": "claude-haiku-4-5", "type": "model"},
                {"id": "claude-sonnet-4-5"},
            ],
            "has_more": False,
        }
    if kind == "gemini":
        return {
            "models": [
                {"name": "models/gemini-2.5-flash"},
                {"name": "models/gemini-2.5-pro"},
            ]
        }
    return {
        "models": [
            {"name": "llava:latest", "model": "llava:latest"},
            {"model": "llama3.2"},
        ]
    }


def error_body(kind: str, status: int, message: str) -> dict[str, Any]:
    if kind in ("openai", "openai_compatible"):
        return {
            "error": {"message": message, "type": "invalid_request_error", "code": None}
        }
    if kind == "anthropic":
        return {
            "type": "error",
            "error": {"type": "invalid_request_error", "message": message},
        }
    if kind == "gemini":
        return {
            "error": {"code": status, "message": message, "status": "INVALID_ARGUMENT"}
        }
    return {"error": message}
