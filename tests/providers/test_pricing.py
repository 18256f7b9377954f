"""Prices come from the table, resolve dated snapshots and families, and never make a cloud call free."""

from __future__ import annotations

from datetime import date
from typing import Any

import aiohttp
from hypothesis import given, strategies as st
import pytest

from custom_components.aicleaner.providers import create_provider, pricing
from custom_components.aicleaner.providers.catalog import is_retired, retirement_date
from custom_components.aicleaner.providers.pricing import (
    ANTHROPIC_DEFAULT,
    ANTHROPIC_FAMILIES,
    ANTHROPIC_PRICES,
    COMPATIBLE_DEFAULT,
    GEMINI_DEFAULT,
    GEMINI_FAMILIES,
    GEMINI_PRICES,
    OPENAI_DEFAULT,
    OPENAI_FAMILIES,
    OPENAI_PRICES,
    PRICES_TAKEN_ON,
    Dated,
    PriceEntry,
    anthropic_price,
    compatible_price,
    gemini_price,
    highest,
    ollama_price,
    openai_price,
    price_on,
    upper,
)
from custom_components.aicleaner.router.models import FREE, ModelPrice, PriceTier


def _flat(price: ModelPrice) -> ModelPrice:
    """The short-context rates of a price (tiers are tested on their own)."""
    return ModelPrice(price.input_per_mtok, price.output_per_mtok)


def _current(model: str) -> bool:
    """Whether `model` still answered on the day the prices were taken."""
    retired = retirement_date(model)
    return retired is None or retired > date.fromisoformat(PRICES_TAKEN_ON)


def _costs_at_least(price: ModelPrice, other: ModelPrice) -> bool:
    """Whether `price` costs at least `other` at every input size (tiers included)."""
    sizes = {0, 1} | {
        tier.above_input_tokens + delta
        for item in (price, other)
        for tier in item.tiers
        for delta in (0, 1)
    }
    return all(
        price.rates(size)[0] >= other.rates(size)[0]
        and price.rates(size)[1] >= other.rates(size)[1]
        for size in sizes
    )


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-4o-mini", ModelPrice(0.15, 0.60)),
        ("gpt-4o-mini-2024-07-18", ModelPrice(0.15, 0.60)),
        ("gpt-4o-2024-08-06", ModelPrice(2.50, 10.00)),
        ("gpt-5-mini", ModelPrice(0.25, 2.00)),
        ("GPT-5.4-Mini", ModelPrice(0.75, 4.50)),
        ("gpt-6-luna", ModelPrice(0.10, 0.50)),
        ("gpt-5.6", ModelPrice(4.00, 20.00)),
        ("gpt-5.6-cyber-2026-11-01", ModelPrice(12.50, 75.00)),
        ("gpt-6-rosalind", ModelPrice(15.00, 75.00)),
        ("gpt-6-cyber", ModelPrice(20.00, 100.00)),
        ("gpt-6.1-terra", ModelPrice(1.00, 5.00)),
        ("o4-mini-2025-04-16", ModelPrice(1.10, 4.40)),
        # An unknown family member: the family's most expensive current member, input and output
        # (the retired o-series minis at 1.10 / 4.40 no longer count).
        ("gpt-7-mini", ModelPrice(0.75, 4.50)),
        ("gpt-7-nano", ModelPrice(0.20, 1.25)),
        ("gpt-7-cyber", ModelPrice(20.00, 100.00)),
        ("brand-new-model", _flat(OPENAI_DEFAULT)),
    ],
)
def test_openai_prices(model: str, expected: ModelPrice) -> None:
    assert _flat(openai_price(model)) == expected


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
        ("claude-opus-9", ModelPrice(5.00, 25.00)),
        ("claude-something", ANTHROPIC_DEFAULT),
    ],
)
def test_anthropic_prices(model: str, expected: ModelPrice) -> None:
    assert _flat(anthropic_price(model)) == expected


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gemini-2.5-flash", ModelPrice(0.30, 2.50)),
        ("models/gemini-2.5-flash", ModelPrice(0.30, 2.50)),
        ("gemini-2.5-flash-lite", ModelPrice(0.10, 0.40)),
        ("gemini-2.5-pro", ModelPrice(1.25, 10.00)),
        ("gemini-3.1-pro-preview", ModelPrice(2.00, 12.00)),
        ("gemini-3.5-flash-lite", ModelPrice(0.30, 2.50)),
        ("gemini-3.7-flash", ModelPrice(0.75, 3.75)),
        ("gemini-4-hydrogen", ModelPrice(1.50, 7.50)),
        # Both the flash-lite and the flash family fit the name: the higher of the two.
        ("gemini-9-flash-lite", ModelPrice(1.50, 9.00)),
        ("gemini-9-flash", ModelPrice(1.50, 9.00)),
        ("gemma-3", GEMINI_DEFAULT),
    ],
)
def test_gemini_prices(model: str, expected: ModelPrice) -> None:
    assert _flat(gemini_price(model)) == expected


