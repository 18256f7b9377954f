"""The SDK schema check itself rejects what the SDKs would not send (so a pass means something)."""

from __future__ import annotations

from typing import Any

import pytest

from .sdk_schemas import validate_request_body

GOOD: dict[str, dict[str, Any]] = {
    "openai": {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 5,
    },
    "anthropic": {
        "model": "claude-haiku-4-5",
        "max_tokens": 5,
        "messages": [{"role": "user", "content": "hi"}],
    },
    "gemini": {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "generationConfig": {"maxOutputTokens": 5},
    },
    "ollama": {
        "model": "llava",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": False,
        "options": {"num_predict": 5},
    },
}


@pytest.mark.parametrize("provider", GOOD)
def test_a_plain_request_passes(provider: str) -> None:
    validate_request_body(provider, GOOD[provider])


@pytest.mark.parametrize(
    ("provider", "change"),
    [
        ("openai", {"max_tokenz": 5}),
        ("openai", {"messages": [{"role": "robot", "content": "hi"}]}),
        (
            "openai",
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "image_url", "image_url": "x"}],
                    }
                ]
            },
        ),
        ("anthropic", {"temperature": 0.5}),
        ("anthropic", {"max_tokens": None}),
        (
            "anthropic",
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "image",
                                "source": {
                                    "type": "base64",
                                    "media_type": "image/bmp",
                                    "data": "AA",
                                },
                            }
                        ],
                    }
                ]
            },
        ),
        ("gemini", {"generation_config": {}}),
        ("gemini", {"generationConfig": {"maxOutputTokenz": 5}}),
        (
            "gemini",
            {"contents": [{"role": "user", "parts": [{"inlineData": {"mime": "x"}}]}]},
        ),
        ("ollama", {"options": {"max_tokens": 5}}),
        ("ollama", {"prompt_extra": 1}),
    ],
)
def test_a_request_the_sdk_would_not_send_fails(
    provider: str, change: dict[str, Any]
) -> None:
    body = {**GOOD[provider], **change}
    with pytest.raises((AssertionError, ValueError)):
        validate_request_body(provider, body)


def test_unknown_provider_has_no_schema() -> None:
    with pytest.raises(ValueError, match="no SDK schema"):
        validate_request_body("mistral", {})
