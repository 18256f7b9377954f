"""What each client puts on the wire and how it reads the answer (fake loopback server)."""

from __future__ import annotations

import base64
import io
from typing import Any

import aiohttp
from PIL import Image
import pytest

from custom_components.aicleaner.providers import AnthropicProvider, GeminiProvider
from custom_components.aicleaner.router.errors import (
    EmptyResponseError,
    MalformedResponseError,
)
from custom_components.aicleaner.router.models import AIRequest, ImageInput, ModelPrice

from .conftest import KEY, FakeServer
from .helpers import KINDS, MODELS, make_client, models_body, success_body


def png_bytes(size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


PNG = png_bytes()
PNG_B64 = base64.b64encode(PNG).decode()


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        ("openai", "/v1/chat/completions"),
        ("openai_compatible", "/v1/chat/completions"),
        ("anthropic", "/v1/messages"),
        ("gemini", "/v1/models/gemini-2.5-flash:generateContent"),
        ("ollama", "/api/chat"),
    ],
)
async def test_completion_posts_to_the_sdk_path_below_the_base_url_prefix(
    fake_server: FakeServer, session: aiohttp.ClientSession, kind: str, path: str
) -> None:
    fake_server.reply(success_body(kind))
    client = make_client(kind, session, fake_server.url + "/gateway")
    await client.complete(AIRequest(prompt="hi"), timeout=5)
    assert fake_server.last.method == "POST"
    assert fake_server.last.path == "/gateway" + path


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        ("openai", "/v1/models"),
        ("openai_compatible", "/v1/models"),
        ("anthropic", "/v1/models"),
        ("gemini", "/v1/models"),
        ("ollama", "/api/tags"),
    ],
)
async def test_health_is_one_free_model_list_call(
    fake_server: FakeServer, session: aiohttp.ClientSession, kind: str, path: str
) -> None:
    fake_server.reply(models_body(kind))
    client = make_client(kind, session, fake_server.url + "/gateway/")
    health = await client.health()
    assert [(r.method, r.path) for r in fake_server.requests] == [
        ("GET", "/gateway" + path)
    ]
    assert fake_server.last.json is None
    assert health.latency_ms >= 0
    assert len(health.models) == 2


async def test_health_lists_model_ids_without_provider_prefixes(
    fake_server: FakeServer, session: aiohttp.ClientSession
) -> None:
    fake_server.reply(models_body("gemini"))
    gemini = make_client("gemini", session, fake_server.url)
    assert (await gemini.health()).models == ("gemini-2.5-flash", "gemini-2.5-pro")
    fake_server.reply(models_body("ollama"))
    ollama = make_client("ollama", session, fake_server.url)
    assert (await ollama.health()).models == ("llava:latest", "llama3.2")


@pytest.mark.parametrize("kind", KINDS)
async def test_completion_reports_text_model_usage_and_cost(
    fake_server: FakeServer, session: aiohttp.ClientSession, kind: str
) -> None:
    fake_server.reply(
        success_body(kind, text="a mug", model=MODELS[kind] + "-2026-01-01")
    )
    client = make_client(
        kind, session, fake_server.url, price_override=ModelPrice(2.0, 8.0)
    )
    completion = await client.complete(AIRequest(prompt="hi"), timeout=5)
    assert completion.text == "a mug"
    assert completion.model == MODELS[kind] + "-2026-01-01"
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (
        1000,
        500,
    )
    assert completion.cost == pytest.approx((1000 * 2.0 + 500 * 8.0) / 1_000_000)
    assert completion.finish_reason in ("stop", "end_turn", "STOP")


async def test_openai_request_for_a_classic_model(
    fake_server: FakeServer, session: aiohttp.ClientSession
) -> None:
    fake_server.reply(success_body("openai"))
    client = make_client("openai", session, fake_server.url, model="gpt-4o-mini")
    request = AIRequest(
        prompt="What is on the table?",
        system_prompt="Be brief.",
        images=(ImageInput(PNG, "image/png"),),
        max_tokens=321,
        temperature=0.2,
    )
    await client.complete(request, timeout=5)
    sent = fake_server.last
    assert sent.headers["Authorization"] == f"Bearer {KEY}"
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.json == {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is on the table?"},
                    {
                        "type": "image_url",
                        # Explicit: "auto" could pick a detail the image bound does not cover.
                        "image_url": {
                            "url": f"data:image/png;base64,{PNG_B64}",
                            "detail": "high",
                        },
                    },
                ],
            },
        ],
        "max_tokens": 321,
        "temperature": 0.2,
    }