def test_ollama_is_free() -> None:
    assert ollama_price("llama3.2") == FREE


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("openai/gpt-4o-mini", ModelPrice(0.15, 0.60)),
        ("anthropic/claude-sonnet-4-5", ModelPrice(3.00, 15.00)),
        ("google/gemini-2.5-flash", ModelPrice(0.30, 2.50)),
        ("meta-llama/llama-3.1-70b-instruct", COMPATIBLE_DEFAULT),
    ],
)
def test_gateway_models_keep_first_party_prices(
    model: str, expected: ModelPrice
) -> None:
    assert _flat(compatible_price(model)) == _flat(expected)


@pytest.mark.parametrize(
    "pricer", [openai_price, anthropic_price, gemini_price, compatible_price]
)
@pytest.mark.parametrize("model", ["", "x", "unknown-model-2030", "vendor/unknown"])
def test_unknown_cloud_model_is_never_free(pricer: object, model: str) -> None:
    price = pricer(model)  # type: ignore[operator]
    assert price.input_per_mtok > 0
    assert price.output_per_mtok > 0


def test_the_date_prices_were_taken_is_recorded() -> None:
    assert PRICES_TAKEN_ON == "2026-12-01"


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
    ("base_url", "runs_models", "expected"),
    [
        ("http://192.168.1.20:8000/v1", True, FREE),
        ("https://gpu.example.com/v1", True, FREE),
        # A private host proves nothing: a LiteLLM proxy on loopback forwards to paid models.
        ("http://localhost:4000/v1", False, ModelPrice(0.15, 0.60)),
        ("http://localhost:4000/v1", None, ModelPrice(0.15, 0.60)),
        ("https://openrouter.ai/api/v1", None, ModelPrice(0.15, 0.60)),
    ],
)
def test_compatible_price_follows_what_the_user_said_the_server_does(
    session: aiohttp.ClientSession,
    base_url: str,
    runs_models: bool | None,
    expected: ModelPrice,
) -> None:
    client = create_provider(
        "openai_compatible",
        session,
        name="c",
        model="openai/gpt-4o-mini",
        base_url=base_url,
        runs_models=runs_models,
    )
    assert client.price() == expected
    assert client.is_local is (runs_models is True)


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
def test_a_family_is_never_priced_below_one_of_its_current_members(
    table: dict[str, PriceEntry], families: tuple[tuple[str, ModelPrice], ...]
) -> None:
    for word, family in families:
        members = [
            upper(entry)
            for model, entry in table.items()
            if word in model and _current(model)
        ]
        assert members, word
        assert all(_costs_at_least(family, member) for member in members), word


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        # A known model's name plus more is another model: never its cheaper relative's price.
        ("gpt-5.7", OPENAI_DEFAULT),
        ("o1-ultra", ModelPrice(15.00, 60.00)),
        # The longest known name it starts with sets the floor: o1-pro's, not o1's (o1-pro is
        # retired, so the default no longer covers it).
        ("o1-pro-max", ModelPrice(150.00, 600.00)),
        ("gpt-4o-mini-search-preview", OPENAI_DEFAULT),
    ],
)
def test_an_unknown_model_named_after_a_known_one_gets_at_least_the_default(
    model: str, expected: ModelPrice
) -> None:
    assert openai_price(model) == highest(expected, OPENAI_DEFAULT)


