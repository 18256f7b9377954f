"""What a real provider would have billed: the usage of every answer it generated, at its list price.

An answer delivered whole is billed at the usage it reports; one the provider generated and then cut
off, filtered or garbled on the way is billed at the full answer's usage all the same (the provider
generated it). Error answers (4xx, 5xx, 429) and resets before any answer are not billed. Prices come
from the client's own tables (`providers/pricing.py`), at the model the request asked for.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date
from typing import Any

from custom_components.aicleaner.providers.pricing import (
    anthropic_quote,
    compatible_quote,
    gemini_quote,
    ollama_quote,
    openai_quote,
)

# The clients' price table of each simulated protocol, by provider.
QUOTES = {
    "openai": openai_quote,
    "compatible": compatible_quote,
    "anthropic": anthropic_quote,
    "gemini": gemini_quote,
    "ollama": ollama_quote,
}


def usage_tokens(provider: str, usage: dict[str, Any]) -> tuple[int, int]:
    """(input, output) tokens of a usage record in the provider's own shape, thinking included.

    The record is the answer's `usage` (OpenAI, Anthropic), `usageMetadata` (Gemini), or for Ollama
    the answer itself (its counts are top-level fields).
    """
    if provider in ("openai", "compatible"):
        return usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)
    if provider == "anthropic":
        return usage.get("input_tokens", 0), usage.get("output_tokens", 0)
    if provider == "gemini":
        return usage.get("promptTokenCount", 0), usage.get(
            "candidatesTokenCount", 0
        ) + usage.get("thoughtsTokenCount", 0)
    return usage.get("prompt_eval_count", 0), usage.get("eval_count", 0)


def answer_usage(provider: str, body: Any) -> tuple[int, int] | None:
    """(input, output) tokens an answer body reports, thinking included; None without usage."""
    if not isinstance(body, dict):
        return None
    if provider in ("openai", "compatible", "anthropic"):
        return usage_tokens(provider, body.get("usage") or {})
    if provider == "gemini":
        return usage_tokens(provider, body.get("usageMetadata") or {})
    return usage_tokens(provider, body)


class BilledLedger:
    """USD billed per provider: for answers delivered whole, and for answers cut off or spoilt."""

    def __init__(self) -> None:
        self.answers: defaultdict[str, float] = defaultdict(float)
        self.spoilt: defaultdict[str, float] = defaultdict(float)
        self.spoilt_count: defaultdict[str, int] = defaultdict(int)
        # Told of each bill: (provider, the request's JSON body, USD, spoilt). For a test that
        # needs the bills per request.
        self.on_bill: Callable[[str, Any, float, bool], None] | None = None

    def bill(
        self, provider: str, model: str, body: Any, *, spoilt: bool, request: Any = None
    ) -> None:
        """Bill one generated answer; `spoilt` when it did not reach the client as an answer."""
        usage = answer_usage(provider, body)
        if usage is None:
            return
        cost = QUOTES[provider](model, date.today()).price.cost(*usage)
        if self.on_bill is not None:
            self.on_bill(provider, request, cost, spoilt)
        if spoilt:
            self.spoilt[provider] += cost
            self.spoilt_count[provider] += 1
        else:
            self.answers[provider] += cost

    def total(self, provider: str) -> float:
        """Everything the provider billed."""
        return self.answers[provider] + self.spoilt[provider]

    def as_dict(self) -> dict[str, Any]:
        """The admin endpoint's view."""
        providers = sorted(set(self.answers) | set(self.spoilt))
        return {
            provider: {
                "total": self.total(provider),
                "answers": self.answers[provider],
                "spoilt": self.spoilt[provider],
                "spoilt_count": self.spoilt_count[provider],
            }
            for provider in providers
        }

    def clear(self) -> None:
        """Forget everything billed."""
        self.answers.clear()
        self.spoilt.clear()
        self.spoilt_count.clear()
