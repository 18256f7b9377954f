"""Capabilities, locality and the provider registry."""

from __future__ import annotations

import math

import aiohttp
import pytest

from custom_components.aicleaner.providers import (
    PROVIDER_CLASSES,
    PROVIDER_KINDS,
    AnthropicProvider,
    GeminiProvider,
    OllamaProvider,
    OpenAICompatibleProvider,
    OpenAIProvider,
    create_provider,
)
from custom_components.aicleaner.providers.catalog import (
    compatible_capabilities,
    gemini_capabilities,
    openai_capabilities,
)
from custom_components.aicleaner.providers.locality import is_private_host
from custom_components.aicleaner.providers.openai import (
    CLASSIC_RULES,
    NO_EFFORT_RULES,
    REASONING_RULES,
    parameter_rules,
)
from custom_components.aicleaner.router.models import Provider


@pytest.mark.parametrize(
    ("kind", "cls"),
    [
        ("openai", OpenAIProvider),
        ("anthropic", AnthropicProvider),
        ("gemini", GeminiProvider),
        ("ollama", OllamaProvider),
        ("openai_compatible", OpenAICompatibleProvider),
    ],
)
def test_factory_builds_each_kind(
    session: aiohttp.ClientSession, kind: str, cls: type
) -> None:
    client = create_provider(
        kind,
        session,
        name=f"n-{kind}",
        model="m",
        api_key="k",
        base_url="http://h:1/v1",
    )
    assert type(client) is cls
    assert PROVIDER_CLASSES[kind] is cls
    assert isinstance(client, Provider)
    assert (client.name, client.kind, client.model) == (f"n-{kind}", kind, "m")
    assert client.base_url == "http://h:1/v1"


def test_registry_lists_the_five_kinds() -> None:
    assert PROVIDER_KINDS == (
        "openai",
        "anthropic",
        "gemini",
        "ollama",
        "openai_compatible",
    )


def test_factory_rejects_an_unknown_kind(session: aiohttp.ClientSession) -> None:
    with pytest.raises(ValueError, match="unknown provider kind"):
        create_provider("mistral", session, name="x", model="m")


def test_openai_compatible_needs_a_base_url(session: aiohttp.ClientSession) -> None:
    with pytest.raises(ValueError, match="base URL"):
        create_provider("openai_compatible", session, name="x", model="m")


@pytest.mark.parametrize(
    ("kind", "url"),
    [
        ("openai", "https://api.openai.com/v1"),
        ("anthropic", "https://api.anthropic.com"),
        ("gemini", "https://generativelanguage.googleapis.com"),
        ("ollama", "http://localhost:11434"),
    ],
)
def test_default_base_urls_are_the_official_ones(
    session: aiohttp.ClientSession, kind: str, url: str
) -> None:
    client = create_provider(kind, session, name="x", model="m", api_key="k")
    assert client.base_url == url


@pytest.mark.parametrize(
    ("model", "rules"),
    [
        ("gpt-4o", CLASSIC_RULES),
        ("gpt-4.1-mini", CLASSIC_RULES),
        ("gpt-3.5-turbo", CLASSIC_RULES),
        ("gpt-5", REASONING_RULES),
        ("gpt-5-chat-latest", REASONING_RULES),
        ("gpt-5-2025-08-07", REASONING_RULES),
        ("gpt-5.1", NO_EFFORT_RULES),
        ("gpt-5.4-mini-2026-03-17", NO_EFFORT_RULES),
        ("gpt-5.4-pro", REASONING_RULES),
        ("gpt-6.2-astra", NO_EFFORT_RULES),
        ("o1", REASONING_RULES),
        ("o3-mini", REASONING_RULES),
        ("o4-mini", REASONING_RULES),
        ("openai/o3", REASONING_RULES),
    ],
)
def test_openai_parameter_rules_by_model_family(model: str, rules: object) -> None:
    assert parameter_rules(model) is rules