# --- Never under-price: every simulator model and a set of unknown ids, against published prices ---

# Short-context list prices (USD per million input / output tokens) as LiteLLM 1.110.2's
# model_prices_and_context_window.json and the providers' pricing pages give them, checked on
# PRICES_TAKEN_ON; tiers in LONG_CONTEXT below.
LIST_PRICES = {
    "gpt-4o": ModelPrice(2.50, 10.00),
    "gpt-4o-mini": ModelPrice(0.15, 0.60),
    "gpt-4.1": ModelPrice(2.00, 8.00),
    "gpt-4.1-mini": ModelPrice(0.40, 1.60),
    "gpt-4.1-nano": ModelPrice(0.10, 0.40),
    "gpt-5": ModelPrice(1.25, 10.00),
    "gpt-5-mini": ModelPrice(0.25, 2.00),
    "gpt-5-nano": ModelPrice(0.05, 0.40),
    "gpt-5.1": ModelPrice(1.25, 10.00),
    "gpt-5.2": ModelPrice(1.75, 14.00),
    "gpt-5.4": ModelPrice(2.50, 15.00),
    "gpt-5.4-mini": ModelPrice(0.75, 4.50),
    "gpt-5.4-nano": ModelPrice(0.20, 1.25),
    "gpt-5.5": ModelPrice(5.00, 30.00),
    "gpt-5.6": ModelPrice(4.00, 20.00),
    "gpt-5.6-cyber": ModelPrice(12.50, 75.00),
    "gpt-6-rosalind": ModelPrice(15.00, 75.00),
    "gpt-6-cyber": ModelPrice(20.00, 100.00),
    "gpt-6.1-terra": ModelPrice(1.00, 5.00),
    # Reported, not in LiteLLM 1.110.2: the table keeps at least these.
    "gpt-6.2-astra": ModelPrice(8.00, 40.00),
    "gpt-6.2-sol": ModelPrice(2.00, 10.00),
    "o3": ModelPrice(2.00, 8.00),
    "o4-mini": ModelPrice(1.10, 4.40),
    "claude-opus-5-5": ModelPrice(4.00, 20.00),
    "claude-sonnet-5-5": ModelPrice(2.00, 10.00),
    "claude-haiku-5-5": ModelPrice(0.10, 0.50),
    "claude-opus-4-7": ModelPrice(5.00, 25.00),
    "claude-sonnet-4-6": ModelPrice(3.00, 15.00),
    "claude-opus-4-5": ModelPrice(5.00, 25.00),
    "claude-sonnet-4-5": ModelPrice(3.00, 15.00),
    "claude-haiku-4-5": ModelPrice(1.00, 5.00),
    "gemini-4-argon": ModelPrice(4.00, 20.00),
    "gemini-4-hydrogen": ModelPrice(1.50, 7.50),
    "gemini-3.8-flash": ModelPrice(0.75, 3.75),
    "gemini-3.7-flash": ModelPrice(0.75, 3.75),
    "gemini-3.6-flash": ModelPrice(0.75, 3.75),
    "gemini-3.5-flash": ModelPrice(1.50, 9.00),
    "gemini-3.5-flash-lite": ModelPrice(0.30, 2.50),
    "gemini-3.1-pro": ModelPrice(2.00, 12.00),
    "gemini-3.1-flash-lite": ModelPrice(0.25, 1.50),
    "gemini-2.5-flash": ModelPrice(0.30, 2.50),
    "gemini-2.5-pro": ModelPrice(1.25, 10.00),
    "gemini-2.5-flash-lite": ModelPrice(0.10, 0.40),
}
# (threshold, input, output) of the long-context tier, from LiteLLM 1.110.2.
LONG_CONTEXT = {
    "gpt-5.4": (272_000, 5.00, 22.50),
    "gpt-5.5": (272_000, 10.00, 45.00),
    "gpt-5.6": (272_000, 8.00, 30.00),
    "gpt-5.6-cyber": (272_000, 25.00, 112.50),
    "gpt-6-rosalind": (272_000, 30.00, 112.50),
    "gpt-6.1-terra": (272_000, 2.00, 7.50),
    "claude-haiku-5-5": (100_000, 0.50, 2.50),
    "gemini-3.1-pro": (200_000, 4.00, 18.00),
    "gemini-2.5-pro": (200_000, 2.50, 15.00),
}
# Names the table does not list, with the published price of the model each really is.
UNKNOWN = {
    "gpt-5.6-cyber-preview": ModelPrice(12.50, 75.00),
    "gpt-6-cyber-2027-01-01": ModelPrice(20.00, 100.00),
    "gpt-6.3-rosalind": ModelPrice(15.00, 75.00),
    "gpt-7": ModelPrice(5.00, 30.00),
    "gpt-7-mini": ModelPrice(0.75, 4.50),
    "gemini-3.9-flash-lite": ModelPrice(0.30, 2.50),
    "gemini-5-pro": ModelPrice(2.00, 12.00),
    "claude-opus-6": ModelPrice(5.00, 25.00),
}
SIMULATOR_PRICERS = {
    "openai": openai_price,
    "anthropic": anthropic_price,
    "gemini": gemini_price,
}


