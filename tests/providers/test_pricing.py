"""Prices come from the table, resolve dated snapshots and families, and never make a cloud call free."""

from __future__ import annotations

import aiohttp
import pytest

from custom_components.aicleaner.providers import create_provider
from custom_components.aicleaner.providers.pricing import (
    ANTHROPIC_DEFAULT,
    GEMINI_DEFAULT,
    OPENAI_DEFAULT,
    PRICES_TAKEN_ON,
    anthropic_price,
    compatible_price,
    gemini_price,
    ollama_price,
    openai_price,
)
from custom_components.aicleaner.router.models import FREE, ModelPrice


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-4o-mini", ModelPrice(0.15, 0.60)),
        ("gpt-4o-mini-2024-07-18", ModelPrice(0.15, 0.60)),
        ("gpt-4o-2024-08-06", ModelPrice(2.50, 10.00)),
        ("gpt-5-mini", ModelPrice(0.25, 2.00)),
        ("GPT-5.4-Mini", ModelPrice(0.75, 4.50)),
        ("gpt-6-luna", ModelPrice(0.10, 0.50)),
        ("o4-mini-2025-04-16", ModelPrice(1.10, 4.40)),
        ("gpt-7-mini", ModelPrice(1.10, 4.40)),
        ("gpt-7-nano", ModelPrice(0.20, 1.25)),
        ("gpt-7-sol", ModelPrice(4.00, 20.00)),
        ("brand-new-model", OPENAI_DEFAULT),
    ],
)
def test_openai_prices(model: str, expected: ModelPrice) -> None:
    assert openai_price(model) == expected


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("claude-haiku-4-5", ModelPrice(1.00, 5.00)),
        ("claude-haiku-4-5-20251001", ModelPrice(1.00, 5.00)),
        ("claude-sonnet-4-5-20250929", ModelPrice(3.00, 15.00)),
        ("claude-opus-4-1", ModelPrice(15.00, 75.00)),
        ("claude-opus-4-5", ModelPrice(5.00, 25.00)),
        ("claude-sonnet-9", ModelPrice(3.00, 15.00)),
        ("claude-haiku-9", ModelPrice(1.00, 5.00)),
        ("claude-something", ANTHROPIC_DEFAULT),
    ],
)
def test_anthropic_prices(model: str, expected: ModelPrice) -> None:
    assert anthropic_price(model) == expected


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gemini-2.5-flash", ModelPrice(0.30, 2.50)),
        ("models/gemini-2.5-flash", ModelPrice(0.30, 2.50)),
        ("gemini-2.5-flash-lite", ModelPrice(0.10, 0.40)),
        ("gemini-2.5-pro", ModelPrice(1.25, 10.00)),
        ("gemini-3.1-pro-preview", ModelPrice(2.00, 12.00)),
        ("gemini-9-flash-lite", ModelPrice(0.25, 1.50)),
        ("gemini-9-flash", ModelPrice(1.50, 9.00)),
        ("gemma-3", GEMINI_DEFAULT),
    ],
)
def test_gemini_prices(model: str, expected: ModelPrice) -> None:
    assert gemini_price(model) == expected


def test_ollama_is_free() -> None:
    assert ollama_price("llama3.2") == FREE


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("openai/gpt-4o-mini", ModelPrice(0.15, 0.60)),
        ("anthropic/claude-sonnet-4-5", ModelPrice(3.00, 15.00)),
        ("google/gemini-2.5-flash", ModelPrice(0.30, 2.50)),
        ("meta-llama/llama-3.1-70b-instruct", OPENAI_DEFAULT),
    ],
)
def test_gateway_models_keep_first_party_prices(
    model: str, expected: ModelPrice
) -> None:
    assert compatible_price(model) == expected


@pytest.mark.parametrize(
    "pricer", [openai_price, anthropic_price, gemini_price, compatible_price]
)
@pytest.mark.parametrize("model", ["", "x", "unknown-model-2030", "vendor/unknown"])
def test_unknown_cloud_model_is_never_free(pricer: object, model: str) -> None:
    price = pricer(model)  # type: ignore[operator]
    assert price.input_per_mtok > 0
    assert price.output_per_mtok > 0


def test_the_date_prices_were_taken_is_recorded() -> None:
    assert PRICES_TAKEN_ON == "2026-11-26"


def test_price_override_applies_to_the_configured_model_only(
    session: aiohttp.ClientSession,
) -> None:
    override = ModelPrice(9.0, 99.0)
    client = create_provider(
        "openai",
        session,
        name="o",
        model="gpt-4o",
        api_key="k",
        price_override=override,
    )
    assert client.price() == override
    assert client.price("gpt-4o") == override
    assert client.price("gpt-4o-mini") == ModelPrice(0.15, 0.60)


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("http://192.168.1.20:8000/v1", FREE),
        ("http://localhost:1234/v1", FREE),
        ("https://openrouter.ai/api/v1", ModelPrice(0.15, 0.60)),
    ],
)
def test_compatible_price_depends_on_where_it_runs(
    session: aiohttp.ClientSession, base_url: str, expected: ModelPrice
) -> None:
    client = create_provider(
        "openai_compatible",
        session,
        name="c",
        model="openai/gpt-4o-mini",
        base_url=base_url,
    )
    assert client.price() == expected


def test_ollama_price_can_be_overridden(session: aiohttp.ClientSession) -> None:
    client = create_provider(
        "ollama",
        session,
        name="o",
        model="llava",
        price_override=ModelPrice(0.01, 0.01),
    )
    assert client.price() == ModelPrice(0.01, 0.01)
    assert client.price("llama3.2") == FREE
