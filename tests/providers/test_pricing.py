"""Prices come from the table, resolve dated snapshots and families, and never make a cloud call free."""

from __future__ import annotations

import aiohttp
import pytest

from custom_components.aicleaner.providers import create_provider
from custom_components.aicleaner.providers.pricing import (
    ANTHROPIC_DEFAULT,
    ANTHROPIC_FAMILIES,
    ANTHROPIC_PRICES,
    GEMINI_DEFAULT,
    GEMINI_FAMILIES,
    GEMINI_PRICES,
    OPENAI_DEFAULT,
    OPENAI_FAMILIES,
    OPENAI_PRICES,
    PRICES_TAKEN_ON,
    anthropic_price,
    compatible_price,
    gemini_price,
    highest,
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
        # An unknown family member: the family's most expensive member, input and output.
        ("gpt-7-mini", ModelPrice(1.10, 4.50)),
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
        # Both the flash-lite and the flash family fit the name: the higher of the two.
        ("gemini-9-flash-lite", ModelPrice(1.50, 9.00)),
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


# List prices (USD per million input / output tokens) from the providers' pricing pages, for
# models whose names contain a cheaper model's name.
PUBLISHED = {
    "o1-pro": ModelPrice(150.00, 600.00),
    "o1-pro-2025-03-19": ModelPrice(150.00, 600.00),
    "gpt-4": ModelPrice(30.00, 60.00),
    "gpt-4-0613": ModelPrice(30.00, 60.00),
    "gpt-4-32k": ModelPrice(60.00, 120.00),
    "gpt-4-turbo": ModelPrice(10.00, 30.00),
    "gpt-4-turbo-2024-04-09": ModelPrice(10.00, 30.00),
    "gpt-4-vision-preview": ModelPrice(10.00, 30.00),
    "gpt-3.5-turbo-0613": ModelPrice(1.50, 2.00),
    "gpt-5.4-mini": ModelPrice(0.75, 4.50),
    "o1-preview": ModelPrice(15.00, 60.00),
    "claude-3-opus-20240229": ModelPrice(15.00, 75.00),
    "claude-3-7-sonnet-20250219": ModelPrice(3.00, 15.00),
}


def _at_least(price: ModelPrice, published: ModelPrice) -> bool:
    return (
        price.input_per_mtok >= published.input_per_mtok
        and price.output_per_mtok >= published.output_per_mtok
    )


@pytest.mark.parametrize(("model", "published"), PUBLISHED.items())
def test_a_model_is_never_priced_at_a_cheaper_relatives_figure(
    model: str, published: ModelPrice
) -> None:
    pricer = anthropic_price if model.startswith("claude") else openai_price
    assert _at_least(pricer(model), published)
    # Through a gateway, with or without the vendor's prefix.
    vendor = "anthropic" if model.startswith("claude") else "openai"
    assert _at_least(compatible_price(f"{vendor}/{model}"), published)
    assert _at_least(compatible_price(model), published)


def test_every_catalog_model_is_priced_at_least_at_its_list_price() -> None:
    from custom_components.aicleaner.providers import catalog

    for prefix, _vision, _context in catalog._OPENAI_MODELS:
        price = openai_price(prefix)
        if prefix in PUBLISHED:
            assert _at_least(price, PUBLISHED[prefix]), prefix
        # A catalog model either has its own entry or is priced at the flagship or above.
        assert prefix in OPENAI_PRICES or _at_least(price, OPENAI_DEFAULT), prefix


@pytest.mark.parametrize(
    ("table", "families"),
    [
        (OPENAI_PRICES, OPENAI_FAMILIES),
        (ANTHROPIC_PRICES, ANTHROPIC_FAMILIES),
        (GEMINI_PRICES, GEMINI_FAMILIES),
    ],
)
def test_a_family_is_never_priced_below_one_of_its_members(
    table: dict[str, ModelPrice], families: tuple[tuple[str, ModelPrice], ...]
) -> None:
    for word, family in families:
        members = [price for model, price in table.items() if word in model]
        assert members, word
        assert all(_at_least(family, member) for member in members), word


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        # A known model's name plus more is another model: never its cheaper relative's price.
        ("gpt-5.6", OPENAI_DEFAULT),
        ("o1-ultra", ModelPrice(15.00, 60.00)),
        ("gpt-4o-mini-search-preview", OPENAI_DEFAULT),
    ],
)
def test_an_unknown_model_named_after_a_known_one_gets_at_least_the_default(
    model: str, expected: ModelPrice
) -> None:
    assert openai_price(model) == highest(expected, OPENAI_DEFAULT)