def _simulator_models() -> list[tuple[str, str]]:
    from tests.simulator import (
        anthropic as sim_anthropic,
        gemini as sim_gemini,
        openai as sim_openai,
    )

    return (
        [("openai", m) for m in {*sim_openai.MODELS, *sim_openai.MODELS.values()}]
        + [
            ("anthropic", m)
            for m in {*sim_anthropic.MODELS, *sim_anthropic.MODELS.values()}
        ]
        + [("gemini", m) for m in sim_gemini.MODELS]
    )


def _published(model: str) -> ModelPrice:
    bare = model.removeprefix("models/")
    for name in sorted(LIST_PRICES, key=len, reverse=True):
        if bare == name or bare.startswith(f"{name}-20") or bare == f"{name}-preview":
            return LIST_PRICES[name]
    raise AssertionError(f"no published price recorded for {model}")


@pytest.mark.parametrize(("kind", "model"), sorted(_simulator_models()))
def test_every_simulator_model_is_priced_at_least_at_its_published_price(
    kind: str, model: str
) -> None:
    price = SIMULATOR_PRICERS[kind](model)
    assert _costs_at_least(price, _published(model)), (model, price)
    # Through a gateway too.
    assert _costs_at_least(compatible_price(model), _published(model))


@pytest.mark.parametrize(("model", "published"), UNKNOWN.items())
def test_an_unknown_model_is_never_priced_below_what_it_really_costs(
    model: str, published: ModelPrice
) -> None:
    pricer = (
        anthropic_price
        if model.startswith("claude")
        else gemini_price
        if model.startswith("gemini")
        else openai_price
    )
    assert _costs_at_least(pricer(model), published), pricer(model)
    assert _costs_at_least(compatible_price(model), published)


@pytest.mark.parametrize(("model", "tier"), LONG_CONTEXT.items())
def test_long_context_tiers_are_billed_above_their_threshold(
    model: str, tier: tuple[int, float, float]
) -> None:
    threshold, input_rate, output_rate = tier
    pricer = (
        anthropic_price
        if model.startswith("claude")
        else gemini_price
        if model.startswith("gemini")
        else openai_price
    )
    price = pricer(model)
    short = _published(model)
    # At the threshold: the short-context rates; one token past it: the tier's, for the whole request.
    assert price.cost(threshold, 1000) == pytest.approx(short.cost(threshold, 1000))
    assert price.cost(threshold + 1, 1000) == pytest.approx(
        ((threshold + 1) * input_rate + 1000 * output_rate) / 1_000_000
    )


def test_a_reservation_over_the_threshold_uses_the_long_context_tier() -> None:
    price = openai_price("gpt-5.4")
    # 300k input tokens bound, 1k output: 2x input and 1.5x output, not the short rates.
    assert price.cost(300_000, 1_000) == pytest.approx(
        (300_000 * 5.00 + 1_000 * 22.50) / 1_000_000
    )
    assert price.cost(300_000, 1_000) > ModelPrice(2.50, 15.00).cost(300_000, 1_000)