@pytest.mark.parametrize(
    "model",
    ["gpt-5", "gpt-5-mini", "gpt-5.4-pro", "o1", "o3-mini", "o4-mini-2025-04-16"],
)
async def test_openai_reasoning_models_get_max_completion_tokens_and_no_temperature(
    fake_server: FakeServer, session: aiohttp.ClientSession, model: str
) -> None:
    fake_server.reply(success_body("openai"))
    client = make_client("openai", session, fake_server.url, model="gpt-4o")
    request = AIRequest(
        prompt="hi", system_prompt="sys", max_tokens=64, temperature=0.7, model=model
    )
    await client.complete(request, timeout=5)
    sent = fake_server.last.json
    assert sent["model"] == model
    assert sent["max_completion_tokens"] == 64
    assert "max_tokens" not in sent
    assert "temperature" not in sent
    assert sent["messages"][0] == {"role": "developer", "content": "sys"}


async def test_openai_text_only_request_sends_plain_string_content(
    fake_server: FakeServer, session: aiohttp.ClientSession
) -> None:
    fake_server.reply(success_body("openai"))
    client = make_client("openai", session, fake_server.url)
    await client.complete(AIRequest(prompt="hi"), timeout=5)
    assert fake_server.last.json["messages"] == [{"role": "user", "content": "hi"}]
    assert "temperature" not in fake_server.last.json


@pytest.mark.parametrize(
    "model", ["llama-3.1-8b-instruct", "openai/gpt-4o", "gpt-5.1", "qwen3-vl"]
)
async def test_openai_compatible_keeps_classic_parameters_for_non_reasoning_models(
    fake_server: FakeServer, session: aiohttp.ClientSession, model: str
) -> None:
    fake_server.reply(success_body("openai_compatible"))
    client = make_client(
        "openai_compatible", session, fake_server.url, model=model, api_key=None
    )
    await client.complete(
        AIRequest(prompt="hi", system_prompt="sys", max_tokens=10, temperature=0.1),
        timeout=5,
    )
    sent = fake_server.last
    assert "Authorization" not in sent.headers
    assert sent.json["max_tokens"] == 10
    assert sent.json["temperature"] == 0.1
    assert sent.json["messages"][0]["role"] == "system"


@pytest.mark.parametrize(
    "model", ["openai/gpt-5-mini", "o3-mini", "openrouter/openai/o4-mini", "gpt-5"]
)
async def test_openai_compatible_omits_temperature_for_openai_reasoning_models(
    fake_server: FakeServer, session: aiohttp.ClientSession, model: str
) -> None:
    fake_server.reply(success_body("openai_compatible"))
    client = make_client("openai_compatible", session, fake_server.url, model=model)
    await client.complete(
        AIRequest(prompt="hi", system_prompt="sys", max_tokens=10, temperature=0.1),
        timeout=5,
    )
    sent = fake_server.last.json
    assert "temperature" not in sent
    # Compatible servers expect the classic spelling, reasoning model or not.
    assert sent["max_tokens"] == 10
    assert "max_completion_tokens" not in sent
    assert sent["messages"][0]["role"] == "system"


def _without_usage(kind: str) -> dict[str, Any]:
    body = success_body(kind, text="fine")
    for field in ("usage", "usageMetadata", "prompt_eval_count", "eval_count"):
        body.pop(field, None)
    return body


def _with_usage_values(kind: str, value: object) -> dict[str, Any]:
    body = success_body(kind, text="fine")
    if kind in ("openai", "openai_compatible"):
        body["usage"]["completion_tokens"] = value
    elif kind == "anthropic":
        body["usage"]["output_tokens"] = value
    elif kind == "gemini":
        body["usageMetadata"]["candidatesTokenCount"] = value
    else:
        body["eval_count"] = value
    return body


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "make_body",
    [
        _without_usage,
        lambda kind: _with_usage_values(kind, "n/a"),
        lambda kind: _with_usage_values(kind, -3),
        lambda kind: _with_usage_values(kind, 2.5),
        lambda kind: _with_usage_values(kind, True),
        lambda kind: _with_usage_values(kind, None),
    ],
    ids=["missing", "text", "negative", "fraction", "bool", "null"],
)
async def test_answer_without_usable_usage_is_served_with_usage_unreported(
    fake_server: FakeServer,
    session: aiohttp.ClientSession,
    kind: str,
    make_body: Any,
) -> None:
    # Booking it at $0 would let spend pass the budget: the router books the reservation instead.
    fake_server.reply(make_body(kind))
    client = make_client(kind, session, fake_server.url)
    completion = await client.complete(AIRequest(prompt="hi"), timeout=5)
    assert completion.text == "fine"
    assert completion.usage_reported is False
    assert completion.cost == 0