@pytest.mark.parametrize(
    ("kind", "model", "vision", "context", "max_bytes", "max_dimension"),
    [
        ("openai", "gpt-4o-mini", True, 128_000, 20_000_000, 2048),
        ("openai", "gpt-4.1", True, 1_047_576, 20_000_000, 2048),
        ("openai", "gpt-5-mini", True, 400_000, 20_000_000, 2048),
        ("openai", "gpt-3.5-turbo", False, 16_385, 20_000_000, 2048),
        ("openai", "o3-mini", False, 200_000, 20_000_000, 2048),
        ("openai", "gpt-4", False, 8_192, 20_000_000, 2048),
        ("openai", "future-model", True, 128_000, 20_000_000, 2048),
        ("anthropic", "claude-haiku-4-5", True, 200_000, 3_750_000, 1568),
        ("anthropic", "claude-3-5-haiku-latest", False, 200_000, 3_750_000, 1568),
        ("anthropic", "claude-sonnet-4-6", True, 1_000_000, 3_750_000, 1568),
        ("gemini", "gemini-2.5-flash", True, 1_048_576, 7_000_000, 3072),
        ("ollama", "llava:13b", True, 4096, 10_000_000, 1568),
        ("ollama", "llama3.2-vision", True, 4096, 10_000_000, 1568),
        ("ollama", "llama3.2", False, 4096, 10_000_000, 1568),
        ("openai_compatible", "openai/gpt-4o", True, 128_000, 10_000_000, 1568),
        (
            "openai_compatible",
            "anthropic/claude-sonnet-4-5",
            True,
            200_000,
            10_000_000,
            1568,
        ),
        (
            "openai_compatible",
            "google/gemini-2.5-pro",
            True,
            1_048_576,
            10_000_000,
            1568,
        ),
        (
            "openai_compatible",
            "Qwen/Qwen2.5-VL-7B-Instruct",
            True,
            32_768,
            10_000_000,
            1568,
        ),
        (
            "openai_compatible",
            "meta-llama/Llama-3.1-8B",
            False,
            32_768,
            10_000_000,
            1568,
        ),
    ],
)
def test_capabilities_per_provider_and_model(  # noqa: PLR0917
    session: aiohttp.ClientSession,
    kind: str,
    model: str,
    vision: bool,
    context: int,
    max_bytes: int,
    max_dimension: int,
) -> None:
    client = create_provider(
        kind, session, name="x", model=model, base_url="http://h/v1"
    )
    caps = client.capabilities()
    assert (caps.vision, caps.context_window) == (vision, context)
    assert (caps.max_image_bytes, caps.max_image_dimension) == (
        max_bytes,
        max_dimension,
    )
    assert caps.tokens_per_image > 0


def test_user_settings_override_vision_and_context(
    session: aiohttp.ClientSession,
) -> None:
    client = create_provider(
        "ollama",
        session,
        name="x",
        model="my-custom-model",
        vision=True,
        context_window=32_768,
    )
    caps = client.capabilities()
    assert caps.vision is True
    assert caps.context_window == 32_768
    no_vision = create_provider(
        "openai", session, name="y", model="gpt-4o", vision=False
    )
    assert no_vision.capabilities().vision is False
    assert no_vision.capabilities().context_window == 128_000


def test_capabilities_of_another_model_on_the_same_provider(
    session: aiohttp.ClientSession,
) -> None:
    client = create_provider("openai", session, name="x", model="gpt-4o")
    assert client.capabilities("gpt-3.5-turbo").vision is False


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://localhost:1234/v1", True),
        ("http://127.0.0.1:8000", True),
        ("http://[::1]:8000", True),
        ("http://[::ffff:192.168.1.2]:80", True),
        ("http://10.0.0.5/v1", True),
        ("http://172.16.3.4/v1", True),
        ("http://192.168.178.20:11434", True),
        ("http://169.254.10.10", True),
        ("http://100.101.102.103:8000", True),
        ("http://[fd00::12]:8000", True),
        ("http://ollama:11434", True),
        ("http://nas.local:8000", True),
        ("http://llm.home.arpa", True),
        ("http://box.lan/v1", True),
        ("http://api.localhost", True),
        ("https://openrouter.ai/api/v1", False),
        ("https://api.groq.com/openai/v1", False),
        ("http://8.8.8.8/v1", False),
        ("http://[2606:4700:4700::1111]/v1", False),
        ("not a url", False),
    ],
)
def test_locality_rule(url: str, local: bool) -> None:
    assert is_private_host(url) is local


@pytest.mark.parametrize(
    ("kind", "url", "local"),
    [
        ("openai", "http://127.0.0.1:9000/v1", False),
        ("anthropic", None, False),
        ("gemini", None, False),
        ("ollama", None, True),
        ("ollama", "http://192.168.1.5:11434", True),
        ("ollama", "https://gpu-box.example.com", True),
        ("ollama", "https://ollama.com", False),
        ("ollama", "https://api.ollama.com", False),
        # Unstated, even a private host is taken as a gateway (see test_pricing).
        ("openai_compatible", "http://192.168.1.5:8000/v1", False),
        ("openai_compatible", "https://openrouter.ai/api/v1", False),
    ],
)
def test_is_local_per_kind(
    session: aiohttp.ClientSession, kind: str, url: str | None, local: bool
) -> None:
    client = create_provider(kind, session, name="x", model="m", base_url=url)
    assert client.is_local is local