@pytest.mark.parametrize(
    ("model", "day", "expected"),
    [
        ("gemini-4-argon", date(2026, 11, 28), ModelPrice(2.00, 10.00)),
        ("gemini-4-argon", date(2026, 11, 29), ModelPrice(2.00, 10.00)),
        # A change counts from the day before: the provider may bill by a clock a day ahead.
        ("gemini-4-argon", date(2026, 11, 30), ModelPrice(4.00, 20.00)),
        ("gemini-4-argon", date(2026, 12, 1), ModelPrice(4.00, 20.00)),
        ("gemini-3.8-flash", date(2026, 12, 1), ModelPrice(0.75, 3.75)),
        ("gemini-3.8-flash", date(2026, 12, 31), ModelPrice(1.50, 7.50)),
        ("gemini-3.8-flash", date(2027, 1, 1), ModelPrice(1.50, 7.50)),
        ("google/gemini-4-argon", date(2026, 11, 28), ModelPrice(2.00, 10.00)),
        ("google/gemini-4-argon", date(2026, 12, 2), ModelPrice(4.00, 20.00)),
    ],
)
def test_a_dated_price_is_picked_by_the_day_of_the_request(
    model: str, day: date, expected: ModelPrice
) -> None:
    pricer = compatible_price if "/" in model else gemini_price
    assert _flat(pricer(model, on=day)) == expected


def test_a_provider_prices_by_the_day_it_is_asked_for(
    session: aiohttp.ClientSession,
) -> None:
    client = create_provider("gemini", session, name="g", model="gemini-4-argon")
    assert _flat(client.price(on=date(2026, 11, 20))) == ModelPrice(2.00, 10.00)
    assert _flat(client.price(on=date(2026, 12, 5))) == ModelPrice(4.00, 20.00)
    # An unknown model is a bound, not a listed price: the setup form says so.
    assert client.price_quote().listed
    assert not client.price_quote("gemini-9-argon").listed


@pytest.mark.parametrize(
    ("model", "free"),
    [
        ("llava", True),
        ("qwen3-vl:8b", True),
        ("gpt-oss:120b-cloud", False),
        ("glm-4.6:cloud", False),
        ("deepseek-v3.1:671b-cloud", False),
        ("cloudy-llama", True),
    ],
)
def test_ollama_cloud_models_are_neither_free_nor_local(
    session: aiohttp.ClientSession, model: str, free: bool
) -> None:
    client = create_provider("ollama", session, name="o", model=model)
    assert (client.price() == FREE) is free
    assert client.is_local is free
    assert client.price_quote().listed is free


def test_highest_covers_every_price_at_every_input_size() -> None:
    a = ModelPrice(1.0, 2.0, (PriceTier(100, 3.0, 3.0),))
    b = ModelPrice(2.0, 1.0, (PriceTier(200, 2.5, 9.0),))
    merged = highest(a, b)
    for size in (0, 100, 101, 150, 200, 201, 10_000):
        assert merged.rates(size)[0] >= max(a.rates(size)[0], b.rates(size)[0])
        assert merged.rates(size)[1] >= max(a.rates(size)[1], b.rates(size)[1])
    assert merged.rates(150) == (3.0, 3.0)
    assert merged.rates(201) == (3.0, 9.0)


def test_a_price_cut_counts_from_the_day_after() -> None:
    # The provider may bill by a clock a day behind the user's: the old, higher price still
    # holds on the day of a cut, and the cut applies from the next day.
    high, low = ModelPrice(4.0, 20.0), ModelPrice(1.0, 5.0)
    cut = Dated(high, ((date(2027, 3, 10), low),))
    assert price_on(cut, date(2027, 3, 10)) == high
    assert price_on(cut, date(2027, 3, 11)) == low
    assert cut.on(date(2027, 3, 10)) == low
    assert cut.on(date(2027, 3, 9)) == high


