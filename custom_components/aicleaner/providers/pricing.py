"""Price table: USD per 1M input / output tokens, Standard (pay-as-you-go) tier, with long-context tiers.

Sources, checked on PRICES_TAKEN_ON. Every figure is an upper bound of what the provider bills: where
two sources disagree, or a figure could not be confirmed, the higher one is kept and a comment says so.
- LiteLLM 1.110.2, `model_prices_and_context_window.json` (the copy shipped in its wheel): every price
  below that it lists matches it, tiers included (`input_cost_per_token_above_272k_tokens` and the
  like).
- OpenAI: https://developers.openai.com/api/docs/pricing (as transcribed in 2026 by api-evangelist,
  PromptFuel, cloudprice.net and deploybase.ai; GPT-6 prices effective 2026-09-03 / 2026-09-22).
- Anthropic: https://platform.claude.com/docs/en/about-claude/pricing.
- Google: https://ai.google.dev/gemini-api/docs/pricing (paid tier).
- Ollama's own models run on the user's hardware: 0 (its `-cloud` models do not: see `ollama_price`).

A table entry is a `ModelPrice`, or a `Dated` one whose price changes on given days; the day of the
request picks the price, and a change counts from the day before, since a provider may bill by a clock
a day ahead of the user's. Tiers: a request whose input passes a tier's threshold is billed at the
tier's rates for all of it (`ModelPrice.cost`), so a reservation made with the input bound uses the
tier that bound can reach, and the booked cost the tier of the reported input.

Lookup, in order:
1. the exact id, or the id without a snapshot suffix (a date such as `-2024-08-06` or `-20250929`, a
   number such as `-0613` or `-001`, `-preview`, `-latest`, `-exp`): `gpt-4o-2024-08-06` is `gpt-4o`;
2. otherwise the model is one the table does not know ("price unknown"), and gets the most expensive
   of what it could be:
   - every family its name names (`-pro`, `mini`, `sonnet`, `flash`, `cyber`, ...), each priced at the
     most expensive current table member of that family, so a family never prices below one of its
     current members (retired members, such as the o-series minis, no longer set a family's price);
   - when a known id is a prefix of it (`o1` of `o1-pro`, `gpt-5` of `gpt-5.7`), that id's price and
     the provider's default, since the rest of the name says it is another model;
3. else the provider's default: the most expensive current model of the provider, tiers included.
An unknown cloud model is therefore never free, and never priced at a cheaper relative's figure: a
budget errs on the side of stopping early, and the user can set the real price as an override.

To update: read the provider's pricing page and LiteLLM's file, change the entries here, move
PRICES_TAKEN_ON, and run `tests/providers/test_pricing.py` (its PUBLISHED table is the check).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
import re
from typing import Final

from ..router.models import FREE, ModelPrice, PriceTier
from .catalog import is_ollama_cloud_model, retirement_date

PRICES_TAKEN_ON: Final = "2026-12-01"
_TAKEN_ON: Final = date.fromisoformat(PRICES_TAKEN_ON)
_ONE_DAY: Final = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Dated:
    """A price that changes on known days: `first` until the first change, then each one's price."""

    first: ModelPrice
    changes: tuple[tuple[date, ModelPrice], ...]

    def on(self, day: date) -> ModelPrice:
        """Return the price in force on `day`."""
        price = self.first
        for start, changed in self.changes:
            if day >= start:
                price = changed
        return price


type PriceEntry = ModelPrice | Dated
type PriceTable = dict[str, PriceEntry]

# OpenAI: gpt-5.4 and later bill 2x input and 1.5x output above 272k input tokens.
_OPENAI_LONG: Final = 272_000


def _openai(input_rate: float, output_rate: float) -> ModelPrice:
    """Build a GPT-5.4-or-later price: its long-context tier is 2x input and 1.5x output."""
    return ModelPrice(
        input_rate,
        output_rate,
        (PriceTier(_OPENAI_LONG, input_rate * 2, round(output_rate * 1.5, 6)),),
    )


def _tiered(
    input_rate: float,
    output_rate: float,
    above: int,
    long_input_rate: float,
    long_output_rate: float,
) -> ModelPrice:
    return ModelPrice(
        input_rate,
        output_rate,
        (PriceTier(above, long_input_rate, long_output_rate),),
    )


