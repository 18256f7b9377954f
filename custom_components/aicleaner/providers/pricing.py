"""Price table: USD per 1M input / output tokens, Standard (pay-as-you-go) tier, short-context rate.

Sources, taken on PRICES_TAKEN_ON. The search tool available here does not reach the provider pages
themselves, so each figure was read from dated transcriptions that name the official page as their
source; where two transcriptions exist they agree unless noted.
- OpenAI: https://developers.openai.com/api/docs/pricing (read 2026-05-04 / 2026-08-27 / 2026-11-05 by
  api-evangelist; GPT-6 prices effective 2026-09-03 / 2026-09-22 and GPT-5.6 reductions effective
  2026-07-30 per PromptFuel v1.0.19 / v1.0.21; GPT-5 family and GPT-4.1 per cloudprice.net and
  deploybase.ai, 2026). o3-mini / o4-mini / o1 / o3-pro are OpenAI's list prices as first published;
  one transcription gives o3-mini at $0.50 / $2.00, and the higher figure is kept (budgets err high).
- Anthropic: https://platform.claude.com/docs/en/about-claude/pricing (the page itself for Claude 3.x
  and 4.x; generation 5 as verified 2026-10-10 by the synaps pricing module, Opus 5.5 / Sonnet 5.5
  effective 2026-09-22 / 2026-09-29).
- Google: https://ai.google.dev/gemini-api/docs/pricing (paid tier, prompts up to 200k tokens, as
  transcribed by morphllm.com and deploybase.ai, 2026).
- Ollama runs on the user's hardware: 0.

Lookup, in order:
1. the exact id, or the id without a snapshot suffix (a date such as `-2024-08-06` or `-20250929`, a
   number such as `-0613` or `-001`, `-preview`, `-latest`, `-exp`): `gpt-4o-2024-08-06` is `gpt-4o`;
2. otherwise the model is one the table does not know, and gets the most expensive of what it could be:
   - every family its name names (`-pro`, `mini`, `sonnet`, `flash`, ...), each priced at the most
     expensive table member of that family, so a family never prices below one of its members;
   - when a known id is a prefix of it (`o1` of `o1-pro`, `gpt-5` of `gpt-5.6`), that id's price and
     the provider's default (its flagship), since the rest of the name says it is another model;
3. else the provider's default.
An unknown cloud model is therefore never free, and never priced at a cheaper relative's figure: a
budget errs on the side of stopping early, and the user can set the real price in the provider's options.
"""

from __future__ import annotations

from functools import lru_cache
import re
from typing import Final

from ..router.models import FREE, ModelPrice

PRICES_TAKEN_ON: Final = "2026-11-26"

type PriceTable = dict[str, ModelPrice]

OPENAI_PRICES: Final[PriceTable] = {
    "gpt-6-astra": ModelPrice(10.00, 50.00),
    "gpt-6-sol": ModelPrice(2.00, 10.00),
    "gpt-6-luna": ModelPrice(0.10, 0.50),
    "gpt-6.1-sol": ModelPrice(2.00, 10.00),
    "gpt-5.6-sol": ModelPrice(4.00, 20.00),
    "gpt-5.6-terra": ModelPrice(2.00, 12.00),
    "gpt-5.6-luna": ModelPrice(0.20, 1.20),
    "gpt-5.5": ModelPrice(5.00, 30.00),
    "gpt-5.5-pro": ModelPrice(30.00, 180.00),
    "gpt-5.4": ModelPrice(2.50, 15.00),
    "gpt-5.4-mini": ModelPrice(0.75, 4.50),
    "gpt-5.4-nano": ModelPrice(0.20, 1.25),
    "gpt-5.4-pro": ModelPrice(30.00, 180.00),
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
    "gpt-4o-mini": ModelPrice(0.15, 0.60),
    "o4-mini": ModelPrice(1.10, 4.40),
    "o3": ModelPrice(2.00, 8.00),
    "o3-mini": ModelPrice(1.10, 4.40),
    "o3-pro": ModelPrice(20.00, 80.00),
    "o1-pro": ModelPrice(150.00, 600.00),
    "o1-preview": ModelPrice(15.00, 60.00),
    "o1-mini": ModelPrice(1.10, 4.40),
    "o1": ModelPrice(15.00, 60.00),
    # Older models the catalog still knows, at their last list prices.
    "gpt-4-turbo": ModelPrice(10.00, 30.00),
    "gpt-4-vision": ModelPrice(10.00, 30.00),
    "gpt-4-32k": ModelPrice(60.00, 120.00),
    "gpt-4": ModelPrice(30.00, 60.00),
    # The most expensive of its snapshots (gpt-3.5-turbo-16k-0613).
    "gpt-3.5-turbo": ModelPrice(3.00, 4.00),
}
OPENAI_FAMILY_WORDS: Final = (
    "-pro",
    "-astra",
    "-sol",
    "-terra",
    "-luna",
    "nano",
    "mini",
)
OPENAI_DEFAULT: Final = ModelPrice(5.00, 30.00)

