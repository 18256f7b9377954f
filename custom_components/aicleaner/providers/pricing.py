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

Lookup, in order: exact id; the longest table id the model starts with (dated snapshots such as
`gpt-4o-2024-08-06` and suffixes such as `-preview` resolve to their base); a family rule (`mini`,
`sonnet`, `flash-lite`, ...) priced at the most expensive current member of that family; else the
provider's default, its current flagship. An unknown cloud model is therefore never free: a budget errs
on the side of stopping early, and the user can set the real price in the provider's options.
"""

from __future__ import annotations

from functools import lru_cache
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
    "o1": ModelPrice(15.00, 60.00),
}
OPENAI_FAMILIES: Final = (
    ("-pro", ModelPrice(30.00, 180.00)),
    ("-astra", ModelPrice(10.00, 50.00)),
    ("-sol", ModelPrice(4.00, 20.00)),
    ("-terra", ModelPrice(2.00, 12.00)),
    ("-luna", ModelPrice(0.20, 1.20)),
    ("nano", ModelPrice(0.20, 1.25)),
    ("mini", ModelPrice(1.10, 4.40)),
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
}
ANTHROPIC_FAMILIES: Final = (
    ("fable", ModelPrice(10.00, 50.00)),
    ("mythos", ModelPrice(10.00, 50.00)),
    ("opus", ModelPrice(5.00, 25.00)),
    ("sonnet", ModelPrice(3.00, 15.00)),
    ("haiku", ModelPrice(1.00, 5.00)),
)
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
GEMINI_FAMILIES: Final = (
    ("flash-lite", ModelPrice(0.25, 1.50)),
    ("flash", ModelPrice(1.50, 9.00)),
    ("pro", ModelPrice(2.00, 12.00)),
)
GEMINI_DEFAULT: Final = ModelPrice(2.00, 12.00)

type Families = tuple[tuple[str, ModelPrice], ...]


def _lookup(model: str, table: PriceTable, families: Families) -> ModelPrice | None:
    model = model.lower()
    if (price := table.get(model)) is not None:
        return price
    best = ""
    for known in table:
        if len(known) > len(best) and model.startswith(known):
            best = known
    if best:
        return table[best]
    for word, price in families:
        if word in model:
            return price
    return None


@lru_cache(maxsize=256)
def openai_price(model: str) -> ModelPrice:
    """Price of an OpenAI model."""
    return _lookup(model, OPENAI_PRICES, OPENAI_FAMILIES) or OPENAI_DEFAULT


@lru_cache(maxsize=256)
def anthropic_price(model: str) -> ModelPrice:
    """Price of an Anthropic model."""
    return _lookup(model, ANTHROPIC_PRICES, ANTHROPIC_FAMILIES) or ANTHROPIC_DEFAULT


@lru_cache(maxsize=256)
def gemini_price(model: str) -> ModelPrice:
    """Price of a Gemini model (`models/` prefix allowed)."""
    return (
        _lookup(model.removeprefix("models/"), GEMINI_PRICES, GEMINI_FAMILIES)
        or GEMINI_DEFAULT
    )


def ollama_price(model: str) -> ModelPrice:
    """Ollama runs on the user's hardware."""
    return FREE


@lru_cache(maxsize=256)
def compatible_price(model: str) -> ModelPrice:
    """Price of a model behind an OpenAI-compatible cloud gateway.

    Gateways such as OpenRouter name models `vendor/model`; a known first-party model keeps its
    first-party price. Anything else gets the OpenAI flagship price, a deliberate overestimate that the
    user corrects with a price override.
    """
    bare = model.rsplit("/", 1)[-1]
    for table in (OPENAI_PRICES, ANTHROPIC_PRICES, GEMINI_PRICES):
        if (price := _lookup(bare, table, ())) is not None:
            return price
    return OPENAI_DEFAULT