OPENAI_PRICES: Final[PriceTable] = {
    # GPT-6.2 is not in LiteLLM 1.110.2. gpt-6.2-astra was reported at 8 / 40: not confirmed, so it
    # keeps gpt-6-astra's confirmed 10 / 50; gpt-6.2-sol's reported 2 / 10 is gpt-6.1-sol's.
    "gpt-6.2-astra": _openai(10.00, 50.00),
    "gpt-6.2-sol": _openai(2.00, 10.00),
    "gpt-6.1-sol": _openai(2.00, 10.00),
    "gpt-6.1-terra": _openai(1.00, 5.00),
    "gpt-6-astra": _openai(10.00, 50.00),
    # LiteLLM lists no tier for astra-law and the cyber models; the GPT-5.4+ tier is assumed (higher).
    "gpt-6-astra-law": _openai(10.00, 50.00),
    "gpt-6-cyber": _openai(20.00, 100.00),
    "gpt-6-rosalind": _openai(15.00, 75.00),
    "gpt-6-sol": _openai(2.00, 10.00),
    "gpt-6-luna": _openai(0.10, 0.50),
    # gpt-5.6 is OpenAI's alias of gpt-5.6-sol.
    "gpt-5.6": _openai(4.00, 20.00),
    "gpt-5.6-sol": _openai(4.00, 20.00),
    "gpt-5.6-terra": _openai(2.00, 12.00),
    "gpt-5.6-luna": _openai(0.20, 1.20),
    "gpt-5.6-cyber": _openai(12.50, 75.00),
    "gpt-5.5": _openai(5.00, 30.00),
    "gpt-5.5-cyber": _openai(12.50, 75.00),
    "gpt-5.5-pro": _openai(30.00, 180.00),
    "gpt-5.4": _openai(2.50, 15.00),
    # LiteLLM gives gpt-5.4-mini and -nano a 272k context: no tier can apply.
    "gpt-5.4-mini": ModelPrice(0.75, 4.50),
    "gpt-5.4-nano": ModelPrice(0.20, 1.25),
    "gpt-5.4-pro": _openai(30.00, 180.00),
    "gpt-5.3-chat": ModelPrice(1.75, 14.00),
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
    # The first gpt-4o snapshot kept its launch price.
    "gpt-4o-2024-05-13": ModelPrice(5.00, 15.00),
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
    "-cyber",
    "-rosalind",
    "nano",
    "mini",
)

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
    # Haiku 5.5: prompts over 100k tokens are billed 0.50 / 2.50.
    "claude-haiku-5-5": _tiered(0.10, 0.50, 100_000, 0.50, 2.50),
    "claude-haiku-4-5": ModelPrice(1.00, 5.00),
    "claude-3-5-haiku": ModelPrice(0.80, 4.00),
    "claude-3-haiku": ModelPrice(0.25, 1.25),
    "claude-3-7-sonnet": ModelPrice(3.00, 15.00),
    "claude-3-5-sonnet": ModelPrice(3.00, 15.00),
    "claude-3-opus": ModelPrice(15.00, 75.00),
}
ANTHROPIC_FAMILY_WORDS: Final = ("fable", "mythos", "opus", "sonnet", "haiku")

# Gemini Pro models bill prompts over 200k tokens at a higher tier.
_GEMINI_LONG: Final = 200_000

GEMINI_PRICES: Final[PriceTable] = {
    # Both change price inside the window this table covers (announced by Google; LiteLLM 1.110.2
    # lists only the first figure of each).
    "gemini-4-argon": Dated(
        ModelPrice(2.00, 10.00), ((date(2026, 12, 1), ModelPrice(4.00, 20.00)),)
    ),
    "gemini-4-hydrogen": ModelPrice(1.50, 7.50),
    "gemini-3.8-flash": Dated(
        ModelPrice(0.75, 3.75), ((date(2027, 1, 1), ModelPrice(1.50, 7.50)),)
    ),
    "gemini-3.7-flash": ModelPrice(0.75, 3.75),
    "gemini-3.6-flash": ModelPrice(0.75, 3.75),
    "gemini-3.5-flash": ModelPrice(1.50, 9.00),
    "gemini-3.5-flash-lite": ModelPrice(0.30, 2.50),
    "gemini-3.1-pro": _tiered(2.00, 12.00, _GEMINI_LONG, 4.00, 18.00),
    "gemini-3.1-flash-lite": ModelPrice(0.25, 1.50),
    "gemini-3-pro": _tiered(2.00, 12.00, _GEMINI_LONG, 4.00, 18.00),
    "gemini-3-flash": ModelPrice(0.50, 3.00),
    "gemini-2.5-pro": _tiered(1.25, 10.00, _GEMINI_LONG, 2.50, 15.00),
    "gemini-2.5-flash": ModelPrice(0.30, 2.50),
    "gemini-2.5-flash-lite": ModelPrice(0.10, 0.40),
    "gemini-2.0-flash": ModelPrice(0.10, 0.40),
    # Google's aliases of the newest models of a line.
    "gemini-pro-latest": _tiered(2.00, 12.00, _GEMINI_LONG, 4.00, 18.00),
    "gemini-flash-latest": ModelPrice(0.75, 3.75),
    "gemini-flash-lite-latest": ModelPrice(0.30, 2.50),
}
GEMINI_FAMILY_WORDS: Final = ("flash-lite", "flash", "pro", "argon", "hydrogen")

