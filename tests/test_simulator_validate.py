"""validate_request_body accepts what the official SDKs send and rejects what they never would."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
import random
import re
from typing import Any, Literal, NotRequired, Required, TypedDict

import anthropic
from google import genai
from google.genai import types as genai_types
import ollama
import openai
from pydantic import BaseModel
import pytest

from tests.simulator import SimulatorServer
from tests.simulator.samples import image_base64, image_bytes
from tests.simulator.typecheck import TypeMismatch, check_type
from tests.simulator.validate import (
    RequestBodyMismatch,
    validate_recorded_requests,
    validate_request_body,
)

IMAGE = image_base64()

VALID_BODIES: dict[str, dict[str, Any]] = {
    "openai": {
        "model": "gpt-5.4-mini",
        "messages": [
            {"role": "system", "content": "You inspect rooms."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What needs cleaning?"},
                    {
                        "type": "image_url",
                        "image_url": {
                            "url": f"data:image/png;base64,{IMAGE}",
                            "detail": "high",
                        },
                    },
                ],
            },
        ],
        "max_completion_tokens": 500,
        "temperature": 0.2,
    },
    "anthropic": {
        "model": "claude-sonnet-4-6",
        "max_tokens": 500,
        "system": "You inspect rooms.",
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "image",
                        "source": {
                            "type": "base64",
                            "media_type": "image/png",
                            "data": IMAGE,
                        },
                    },
                    {"type": "text", "text": "What needs cleaning?"},
                ],
            }
        ],
    },
    "gemini": {
        "contents": [
            {
                "role": "user",
                "parts": [
                    {"text": "What needs cleaning?"},
                    {"inlineData": {"mimeType": "image/png", "data": IMAGE}},
                ],
            }
        ],
        "systemInstruction": {"parts": [{"text": "You inspect rooms."}]},
        "generationConfig": {"maxOutputTokens": 500, "temperature": 0.2},
    },
    "ollama": {
        "model": "llava",
        "messages": [
            {"role": "system", "content": "You inspect rooms."},
            {"role": "user", "content": "What needs cleaning?", "images": [IMAGE]},
        ],
        "stream": False,
        "options": {"temperature": 0.2, "num_predict": 500},
    },
}

INVALID_BODIES: list[tuple[str, dict[str, Any], str]] = [
    ("openai", {**VALID_BODIES["openai"], "max_tokns": 5}, "max_tokns"),
    (
        "openai",
        {"model": "gpt-4o", "messages": [{"role": "user", "contnt": "hi"}]},
        "content",
    ),
    (
        "openai",
        {
            "model": "gpt-4o",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "image_url",
                            "image_url": {"url": "x", "detial": "low"},
                        }
                    ],
                }
            ],
        },
        "detial",
    ),
    (
        "openai",
        {
            "model": "gpt-4o",
            "messages": [{"role": "user", "content": "hi"}],
            "max_tokens": "5",
        },
        "max_tokens",
    ),
    ("openai", {"messages": [{"role": "user", "content": "hi"}]}, "model"),
    (
        "openai",
        {
            "model": "gpt-4o",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "image_url",
                            "image_url": {"url": "data:image/png;base64,not base64!"},
                        }
                    ],
                }
            ],
        },
        "base64",
    ),
    ("anthropic", {**VALID_BODIES["anthropic"], "temperature": 0.2}, "temperature"),
    (
        "anthropic",
        {k: v for k, v in VALID_BODIES["anthropic"].items() if k != "max_tokens"},
        "max_tokens",
    ),
    (
        "anthropic",
        {
            **VALID_BODIES["anthropic"],
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "image",
                            "source": {
                                "type": "base64",
                                "media_type": "image/png",
                                "data": "%%%",
                            },
                        }
                    ],
                }
            ],
        },
        "base64",
    ),
    (
        "anthropic",
        {**VALID_BODIES["anthropic"], "messages": [{"role": "robot", "content": "hi"}]},
        "messages[0]",
    ),
    (
        "gemini",
        {**VALID_BODIES["gemini"], "generationConfig": {"maxTokens": 5}},
        "maxTokens",
    ),
    ("gemini", {**VALID_BODIES["gemini"], "config": {}}, "config"),
    ("gemini", {"generationConfig": {}}, "contents"),
    (
        "gemini",
        {
            "contents": [
                {
                    "role": "user",
                    "parts": [{"inlineData": {"mimeType": "image/png", "data": "@@@"}}],
                }
            ]
        },
        "base64",
    ),
    ("ollama", {**VALID_BODIES["ollama"], "max_tokens": 5}, "max_tokens"),
    ("ollama", {**VALID_BODIES["ollama"], "options": {"max_tokens": 5}}, "max_tokens"),
    ("ollama", {**VALID_BODIES["ollama"], "stream": "no"}, "stream"),
    (
        "ollama",
        {
            **VALID_BODIES["ollama"],
            "messages": [{"role": "user", "content": "x", "image": [IMAGE]}],
        },
        "image",
    ),
    (
        "ollama",
        {
            **VALID_BODIES["ollama"],
            "messages": [{"role": "user", "content": "x", "images": ["@@"]}],
        },
        "base64",
    ),
]


@pytest.mark.parametrize("provider", sorted(VALID_BODIES))
def test_validate_request_body_accepts_a_valid_body(provider: str) -> None:
    validate_request_body(provider, VALID_BODIES[provider])


def test_validate_request_body_accepts_gemini_snake_case_fields() -> None:
    validate_request_body(
        "gemini",
        {
            "contents": [
                {"parts": [{"inline_data": {"mime_type": "image/png", "data": IMAGE}}]}
            ],
            "generation_config": {"max_output_tokens": 10},
        },
    )


@pytest.mark.parametrize(("provider", "body", "mentions"), INVALID_BODIES)
def test_validate_request_body_rejects_an_invalid_body(
    provider: str, body: dict[str, Any], mentions: str
) -> None:
    with pytest.raises(RequestBodyMismatch, match=re.escape(mentions)):
        validate_request_body(provider, body)


def test_validate_request_body_rejects_non_objects_and_unknown_providers() -> None:
    with pytest.raises(RequestBodyMismatch):
        validate_request_body("openai", [1, 2])
    with pytest.raises(ValueError, match="unknown provider"):
        validate_request_body("mistral", {})


async def test_bodies_the_official_sdks_send_validate(
    simulator: SimulatorServer,
) -> None:
    """The SDKs are the reference clients: whatever they send must pass the validator."""
    openai_client = openai.AsyncOpenAI(
        api_key="sk-test", base_url=simulator.url + "/openai/v1", max_retries=0
    )
    await openai_client.chat.completions.create(
        model="gpt-4o",
        messages=[
            {"role": "system", "content": "You inspect rooms."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What needs cleaning?"},
                    {
                        "type": "image_url",
                        "image_url": {"url": f"data:image/png;base64,{IMAGE}"},
                    },
                ],
            },
        ],
        max_tokens=100,
        temperature=0.3,
    )
    await openai_client.close()
    anthropic_client = anthropic.AsyncAnthropic(
        api_key="sk-ant", base_url=simulator.url + "/anthropic", max_retries=0
    )
    await anthropic_client.messages.create(
        model="claude-haiku-4-5",
        max_tokens=100,
        system="You inspect rooms.",
        messages=[
            {
                "role": "user",
                "content": [
                    {
                        "type": "image",
                        "source": {
                            "type": "base64",
                            "media_type": "image/png",
                            "data": IMAGE,
                        },
                    },
                    {"type": "text", "text": "What needs cleaning?"},
                ],
            }
        ],
    )
    await anthropic_client.close()
    gemini_client = genai.Client(
        api_key="key",
        http_options=genai_types.HttpOptions(base_url=simulator.url + "/gemini"),
    )
    await gemini_client.aio.models.generate_content(
        model="gemini-2.5-flash",
        contents=genai_types.Content(
            role="user",
            parts=[
                genai_types.Part.from_text(text="What needs cleaning?"),
                genai_types.Part.from_bytes(data=image_bytes(), mime_type="image/png"),
            ],
        ),
        config=genai_types.GenerateContentConfig(
            system_instruction="You inspect rooms.",
            max_output_tokens=300,
            temperature=0.3,
            thinking_config=genai_types.ThinkingConfig(thinking_budget=0),
        ),
    )
    await gemini_client.aio.aclose()
    gemini_client.close()
    ollama_client = ollama.AsyncClient(host=simulator.url + "/ollama")
    await ollama_client.chat(
        model="llava",
        messages=[
            {
                "role": "user",
                "content": "What needs cleaning?",
                "images": [image_bytes()],
            }
        ],
        options={"temperature": 0.3, "num_predict": 100},
        keep_alive="5m",
    )
    await ollama_client.close()

    for provider in ("openai", "anthropic", "gemini", "ollama"):
        (recorded,) = simulator.sim.requests[provider]
        assert recorded.endpoint == "generate"
        validate_request_body(provider, recorded.json)
    assert validate_recorded_requests(simulator.sim) == 4


async def test_varied_sdk_requests_are_accepted_and_validate(
    simulator: SimulatorServer,
) -> None:
    """Seeded variety through each SDK: the simulator must accept every valid combination."""
    rng = random.Random(42)
    openai_client = openai.AsyncOpenAI(
        api_key="sk-test", base_url=simulator.url + "/openai/v1", max_retries=0
    )
    anthropic_client = anthropic.AsyncAnthropic(
        api_key="sk-ant", base_url=simulator.url + "/anthropic", max_retries=0
    )
    gemini_client = genai.Client(
        api_key="key",
        http_options=genai_types.HttpOptions(
            base_url=simulator.url + "/gemini",
            retry_options=genai_types.HttpRetryOptions(attempts=1),
        ),
    )
    ollama_client = ollama.AsyncClient(host=simulator.url + "/ollama")
    image = image_base64(rng.randint(16, 900), rng.randint(16, 900), "JPEG")
    for _ in range(12):
        with_image = rng.random() < 0.5
        with_system = rng.random() < 0.5
        prompt = "x" * rng.randint(1, 400)

        model = rng.choice(
            [
                "gpt-4o",
                "gpt-4o-mini",
                "gpt-4.1",
                "gpt-5-mini",
                "gpt-5.4-mini",
                "o4-mini",
            ]
        )
        content: list[Any] = [{"type": "text", "text": prompt}]
        if with_image:
            content.append(
                {
                    "type": "image_url",
                    "image_url": {"url": f"data:image/jpeg;base64,{image}"},
                }
            )
        messages: list[Any] = [{"role": "user", "content": content}]
        if with_system:
            messages.insert(
                0,
                {
                    "role": "developer"
                    if model.startswith(("gpt-5", "o"))
                    else "system",
                    "content": "Be brief.",
                },
            )
        extra: dict[str, Any] = {}
        if model.startswith(("gpt-5", "o")):
            extra["max_completion_tokens"] = rng.randint(100, 4000)
            if model == "gpt-5.4-mini":
                extra["temperature"] = rng.choice([0.0, 0.5, 1.0])
        else:
            extra["max_tokens"] = rng.randint(1, 4000)
            extra["temperature"] = rng.uniform(0, 2)
        await openai_client.chat.completions.create(
            model=model, messages=messages, **extra
        )

        blocks: list[Any] = [{"type": "text", "text": prompt}]
        if with_image:
            blocks.insert(
                0,
                {
                    "type": "image",
                    "source": {
                        "type": "base64",
                        "media_type": "image/jpeg",
                        "data": image,
                    },
                },
            )
        await anthropic_client.messages.create(
            model=rng.choice(
                [
                    "claude-haiku-4-5",
                    "claude-sonnet-4-6",
                    "claude-haiku-5-5",
                    "claude-opus-4-7",
                ]
            ),
            max_tokens=rng.randint(1, 4000),
            messages=[{"role": "user", "content": blocks}],
            system="Be brief." if with_system else anthropic.omit,
        )

        parts = [genai_types.Part.from_text(text=prompt)]
        if with_image:
            parts.append(
                genai_types.Part.from_bytes(
                    data=image_bytes(64, 48, "JPEG"), mime_type="image/jpeg"
                )
            )
        await gemini_client.aio.models.generate_content(
            model=rng.choice(
                [
                    "gemini-2.5-flash",
                    "gemini-2.5-pro",
                    "gemini-3.5-flash",
                    "gemini-2.5-flash-lite",
                ]
            ),
            contents=genai_types.Content(role="user", parts=parts),
            config=genai_types.GenerateContentConfig(
                max_output_tokens=rng.randint(1, 4000),
                temperature=rng.uniform(0, 2),
                system_instruction="Be brief." if with_system else None,
            ),
        )

        chat: list[Any] = [
            {
                "role": "user",
                "content": prompt,
                **({"images": [image]} if with_image else {}),
            }
        ]
        if with_system:
            chat.insert(0, {"role": "system", "content": "Be brief."})
        await ollama_client.chat(
            model=rng.choice(["llava", "qwen2.5vl:7b", "qwen3-vl:8b"]),
            messages=chat,
            options={
                "num_predict": rng.randint(1, 4000),
                "temperature": rng.uniform(0, 1),
            },
        )

    await openai_client.close()
    await anthropic_client.close()
    await gemini_client.aio.aclose()
    gemini_client.close()
    await ollama_client.close()
    for provider in ("openai", "anthropic", "gemini", "ollama"):
        assert simulator.sim.request_count(provider) == 12
        for recorded in simulator.sim.requests[provider]:
            validate_request_body(provider, recorded.json)


# -- the strict type check under the validator -------------------------------------------------


class _Inner(TypedDict):
    kind: Literal["a", 1]
    note: NotRequired[str]


class _Outer(TypedDict, total=False):
    items: Required[Iterable[_Inner]]
    table: Mapping[str, float]
    either: _Inner | None
    model: _Point


class _Point(BaseModel):
    x: int


@pytest.mark.parametrize(
    ("value", "mentions"),
    [
        (
            {
                "items": [{"kind": "a"}, {"kind": 1, "note": "n"}],
                "table": {"k": 1},
                "either": None,
            },
            None,
        ),
        ({"items": [{"kind": "b"}]}, "items[0].kind"),
        ({"items": [{"kind": True}]}, "items[0].kind"),
        ({"items": [{"kind": "a", "nope": 1}]}, "unknown key"),
        ({"items": "a"}, "expected an array"),
        ({}, "missing required key 'items'"),
        ({"items": [], "table": {"k": "x"}}, "table.k"),
        ({"items": [], "table": []}, "expected an object"),
        ({"items": [], "either": {"kind": "z"}}, "either.kind"),
        ({"items": [], "model": {"x": "not a number"}}, "model"),
        ({"items": [], "model": {"x": 3}}, None),
        ([1], "expected an object"),
    ],
)
def test_check_type_is_strict_about_typeddicts(
    value: Any, mentions: str | None
) -> None:
    if mentions is None:
        check_type(value, _Outer)
        return
    with pytest.raises(TypeMismatch, match=re.escape(mentions)):
        check_type(value, _Outer)


def test_check_type_keeps_bool_int_and_float_apart() -> None:
    check_type(1, float)
    check_type(None, None)
    with pytest.raises(TypeMismatch):
        check_type(True, int)
    with pytest.raises(TypeMismatch):
        check_type(1, bool)
    with pytest.raises(TypeMismatch):
        check_type(1, None)
    with pytest.raises(TypeMismatch):
        check_type(1.5, str)