ANTHROPIC_PRICES: Final[PriceTable] = {
    "claude-fable-5": ModelPrice(10.00, 50.00),
    "claude-mythos-5": ModelPrice(10.00, 50.00),
    "claude-opus-5-5": ModelPrice(4.00, 20.00),
    "claude-opus-5": ModelPrice(5.00, 25.00),
    "claude-opus-4-8": ModelPrice(5.00, 25.00),
    "claude-opus-4-7": ModelPrice(5.00, 25.00),
    "claude-opus-4-6": ModelPrice(5.00, 25.00),
    "claude-opus-4-5": ModelPrice(5.00, 25.00),
    "claude-opus-4-1": ModelPrice(15.00, 75.00),
    "claude-opus-4": ModelPrice(15.00, 75.00),
    "claude-sonnet-5-5": ModelPrice(2.00, 10.00),
    "claude-sonnet-5": ModelPrice(2.00, 10.00),
    "claude-sonnet-4-6": ModelPrice(3.00, 15.00),
    "claude-sonnet-4-5": ModelPrice(3.00, 15.00),
    "claude-sonnet-4": ModelPrice(3.00, 15.00),
    # Haiku 5.5: prompts up to 100k tokens; above that $0.50 / $2.50.
    "claude-haiku-5-5": ModelPrice(0.10, 0.50),
    "claude-haiku-4-5": ModelPrice(1.00, 5.00),
    "claude-3-5-haiku": ModelPrice(0.80, 4.00),
    "claude-3-haiku": ModelPrice(0.25, 1.25),
    "claude-3-7-sonnet": ModelPrice(3.00, 15.00),
    "claude-3-5-sonnet": ModelPrice(3.00, 15.00),
    "claude-3-opus": ModelPrice(15.00, 75.00),
}
ANTHROPIC_FAMILY_WORDS: Final = ("fable", "mythos", "opus", "sonnet", "haiku")
ANTHROPIC_DEFAULT: Final = ModelPrice(5.00, 25.00)

GEMINI_PRICES: Final[PriceTable] = {
    "gemini-3.5-flash": ModelPrice(1.50, 9.00),
    "gemini-3.1-pro": ModelPrice(2.00, 12.00),
    "gemini-3.1-flash-lite": ModelPrice(0.25, 1.50),
    "gemini-3-pro": ModelPrice(2.00, 12.00),
    "gemini-3-flash": ModelPrice(0.50, 3.00),
    "gemini-2.5-pro": ModelPrice(1.25, 10.00),
    "gemini-2.5-flash": ModelPrice(0.30, 2.50),
    "gemini-2.5-flash-lite": ModelPrice(0.10, 0.40),
    "gemini-2.0-flash": ModelPrice(0.10, 0.40),
}
GEMINI_FAMILY_WORDS: Final = ("flash-lite", "flash", "pro")
GEMINI_DEFAULT: Final = ModelPrice(2.00, 12.00)

type Families = tuple[tuple[str, ModelPrice], ...]

# Suffixes that name a snapshot of the same model, at the same price.
_SNAPSHOT_SUFFIX: Final = re.compile(
    r"(?:-\d{4}-\d{2}-\d{2}|-\d{8}|-\d{2}-\d{2}|-\d{3,4}|-preview|-latest|-exp)+$"
)