type Families = tuple[tuple[str, ModelPrice], ...]

# Suffixes that name a snapshot of the same model, at the same price.
_SNAPSHOT_SUFFIX: Final = re.compile(
    r"(?:-\d{4}-\d{2}-\d{2}|-\d{8}|-\d{2}-\d{2}|-\d{3,4}|-preview|-latest|-exp)+$"
)


def highest(*prices: ModelPrice) -> ModelPrice:
    """Return the lowest price whose cost is at least each of `prices`' for any token counts.

    Base rates are the highest base rates; above each threshold any of them has, the rates are
    the highest any of them bills there.
    """
    thresholds = sorted(
        {tier.above_input_tokens for price in prices for tier in price.tiers}
    )
    rates = (
        max(price.input_per_mtok for price in prices),
        max(price.output_per_mtok for price in prices),
    )
    tiers: list[PriceTier] = []
    previous = rates
    for threshold in thresholds:
        above = (
            max(price.rates(threshold + 1)[0] for price in prices),
            max(price.rates(threshold + 1)[1] for price in prices),
        )
        if above != previous:
            tiers.append(PriceTier(threshold, *above))
            previous = above
    return ModelPrice(*rates, tuple(tiers))


def upper(entry: PriceEntry) -> ModelPrice:
    """Return the highest price an entry ever has."""
    if isinstance(entry, ModelPrice):
        return entry
    return highest(entry.first, *(price for _start, price in entry.changes))


def price_on(entry: PriceEntry, day: date) -> ModelPrice:
    """Return the price of an entry on `day`; a change counts from the day before."""
    if isinstance(entry, ModelPrice):
        return entry
    return highest(entry.on(day - _ONE_DAY), entry.on(day), entry.on(day + _ONE_DAY))


def _current(table: PriceTable) -> dict[str, ModelPrice]:
    """Return the table's models still answering when the prices were taken, at their highest."""
    current = {}
    for model, entry in table.items():
        retired = retirement_date(model)
        if retired is None or retired > _TAKEN_ON:
            current[model] = upper(entry)
    return current


def families(table: PriceTable, words: tuple[str, ...]) -> Families:
    """Each family word with the most expensive current table member whose id contains it."""
    current = _current(table)
    return tuple(
        (word, highest(*(price for known, price in current.items() if word in known)))
        for word in words
    )


def most_expensive(table: PriceTable) -> ModelPrice:
    """Return the provider default: at least the price of every current model of `table`."""
    return highest(*_current(table).values())


OPENAI_FAMILIES: Final = families(OPENAI_PRICES, OPENAI_FAMILY_WORDS)
ANTHROPIC_FAMILIES: Final = families(ANTHROPIC_PRICES, ANTHROPIC_FAMILY_WORDS)
GEMINI_FAMILIES: Final = families(GEMINI_PRICES, GEMINI_FAMILY_WORDS)
OPENAI_DEFAULT: Final = most_expensive(OPENAI_PRICES)
ANTHROPIC_DEFAULT: Final = most_expensive(ANTHROPIC_PRICES)
GEMINI_DEFAULT: Final = most_expensive(GEMINI_PRICES)


@dataclass(frozen=True, slots=True)
class PriceQuote:
    """A model's price on one day, and whether the table lists the model (False: a bound)."""

    price: ModelPrice
    listed: bool


def same_model(model: str, other: str) -> bool:
    """Whether `other` names `model` or a snapshot of it (`gpt-4o-2024-08-06` of `gpt-4o`)."""
    bare = model.lower().removeprefix("models/")
    return _SNAPSHOT_SUFFIX.sub("", other.lower().removeprefix("models/")) in (
        bare,
        _SNAPSHOT_SUFFIX.sub("", bare),
    )


def _known(model: str, table: PriceTable) -> PriceEntry | None:
    """Return the table entry of `model` or of the model it is a snapshot of."""
    return table.get(model) or table.get(_SNAPSHOT_SUFFIX.sub("", model))


