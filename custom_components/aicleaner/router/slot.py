"""One provider as the router holds it: its client, settings, live stats, breaker and rate limiter."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from .breaker import CircuitBreaker
from .config import ProviderSettings
from .limits import RateLimiter
from .models import ModelCapabilities, ModelPrice, Provider
from .stats import ProviderStats


class Slot:
    """One provider with its settings and the live objects that guard it."""

    __slots__ = (
        "_capabilities",
        "_prices",
        "_prices_day",
        "breaker",
        "guarded",
        "limiter",
        "name",
        "provider",
        "settings",
        "stats",
    )

    def __init__(
        self,
        provider: Provider,
        settings: ProviderSettings,
        stats: ProviderStats,
        clock: Callable[[], float],
    ) -> None:
        """Guard `provider` with a new breaker and limiter; `stats` may be carried over."""
        self.provider = provider
        self.name = provider.name
        self.settings = settings
        self.stats = stats
        self.breaker = CircuitBreaker(settings.breaker, clock)
        self.limiter = RateLimiter(settings, clock)
        # A client that does not say it enforces its own attempt timeout gets one around it.
        self.guarded = getattr(provider, "enforces_timeout", False) is not True
        # Per-model lookups are cached: the provider answers from static tables.
        self._capabilities: dict[str | None, ModelCapabilities] = {}
        self._prices: dict[str | None, ModelPrice] = {}
        self._prices_day: date | None = None

    def capabilities(self, model: str | None) -> ModelCapabilities:
        """Return what the provider can take with `model`, looked up once."""
        caps = self._capabilities.get(model)
        if caps is None:
            caps = self._capabilities[model] = self.provider.capabilities(model)
        return caps

    def price(self, model: str | None, day: date) -> ModelPrice:
        """Return the price of `model` on `day`, looked up once a day."""
        # A price may change on a given day (`pricing.Dated`): each day's are cached for that day.
        if day != self._prices_day:
            self._prices.clear()
            self._prices_day = day
        price = self._prices.get(model)
        if price is None:
            price = self._prices[model] = self.provider.price(model, on=day)
        return price