def test_a_gateway_model_named_through_nested_vendors_is_priced_by_the_last_vendor() -> (
    None
):
    # A gateway in front of OpenRouter names the model `openrouter/openai/...`: the vendor
    # it names last sets the rules, for a model its table lists and for one it does not.
    assert compatible_price("openrouter/openai/gpt-4o-mini") == openai_price(
        "gpt-4o-mini"
    )
    assert compatible_price("router/anthropic/claude-sonnet-5") == anthropic_price(
        "claude-sonnet-5"
    )
    assert compatible_price("openrouter/openai/gpt-7-mini") == openai_price(
        "gpt-7-mini"
    )


_TIERED_PRICES = st.builds(
    ModelPrice,
    st.integers(0, 5).map(float),
    st.integers(0, 5).map(float),
    st.lists(
        st.builds(
            PriceTier,
            st.integers(1, 12),
            st.integers(0, 9).map(float),
            st.integers(0, 9).map(float),
        ),
        max_size=3,
        unique_by=lambda tier: tier.above_input_tokens,
    ).map(lambda tiers: tuple(sorted(tiers, key=lambda tier: tier.above_input_tokens))),
)


@given(st.lists(_TIERED_PRICES, min_size=1, max_size=4))
def test_highest_bills_each_input_size_at_the_highest_rates_any_price_has_there(
    prices: list[ModelPrice],
) -> None:
    merged = highest(*prices)
    for size in range(15):
        assert merged.rates(size) == (
            max(price.rates(size)[0] for price in prices),
            max(price.rates(size)[1] for price in prices),
        )
    # No tier repeats the rates below it: the price is as simple as it can be.
    thresholds = [tier.above_input_tokens for tier in merged.tiers]
    assert thresholds == sorted(set(thresholds))
    assert all(
        merged.rates(tier.above_input_tokens)
        != merged.rates(tier.above_input_tokens + 1)
        for tier in merged.tiers
    )


def _table_pricer(model: str) -> Any:
    if model.startswith("gemini"):
        return gemini_price
    return anthropic_price if model.startswith("claude") else openai_price