def _lookup(
    model: str,
    table: PriceTable,
    family_prices: Families,
    default: ModelPrice,
    day: date,
) -> PriceQuote:
    model = model.lower()
    if (entry := _known(model, table)) is not None:
        return PriceQuote(price_on(entry, day), listed=True)
    candidates = [price for word, price in family_prices if word in model]
    prefix = max(
        (known for known in table if model.startswith(known)), key=len, default=""
    )
    if prefix:
        candidates += (upper(table[prefix]), default)
    return PriceQuote(highest(*candidates) if candidates else default, listed=False)


def _today(on: date | None) -> date:
    return on if on is not None else date.today()


@lru_cache(maxsize=512)
def openai_quote(model: str, on: date) -> PriceQuote:
    """Price of an OpenAI model on day `on`."""
    return _lookup(model, OPENAI_PRICES, OPENAI_FAMILIES, OPENAI_DEFAULT, on)


@lru_cache(maxsize=512)
def anthropic_quote(model: str, on: date) -> PriceQuote:
    """Price of an Anthropic model on day `on`."""
    return _lookup(model, ANTHROPIC_PRICES, ANTHROPIC_FAMILIES, ANTHROPIC_DEFAULT, on)


@lru_cache(maxsize=512)
def gemini_quote(model: str, on: date) -> PriceQuote:
    """Price of a Gemini model (`models/` prefix allowed) on day `on`."""
    return _lookup(
        model.removeprefix("models/"),
        GEMINI_PRICES,
        GEMINI_FAMILIES,
        GEMINI_DEFAULT,
        on,
    )


def openai_price(model: str, *, on: date | None = None) -> ModelPrice:
    """Price of an OpenAI model (today unless `on` is given)."""
    return openai_quote(model, _today(on)).price


def anthropic_price(model: str, *, on: date | None = None) -> ModelPrice:
    """Price of an Anthropic model (today unless `on` is given)."""
    return anthropic_quote(model, _today(on)).price


def gemini_price(model: str, *, on: date | None = None) -> ModelPrice:
    """Price of a Gemini model (today unless `on` is given)."""
    return gemini_quote(model, _today(on)).price


def ollama_quote(model: str, on: date) -> PriceQuote:
    """Ollama runs models on the user's hardware, except its cloud-run ones (see `compatible_quote`)."""
    if is_ollama_cloud_model(model):
        return compatible_quote(model, on)
    return PriceQuote(FREE, listed=True)


def ollama_price(model: str, *, on: date | None = None) -> ModelPrice:
    """Price of an Ollama model: free unless cloud-run."""
    return ollama_quote(model, _today(on)).price


# Gateway vendor prefixes (OpenRouter's `vendor/model`) and the first-party rules they select.
_VENDORS: Final = {
    "openai": (OPENAI_PRICES, OPENAI_FAMILIES, OPENAI_DEFAULT),
    "anthropic": (ANTHROPIC_PRICES, ANTHROPIC_FAMILIES, ANTHROPIC_DEFAULT),
    "google": (GEMINI_PRICES, GEMINI_FAMILIES, GEMINI_DEFAULT),
}
# What an unknown model behind a gateway is reserved at: the most expensive of every provider's rules.
COMPATIBLE_DEFAULT: Final = highest(OPENAI_DEFAULT, ANTHROPIC_DEFAULT, GEMINI_DEFAULT)


@lru_cache(maxsize=512)
def compatible_quote(model: str, on: date) -> PriceQuote:
    """Price of a model behind an OpenAI-compatible gateway that forwards to a cloud.

    Gateways such as OpenRouter name models `vendor/model`: a first-party vendor's model is priced by
    that vendor's rules, as if asked directly. Without a known vendor, a first-party model id keeps its
    price; anything else gets the highest of the conservative default and what each vendor's rules
    would charge for the name, a deliberate overestimate that the user corrects with a price override.
    """
    vendor, _, bare = model.lower().rpartition("/")
    rules = _VENDORS.get(vendor.rsplit("/", 1)[-1])
    if rules is not None:
        return _lookup(bare, *rules, on)
    for table, _families, _default in _VENDORS.values():
        if (entry := _known(bare, table)) is not None:
            return PriceQuote(price_on(entry, on), listed=True)
    return PriceQuote(
        highest(
            COMPATIBLE_DEFAULT,
            *(
                _lookup(bare, table, found, FREE, on).price
                for table, found, _ in _VENDORS.values()
            ),
        ),
        listed=False,
    )


def compatible_price(model: str, *, on: date | None = None) -> ModelPrice:
    """Price of a model behind a forwarding gateway (today unless `on` is given)."""
    return compatible_quote(model, _today(on)).price