@pytest.mark.parametrize(("value", "read"), [("12", 12), (12.0, 12), (0, 0)])
async def test_usage_counts_written_loosely_are_read(
    fake_server: FakeServer, session: aiohttp.ClientSession, value: object, read: int
) -> None:
    fake_server.reply(_with_usage_values("openai_compatible", value))
    client = make_client("openai_compatible", session, fake_server.url)
    completion = await client.complete(AIRequest(prompt="hi"), timeout=5)
    assert completion.usage_reported is True
    assert completion.usage.output_tokens == read


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        (
            "openai",
            {
                "choices": [
                    {
                        "message": {"role": "assistant", "content": None},
                        "finish_reason": "length",
                    }
                ],
                "usage": {"prompt_tokens": 5, "completion_tokens": 64},
            },
        ),
        (
            "openai_compatible",
            {
                "choices": [
                    {
                        "message": {
                            "role": "assistant",
                            "content": None,
                            "tool_calls": [{"id": "c", "type": "function"}],
                        },
                        "finish_reason": "tool_calls",
                    }
                ],
            },
        ),
        (
            "anthropic",
            {
                "content": [],
                "stop_reason": "end_turn",
                "usage": {"input_tokens": 5, "output_tokens": 0},
            },
        ),
        (
            "gemini",
            {
                "candidates": [
                    {"content": {"role": "model"}, "finishReason": "MAX_TOKENS"}
                ],
                "usageMetadata": {"promptTokenCount": 10, "thoughtsTokenCount": 64},
            },
        ),
        (
            "ollama",
            {
                "model": "llava",
                "message": {"role": "assistant", "content": "  \n"},
                "done": True,
                "done_reason": "length",
            },
        ),
    ],
)
async def test_an_answer_with_no_text_is_an_empty_response(
    fake_server: FakeServer,
    session: aiohttp.ClientSession,
    kind: str,
    body: dict[str, Any],
) -> None:
    fake_server.reply(body)
    client = make_client(kind, session, fake_server.url)
    with pytest.raises(EmptyResponseError) as caught:
        await client.complete(AIRequest(prompt="hi", max_tokens=64), timeout=5)
    assert caught.value.category == "empty_response"
    assert caught.value.retryable is False


async def test_content_given_as_text_parts_is_joined(
    fake_server: FakeServer, session: aiohttp.ClientSession
) -> None:
    # Mistral and some gateways send the message content as a list of parts.
    body = success_body("openai_compatible")
    body["choices"][0]["message"]["content"] = [
        {"type": "text", "text": "The kitchen "},
        {"type": "thinking", "thinking": "hmm"},
        {"type": "text", "text": "needs sweeping."},
    ]
    fake_server.reply(body)
    client = make_client("openai_compatible", session, fake_server.url)
    completion = await client.complete(AIRequest(prompt="hi"), timeout=5)
    assert completion.text == "The kitchen needs sweeping."
    assert completion.usage_reported is True


async def test_a_parser_surprised_by_the_body_gives_a_malformed_answer(
    fake_server: FakeServer,
    session: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_server.reply(success_body("openai"))
    client = make_client("openai", session, fake_server.url)

    def surprised(body: object, model: str) -> None:
        raise ValueError("invalid literal for int()")

    monkeypatch.setattr(client, "_parse_completion", surprised)
    with pytest.raises(MalformedResponseError, match="could not be read"):
        await client.complete(AIRequest(prompt="hi"), timeout=5)


async def test_anthropic_request_uses_bearer_auth_current_version_and_base64_blocks(
    fake_server: FakeServer, session: aiohttp.ClientSession
) -> None:
    fake_server.reply(success_body("anthropic"))
    client = make_client("anthropic", session, fake_server.url)
    request = AIRequest(
        prompt="Describe",
        system_prompt="Be brief.",
        images=(ImageInput(PNG, "image/png"),),
        max_tokens=99,
        temperature=0.5,
    )
    await client.complete(request, timeout=5)
    sent = fake_server.last
    assert sent.headers["Authorization"] == f"Bearer {KEY}"
    assert sent.headers["anthropic-version"] == "2026-10-21"
    assert "x-api-key" not in {h.lower() for h in sent.headers}
    assert sent.json == {
        "model": "claude-haiku-4-5",
        "max_tokens": 99,
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "image",
                        "source": {
                            "type": "base64",
                            "media_type": "image/png",
                            "data": PNG_B64,
                        },
                    },
                    {"type": "text", "text": "Describe"},
                ],
            }
        ],
        "system": "Be brief.",
    }


