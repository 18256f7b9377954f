"""The cost of a usage record with prompt caching: cached reads and cache writes at their own rates.

Providers bill input read from their prompt cache at a fraction of the input rate, and Anthropic bills
input written to its cache at a premium. The fractions below are the HIGHEST each provider charges for
any of its models (money is never guessed low): OpenAI 50 % (GPT-4o and o1; newer families less),
Gemini 25 % (2.x; newer less), Anthropic 10 % read and 200 % write (the one-hour cache; the
five-minute one is 125 %). A provider or a user price without a known rate bills cached input at the
full input rate.
"""

from __future__ import annotations

from typing import Final

from ..router.models import ModelPrice, Usage

# Share of the input rate a cached input token costs, per client kind.
CACHE_READ_FRACTION: Final[dict[str, float]] = {
    "openai": 0.5,
    "anthropic": 0.1,
    "gemini": 0.25,
}
# Multiple of the input rate a token written to the cache costs (only Anthropic bills writes).
CACHE_WRITE_MULTIPLIER: Final[dict[str, float]] = {"anthropic": 2.0}


def usage_cost(
    price: ModelPrice, usage: Usage, *, kind: str, listed: bool = True
) -> float:
    """USD of `usage` at `price`, cached reads and cache writes at the provider's rates.

    `listed` False (a user's own price, or a model the tables do not list) prices cached input at
    the full input rate: its discount is not known. Cache writes always carry the premium.
    """
    cached = min(usage.cached_input_tokens, usage.input_tokens)
    written = min(usage.cache_write_tokens, usage.input_tokens - cached)
    if not cached and not written:
        return price.cost(usage.input_tokens, usage.output_tokens)
    rate_in, rate_out = price.rates(usage.input_tokens)
    read = CACHE_READ_FRACTION.get(kind, 1.0) if listed else 1.0
    write = max(CACHE_WRITE_MULTIPLIER.get(kind, 1.0), 1.0)
    plain = usage.input_tokens - cached - written
    return (
        plain * rate_in
        + cached * rate_in * read
        + written * rate_in * write
        + usage.output_tokens * rate_out
    ) / 1_000_000