# Every table entry's rates as published, for the check that none is above its list price:
# LiteLLM 1.110.2's model_prices_and_context_window.json (the copy in its wheel) where it lists the
# model, with its long-context tier where it lists one; the providers' pricing pages for the rest.
# (Dated prices are checked by day above; gpt-6.2-astra and -sol are reported, not published.)
LITELLM_PRICES = {
    "gpt-6.1-sol": ModelPrice(2.00, 10.00, (PriceTier(272_000, 4.00, 15.00),)),
    "gpt-6.1-terra": ModelPrice(1.00, 5.00, (PriceTier(272_000, 2.00, 7.50),)),
    "gpt-6-astra": ModelPrice(10.00, 50.00, (PriceTier(272_000, 20.00, 75.00),)),
    "gpt-6-astra-law": ModelPrice(10.00, 50.00),
    "gpt-6-cyber": ModelPrice(20.00, 100.00),
    "gpt-6-rosalind": ModelPrice(15.00, 75.00, (PriceTier(272_000, 30.00, 112.50),)),
    "gpt-6-sol": ModelPrice(2.00, 10.00, (PriceTier(272_000, 4.00, 15.00),)),
    "gpt-6-luna": ModelPrice(0.10, 0.50, (PriceTier(272_000, 0.20, 0.75),)),
    "gpt-5.6": ModelPrice(4.00, 20.00, (PriceTier(272_000, 8.00, 30.00),)),
    "gpt-5.6-sol": ModelPrice(4.00, 20.00, (PriceTier(272_000, 8.00, 30.00),)),
    "gpt-5.6-terra": ModelPrice(2.00, 12.00, (PriceTier(272_000, 4.00, 18.00),)),
    "gpt-5.6-luna": ModelPrice(0.20, 1.20, (PriceTier(272_000, 0.40, 1.80),)),
    "gpt-5.6-cyber": ModelPrice(12.50, 75.00, (PriceTier(272_000, 25.00, 112.50),)),
    "gpt-5.5": ModelPrice(5.00, 30.00, (PriceTier(272_000, 10.00, 45.00),)),
    "gpt-5.5-cyber": ModelPrice(12.50, 75.00),
    "gpt-5.5-pro": ModelPrice(30.00, 180.00, (PriceTier(272_000, 60.00, 270.00),)),
    "gpt-5.4": ModelPrice(2.50, 15.00, (PriceTier(272_000, 5.00, 22.50),)),
    "gpt-5.4-mini": ModelPrice(0.75, 4.50),
    "gpt-5.4-nano": ModelPrice(0.20, 1.25),
    "gpt-5.4-pro": ModelPrice(30.00, 180.00, (PriceTier(272_000, 60.00, 270.00),)),
    "gpt-5.3-chat": ModelPrice(1.75, 14.00),  # as gpt-5.3-chat-latest
    "gpt-5.2": ModelPrice(1.75, 14.00),
    "gpt-5.2-pro": ModelPrice(21.00, 168.00),
    "gpt-5.1": ModelPrice(1.25, 10.00),
    "gpt-5": ModelPrice(1.25, 10.00),
    "gpt-5-mini": ModelPrice(0.25, 2.00),
    "gpt-5-nano": ModelPrice(0.05, 0.40),
    "gpt-5-pro": ModelPrice(15.00, 120.00),
    "gpt-4.1": ModelPrice(2.00, 8.00),
    "gpt-4.1-mini": ModelPrice(0.40, 1.60),
    "gpt-4.1-nano": ModelPrice(0.10, 0.40),
    "gpt-4o": ModelPrice(2.50, 10.00),
    "gpt-4o-2024-05-13": ModelPrice(5.00, 15.00),
    "gpt-4o-mini": ModelPrice(0.15, 0.60),
    "o4-mini": ModelPrice(1.10, 4.40),
    "o3": ModelPrice(2.00, 8.00),
    "o3-mini": ModelPrice(1.10, 4.40),
    "o3-pro": ModelPrice(20.00, 80.00),
    "o1-pro": ModelPrice(150.00, 600.00),
    "o1": ModelPrice(15.00, 60.00),
    "gpt-4-turbo": ModelPrice(10.00, 30.00),
    "gpt-4": ModelPrice(30.00, 60.00),
    "gpt-3.5-turbo": ModelPrice(3.00, 4.00),  # as gpt-3.5-turbo-16k
    "claude-fable-5": ModelPrice(10.00, 50.00),
    "claude-mythos-5": ModelPrice(10.00, 50.00),
    "claude-opus-5-5": ModelPrice(4.00, 20.00),
    "claude-opus-5": ModelPrice(5.00, 25.00),
    "claude-opus-4-8": ModelPrice(5.00, 25.00),
    "claude-opus-4-7": ModelPrice(5.00, 25.00),
    "claude-opus-4-6": ModelPrice(5.00, 25.00),
    "claude-opus-4-5": ModelPrice(5.00, 25.00),
    "claude-sonnet-5-5": ModelPrice(2.00, 10.00),
    "claude-sonnet-5": ModelPrice(2.00, 10.00),
    "claude-sonnet-4-6": ModelPrice(3.00, 15.00),
    "claude-sonnet-4-5": ModelPrice(3.00, 15.00),
    "claude-haiku-5-5": ModelPrice(0.10, 0.50, (PriceTier(100_000, 0.50, 2.50),)),
    "claude-haiku-4-5": ModelPrice(1.00, 5.00),
    "gemini-4-hydrogen": ModelPrice(1.50, 7.50),
    "gemini-3.7-flash": ModelPrice(0.75, 3.75),
    "gemini-3.6-flash": ModelPrice(0.75, 3.75),
    "gemini-3.5-flash": ModelPrice(1.50, 9.00),
    "gemini-3.5-flash-lite": ModelPrice(0.30, 2.50),
    "gemini-3.1-pro": ModelPrice(2.00, 12.00, (PriceTier(200_000, 4.00, 18.00),)),
    "gemini-3.1-flash-lite": ModelPrice(0.25, 1.50),
    "gemini-3-flash": ModelPrice(0.50, 3.00),
    "gemini-2.5-pro": ModelPrice(1.25, 10.00, (PriceTier(200_000, 2.50, 15.00),)),
    "gemini-2.5-flash": ModelPrice(0.30, 2.50),
    "gemini-2.5-flash-lite": ModelPrice(0.10, 0.40),
    "gemini-pro-latest": ModelPrice(2.00, 12.00, (PriceTier(200_000, 4.00, 18.00),)),
    "gemini-flash-latest": ModelPrice(0.75, 3.75),
    "gemini-flash-lite-latest": ModelPrice(0.30, 2.50),
}
PAGE_PRICES = {
    # ai.google.dev/gemini-api/docs/pricing, paid tier (LiteLLM lists these under vertex_ai only).
    "gemini-3-pro": ModelPrice(2.00, 12.00, (PriceTier(200_000, 4.00, 18.00),)),
    "gemini-2.0-flash": ModelPrice(0.10, 0.40),
    # The last list prices of models LiteLLM 1.110.2 no longer lists.
    "o1-preview": ModelPrice(15.00, 60.00),
    "o1-mini": ModelPrice(1.10, 4.40),
    "gpt-4-vision": ModelPrice(10.00, 30.00),
    "gpt-4-32k": ModelPrice(60.00, 120.00),
    "claude-opus-4-1": ModelPrice(15.00, 75.00),
    "claude-opus-4": ModelPrice(15.00, 75.00),
    "claude-sonnet-4": ModelPrice(3.00, 15.00),
    "claude-3-7-sonnet": ModelPrice(3.00, 15.00),
    "claude-3-5-sonnet": ModelPrice(3.00, 15.00),
    "claude-3-5-haiku": ModelPrice(0.80, 4.00),
    "claude-3-haiku": ModelPrice(0.25, 1.25),
    "claude-3-opus": ModelPrice(15.00, 75.00),
}