async def test_anthropic_always_sends_max_tokens_and_plain_text_content(
    fake_server: FakeServer, session: aiohttp.ClientSession
) -> None:
    fake_server.reply(success_body("anthropic"))
    client = make_client("anthropic", session, fake_server.url)
    await client.complete(AIRequest(prompt="hi"), timeout=5)
    assert fake_server.last.json == {
        "model": "claude-haiku-4-5",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": "hi"}],
    }


async def test_anthropic_can_authenticate_with_x_api_key_for_older_deployments(
    fake_server: FakeServer, session: aiohttp.ClientSession
) -> None:
    fake_server.reply(success_body("anthropic"))
    client = make_client("anthropic", session, fake_server.url, auth_header="x-api-key")
    await client.complete(AIRequest(prompt="hi"), timeout=5)
    assert fake_server.last.headers["x-api-key"] == KEY
    assert "Authorization" not in fake_server.last.headers


def test_anthropic_rejects_an_unknown_auth_header(
    session: aiohttp.ClientSession,
) -> None:
    with pytest.raises(ValueError, match="auth_header"):
        AnthropicProvider(session, name="a", model="m", auth_header="cookie")


async def test_anthropic_answer_joins_text_blocks_and_skips_thinking(
    fake_server: FakeServer, session: aiohttp.ClientSession
) -> None:
    body = success_body("anthropic")
    body["content"] = [
        {"type": "thinking", "thinking": "hmm", "signature": "x"},
        {"type": "text", "text": "a "},
        {"type": "text", "text": "mug"},
    ]
    fake_server.reply(body)
    client = make_client("anthropic", session, fake_server.url)
    completion = await client.complete(AIRequest(prompt="hi"), timeout=5)
    assert completion.text == "a mug"


async def test_gemini_request_uses_the_api_key_header_and_camel_case_body(
    fake_server: FakeServer, session: aiohttp.ClientSession
) -> None:
    fake_server.reply(success_body("gemini"))
    client = make_client("gemini", session, fake_server.url)
    request = AIRequest(
        prompt="Describe",
        system_prompt="Be brief.",
        images=(ImageInput(PNG, "image/png"),),
        max_tokens=77,
        temperature=0.3,
    )
    await client.complete(request, timeout=5)
    sent = fake_server.last
    assert sent.headers["x-goog-api-key"] == KEY
    assert "key" not in sent.query
    assert sent.json == {
        "contents": [
            {
                "role": "user",
                "parts": [
                    {"inlineData": {"mimeType": "image/png", "data": PNG_B64}},
                    {"text": "Describe"},
                ],
            }
        ],
        "generationConfig": {"maxOutputTokens": 77, "temperature": 0.3},
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
    }


async def test_gemini_accepts_model_names_with_the_models_prefix_and_v1beta(
    fake_server: FakeServer, session: aiohttp.ClientSession
) -> None:
    fake_server.reply(success_body("gemini"))
    client = GeminiProvider(
        session,
        name="g",
        model="models/gemini-2.5-pro",
        api_key=KEY,
        base_url=fake_server.url,
        api_version="v1beta",
    )
    await client.complete(AIRequest(prompt="hi"), timeout=5)
    assert fake_server.last.path == "/v1beta/models/gemini-2.5-pro:generateContent"
    assert fake_server.last.json["generationConfig"] == {"maxOutputTokens": 1024}


async def test_gemini_bills_thinking_tokens_as_output_and_skips_thought_parts(
    fake_server: FakeServer, session: aiohttp.ClientSession
) -> None:
    body = success_body("gemini")
    body["candidates"][0]["content"]["parts"] = [
        {"text": "thinking...", "thought": True},
        {"text": "a mug"},
    ]
    body["usageMetadata"]["thoughtsTokenCount"] = 300
    fake_server.reply(body)
    client = make_client("gemini", session, fake_server.url)
    completion = await client.complete(AIRequest(prompt="hi"), timeout=5)
    assert completion.text == "a mug"
    assert completion.usage.output_tokens == 800