def _openai_tile_tokens(width: int, height: int, base: int, tile: int) -> int:
    """OpenAI's published "high" detail accounting for tile models."""
    scale = min(1.0, 2048 / max(width, height))
    width, height = width * scale, height * scale
    scale = min(1.0, 768 / min(width, height))
    width, height = width * scale, height * scale
    return base + tile * math.ceil(width / 512) * math.ceil(height / 512)


def _openai_patch_tokens(width: int, height: int, multiplier: float) -> int:
    """OpenAI's published accounting for patch models: 32 px patches, at most 1536."""
    patches = math.ceil(width / 32) * math.ceil(height / 32)
    if patches > 1536:
        shrink = math.sqrt(1536 / patches)
        patches = min(
            1536, math.ceil(width * shrink / 32) * math.ceil(height * shrink / 32)
        )
    return math.ceil(patches * multiplier)


@pytest.mark.parametrize(
    ("model", "formula"),
    [
        ("gpt-4o", lambda w, h: _openai_tile_tokens(w, h, 85, 170)),
        ("gpt-4.1", lambda w, h: _openai_tile_tokens(w, h, 85, 170)),
        ("gpt-4o-mini", lambda w, h: _openai_tile_tokens(w, h, 2833, 5667)),
        ("o3", lambda w, h: _openai_tile_tokens(w, h, 75, 150)),
        ("gpt-5", lambda w, h: _openai_tile_tokens(w, h, 70, 140)),
        ("gpt-5-mini", lambda w, h: _openai_patch_tokens(w, h, 1.62)),
        ("gpt-4.1-nano", lambda w, h: _openai_patch_tokens(w, h, 2.46)),
        ("o4-mini", lambda w, h: _openai_patch_tokens(w, h, 1.72)),
    ],
)
def test_openai_image_token_bound_covers_what_openai_bills(model, formula) -> None:
    # The router reserves budget with this bound: no image within our 2048 px cap may cost more.
    bound = openai_capabilities(model).tokens_per_image
    sizes = [(w, h) for w in range(64, 2049, 64) for h in range(64, 2049, 64)]
    assert max(formula(w, h) for w, h in sizes) <= bound


def _gemini_tokens(width: int, height: int) -> int:
    """Gemini 2.x accounting: 258 tokens up to 384 px, else 258 per tile of short side / 1.5."""
    if width <= 384 and height <= 384:
        return 258
    tile = min(max(min(width, height) / 1.5, 256), 768)
    return 258 * math.ceil(width / tile) * math.ceil(height / tile)


def test_gemini_image_token_bound_covers_any_image_within_our_cap() -> None:
    bound = gemini_capabilities("gemini-2.5-flash").tokens_per_image
    cap = gemini_capabilities("gemini-2.5-flash").max_image_dimension
    sizes = [(w, h) for w in range(32, cap + 1, 32) for h in range(32, cap + 1, 32)]
    assert max(_gemini_tokens(w, h) for w, h in sizes) <= bound


@pytest.mark.parametrize(
    "model", ["openai/gpt-4o-mini", "gpt-4o-mini", "qwen2.5-vl", "gemini-2.5-pro"]
)
def test_gateway_image_token_bound_covers_the_first_party_accounting(
    model: str,
) -> None:
    caps = compatible_capabilities(model)
    cap = caps.max_image_dimension
    sizes = [(w, h) for w in range(64, cap + 1, 64) for h in range(64, cap + 1, 64)]
    bills = [_gemini_tokens(w, h) for w, h in sizes]
    bills += [_openai_patch_tokens(w, h, 2.46) for w, h in sizes]
    if "gpt-4o-mini" in model:
        bills += [_openai_tile_tokens(w, h, 2833, 5667) for w, h in sizes]
    worst = max(bills)
    assert worst <= caps.tokens_per_image


def test_a_vision_override_keeps_the_models_other_facts(
    session: aiohttp.ClientSession,
) -> None:
    client = create_provider(
        "ollama", session, name="o", model="gpt-oss:120b-cloud", vision=True
    )
    caps = client.capabilities()
    assert caps.vision is True
    assert caps.runs_in_cloud is True