@pytest.mark.parametrize(
    ("model", "published"), sorted({**LITELLM_PRICES, **PAGE_PRICES}.items())
)
def test_a_table_entry_is_priced_at_its_published_rates_never_above(
    model: str, published: ModelPrice
) -> None:
    # Above the list price, a budget stops early and the cost sensors overstate every call.
    price = _table_pricer(model)(model, on=date.fromisoformat(PRICES_TAKEN_ON))
    assert _flat(price) == _flat(published)
    # Where a long-context tier is published, it is the tier; OpenAI's GPT-5.4+ tier is assumed
    # (never lower) for the few models LiteLLM lists without one.
    if published.tiers:
        assert price.tiers == published.tiers


def test_every_table_entry_has_a_published_price_to_check_it_against() -> None:
    checked = {*LITELLM_PRICES, *PAGE_PRICES, "gemini-4-argon", "gemini-3.8-flash"}
    reported = {"gpt-6.2-astra", "gpt-6.2-sol"}
    table = {*OPENAI_PRICES, *ANTHROPIC_PRICES, *GEMINI_PRICES}
    assert table - checked == reported


def test_a_reported_price_is_its_confirmed_siblings_never_below_the_report() -> None:
    # gpt-6.2-astra was reported at 8 / 40 and gpt-6.2-sol at 2 / 10, neither confirmed: each
    # keeps the confirmed price of the model it succeeds.
    assert openai_price("gpt-6.2-astra") == openai_price("gpt-6-astra")
    assert openai_price("gpt-6.2-sol") == openai_price("gpt-6.1-sol")
    assert _costs_at_least(openai_price("gpt-6.2-astra"), LIST_PRICES["gpt-6.2-astra"])


@pytest.mark.parametrize("table", [OPENAI_PRICES, ANTHROPIC_PRICES, GEMINI_PRICES])
def test_a_model_retired_on_the_day_prices_were_taken_no_longer_sets_a_price(
    table: dict[str, PriceEntry],
) -> None:
    # Families and the default follow the models that still answered that day, by the
    # catalog's own rule (a model retired on a day does not answer on it).
    taken_on = date.fromisoformat(PRICES_TAKEN_ON)
    assert set(pricing._current(table)) == {
        model for model in table if not is_retired(model, taken_on)
    }