async def test_ollama_request_is_a_non_streaming_chat_with_options(
    fake_server: FakeServer, session: aiohttp.ClientSession
) -> None:
    fake_server.reply(success_body("ollama"))
    client = make_client("ollama", session, fake_server.url)
    request = AIRequest(
        prompt="Describe",
        system_prompt="Be brief.",
        images=(ImageInput(PNG, "image/png"),),
        max_tokens=55,
        temperature=0.4,
    )
    await client.complete(request, timeout=5)
    sent = fake_server.last
    assert "Authorization" not in sent.headers
    assert sent.json == {
        "model": "llava",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Describe", "images": [PNG_B64]},
        ],
        "stream": False,
        "options": {"num_predict": 55, "temperature": 0.4},
    }


async def test_ollama_sends_an_optional_key_as_bearer(
    fake_server: FakeServer, session: aiohttp.ClientSession
) -> None:
    fake_server.reply(success_body("ollama"))
    client = make_client("ollama", session, fake_server.url, api_key=KEY)
    await client.complete(AIRequest(prompt="hi"), timeout=5)
    assert fake_server.last.headers["Authorization"] == f"Bearer {KEY}"
    assert fake_server.last.json["options"] == {"num_predict": 1024}


@pytest.mark.parametrize("kind", KINDS)
async def test_validate_credentials_passes_with_a_working_key(
    fake_server: FakeServer, session: aiohttp.ClientSession, kind: str
) -> None:
    fake_server.reply(models_body(kind))
    client = make_client(kind, session, fake_server.url)
    await client.validate_credentials()
    assert len(fake_server.requests) == 1


@pytest.mark.parametrize("kind", KINDS)
async def test_client_reuses_the_injected_session(
    fake_server: FakeServer, session: aiohttp.ClientSession, kind: str
) -> None:
    fake_server.reply(success_body(kind))
    client = make_client(kind, session, fake_server.url)
    for _ in range(3):
        await client.complete(AIRequest(prompt="hi"), timeout=5)
    assert not session.closed
    assert len(fake_server.requests) == 3


async def test_json_with_leading_whitespace_is_still_json(
    fake_server: FakeServer, session: aiohttp.ClientSession
) -> None:
    import json

    fake_server.reply(text="\n  " + json.dumps(success_body("ollama", text="ok")))
    client = make_client("ollama", session, fake_server.url)
    assert (await client.complete(AIRequest(prompt="hi"), timeout=5)).text == "ok"


@pytest.mark.parametrize("model", ["gpt-5.1", "gpt-5.4-mini", "gpt-6-sol"])
async def test_openai_models_without_default_reasoning_keep_their_temperature(
    fake_server: FakeServer, session: aiohttp.ClientSession, model: str
) -> None:
    fake_server.reply(success_body("openai"))
    client = make_client("openai", session, fake_server.url, model=model)
    await client.complete(
        AIRequest(prompt="hi", max_tokens=64, temperature=0.7), timeout=5
    )
    sent = fake_server.last.json
    assert sent["max_completion_tokens"] == 64
    assert "max_tokens" not in sent
    assert sent["temperature"] == 0.7


# 200 answers whose body lacks or mangles what the client needs.
@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("openai", {"choices": ["nope"]}),
        ("openai", {"choices": [{"message": "nope"}]}),
        ("openai", {"choices": [{"message": {"content": ["not", "text"]}}]}),
        ("openai", {"choices": [{"message": {"content": {"text": "x"}}}]}),
        (
            "anthropic",
            {"content": "text", "usage": {"input_tokens": 1, "output_tokens": 1}},
        ),
        (
            "gemini",
            {
                "candidates": [{"content": {}, "finishReason": "STOP"}],
                "usageMetadata": {},
            },
        ),
        ("gemini", {"candidates": []}),
        ("ollama", {"model": "llava", "done": True}),
        (
            "ollama",
            {
                "model": "llava",
                "message": {"role": "assistant", "content": "par"},
                "done": False,
            },
        ),
        (
            "ollama",
            {
                "model": "llava",
                "message": {"role": "assistant", "content": 3},
                "done": True,
            },
        ),
    ],
)
async def test_incomplete_answer_is_malformed(
    fake_server: FakeServer,
    session: aiohttp.ClientSession,
    kind: str,
    body: dict[str, object],
) -> None:
    fake_server.reply(body)
    client = make_client(kind, session, fake_server.url)
    with pytest.raises(MalformedResponseError):
        await client.complete(AIRequest(prompt="hi"), timeout=5)