def highest(*prices: ModelPrice) -> ModelPrice:
    """Return the lowest price at least as high as each of `prices`, input and output alike."""
    return ModelPrice(
        max(price.input_per_mtok for price in prices),
        max(price.output_per_mtok for price in prices),
    )


def families(table: PriceTable, words: tuple[str, ...]) -> Families:
    """Each family word with the most expensive table member whose id contains it."""
    return tuple(
        (word, highest(*(price for known, price in table.items() if word in known)))
        for word in words
    )


OPENAI_FAMILIES: Final = families(OPENAI_PRICES, OPENAI_FAMILY_WORDS)
ANTHROPIC_FAMILIES: Final = families(ANTHROPIC_PRICES, ANTHROPIC_FAMILY_WORDS)
GEMINI_FAMILIES: Final = families(GEMINI_PRICES, GEMINI_FAMILY_WORDS)


def _known(model: str, table: PriceTable) -> ModelPrice | None:
    """Return the table price of `model` or of the model it is a snapshot of."""
    return table.get(model) or table.get(_SNAPSHOT_SUFFIX.sub("", model))


def _lookup(
    model: str, table: PriceTable, family_prices: Families, default: ModelPrice
) -> ModelPrice:
    model = model.lower()
    if (price := _known(model, table)) is not None:
        return price
    candidates = [price for word, price in family_prices if word in model]
    prefix = max(
        (known for known in table if model.startswith(known)), key=len, default=""
    )
    if prefix:
        candidates += (table[prefix], default)
    return highest(*candidates) if candidates else default


@lru_cache(maxsize=256)
def openai_price(model: str) -> ModelPrice:
    """Price of an OpenAI model."""
    return _lookup(model, OPENAI_PRICES, OPENAI_FAMILIES, OPENAI_DEFAULT)


@lru_cache(maxsize=256)
def anthropic_price(model: str) -> ModelPrice:
    """Price of an Anthropic model."""
    return _lookup(model, ANTHROPIC_PRICES, ANTHROPIC_FAMILIES, ANTHROPIC_DEFAULT)


@lru_cache(maxsize=256)
def gemini_price(model: str) -> ModelPrice:
    """Price of a Gemini model (`models/` prefix allowed)."""
    return _lookup(
        model.removeprefix("models/"), GEMINI_PRICES, GEMINI_FAMILIES, GEMINI_DEFAULT
    )


def ollama_price(model: str) -> ModelPrice:
    """Ollama runs on the user's hardware."""
    return FREE


# Gateway vendor prefixes (OpenRouter's `vendor/model`) and the first-party rules they select.
_VENDORS: Final = {
    "openai": (OPENAI_PRICES, OPENAI_FAMILIES, OPENAI_DEFAULT),
    "anthropic": (ANTHROPIC_PRICES, ANTHROPIC_FAMILIES, ANTHROPIC_DEFAULT),
    "google": (GEMINI_PRICES, GEMINI_FAMILIES, GEMINI_DEFAULT),
}


@lru_cache(maxsize=256)
def compatible_price(model: str) -> ModelPrice:
    """Price of a model behind an OpenAI-compatible cloud gateway.

    Gateways such as OpenRouter name models `vendor/model`: a first-party vendor's model is priced by
    that vendor's rules, as if asked directly. Without a known vendor, a first-party model id keeps its
    price; anything else gets the highest of the OpenAI flagship price and what each vendor's rules
    would charge for the name, a deliberate overestimate that the user corrects with a price override.
    """
    vendor, _, bare = model.lower().rpartition("/")
    rules = _VENDORS.get(vendor.rsplit("/", 1)[-1])
    if rules is not None:
        return _lookup(bare, *rules)
    for table, _families, _default in _VENDORS.values():
        if (price := _known(bare, table)) is not None:
            return price
    return highest(
        OPENAI_DEFAULT,
        *(_lookup(bare, table, found, FREE) for table, found, _ in _VENDORS.values()),
    )
