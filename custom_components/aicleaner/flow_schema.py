"""Form fields shared by AICleaner's flows: number boxes, the router settings, a provider's advanced and price fields."""

from __future__ import annotations

from typing import Any

from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)
import probatio
from yarl import URL

from .const import (
    CONF_BATCH_SIZE,
    CONF_BREAKER_TIMEOUT,
    CONF_CACHE_TTL,
    CONF_FAILURE_THRESHOLD,
    CONF_GLOBAL_DAILY_BUDGET,
    CONF_HALF_OPEN_MAX_CALLS,
    CONF_HEALTH_CHECK_INTERVAL,
    CONF_KEY_ROTATION_REMINDER,
    CONF_LATENCY_CRITICAL,
    CONF_LATENCY_WARNING,
    CONF_MAX_RETRIES,
    CONF_PRICE_INPUT,
    CONF_PRICE_OUTPUT,
    CONF_REQUEST_TIMEOUT,
    CONF_SELECTION_STRATEGY,
    CONF_TIMEOUT_SECONDS,
    CONF_TTFT_TIMEOUT,
    DEFAULT_BATCH_SIZE,
    DEFAULT_CACHE_TTL,
    DEFAULT_HEALTH_CHECK_INTERVAL,
    DEFAULT_LATENCY_CRITICAL,
    DEFAULT_LATENCY_WARNING,
    DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_SELECTION_STRATEGY,
    SELECTION_STRATEGIES,
    UNIT_USD_PER_MTOK,
)
from .router import ProviderSettings


def number_box(
    minimum: float,
    maximum: float,
    step: float = 1,
    unit: str | None = None,
    translation_key: str | None = None,
) -> NumberSelector:
    """Return a number selector typed in a box, with its unit and translated unit key."""
    config = NumberSelectorConfig(
        min=minimum, max=maximum, step=step, mode=NumberSelectorMode.BOX
    )
    if unit is not None:
        config["unit_of_measurement"] = unit
    if translation_key is not None:
        config["translation_key"] = translation_key
    return NumberSelector(config)


def whole_box(
    minimum: int,
    maximum: int,
    unit: str | None = None,
    translation_key: str | None = None,
) -> probatio.All[int]:
    """Return a number box for a whole number (a count, seconds), stored as an int."""
    return probatio.All(
        number_box(minimum, maximum, unit=unit, translation_key=translation_key),
        probatio.Coerce(int),
    )


def is_http_url(value: str) -> bool:
    """Tell whether `value` is an http(s) URL with a host."""
    try:
        url = URL(value)
    except ValueError:
        return False
    return url.scheme in ("http", "https") and bool(url.host)


ROUTER_SCHEMA = probatio.Schema(
    {
        probatio.Required(
            CONF_SELECTION_STRATEGY, default=DEFAULT_SELECTION_STRATEGY
        ): SelectSelector(
            SelectSelectorConfig(
                options=list(SELECTION_STRATEGIES),
                mode=SelectSelectorMode.DROPDOWN,
                translation_key="selection_strategy",
            )
        ),
        probatio.Required(CONF_CACHE_TTL, default=DEFAULT_CACHE_TTL): whole_box(
            0, 86400, unit="s"
        ),
        probatio.Required(CONF_BATCH_SIZE, default=DEFAULT_BATCH_SIZE): whole_box(
            1, 50
        ),
    }
)


def router_settings_schema() -> probatio.Schema:
    """Return every router setting the options flow changes (the setup form asks only the first three)."""
    return ROUTER_SCHEMA.extend(
        {
            probatio.Required(
                CONF_REQUEST_TIMEOUT, default=DEFAULT_REQUEST_TIMEOUT
            ): whole_box(1, 3600, unit="s"),
            # Empty: no budget over all providers (each provider's own still applies).
            probatio.Optional(CONF_GLOBAL_DAILY_BUDGET): number_box(
                0, 100000, step=0.01, unit="USD"
            ),
            probatio.Required(
                CONF_HEALTH_CHECK_INTERVAL, default=DEFAULT_HEALTH_CHECK_INTERVAL
            ): whole_box(10, 86400, unit="s"),
            probatio.Required(
                CONF_LATENCY_WARNING, default=DEFAULT_LATENCY_WARNING
            ): number_box(0.1, 600, step=0.1, unit="s"),
            probatio.Required(
                CONF_LATENCY_CRITICAL, default=DEFAULT_LATENCY_CRITICAL
            ): number_box(0.1, 600, step=0.1, unit="s"),
            probatio.Required(
                CONF_KEY_ROTATION_REMINDER, default=True
            ): BooleanSelector(),
        }
    )


def advanced_fields() -> dict[Any, Any]:
    """Return the collapsed section's fields: time, retries and circuit breaker of one provider."""
    defaults = ProviderSettings()
    return {
        probatio.Required(
            CONF_TIMEOUT_SECONDS, default=defaults.timeout_seconds
        ): number_box(1, 600, unit="s"),
        # Empty: 10 s for a cloud provider, 30 s for a local one (`router.streaming`).
        probatio.Optional(CONF_TTFT_TIMEOUT): number_box(0.5, 600, step=0.5, unit="s"),
        probatio.Required(CONF_MAX_RETRIES, default=defaults.max_retries): whole_box(
            0, 10
        ),
        probatio.Required(
            CONF_FAILURE_THRESHOLD, default=defaults.breaker.failure_threshold
        ): whole_box(1, 100),
        probatio.Required(
            CONF_BREAKER_TIMEOUT, default=defaults.breaker.timeout_seconds
        ): number_box(1, 3600, unit="s"),
        probatio.Required(
            CONF_HALF_OPEN_MAX_CALLS, default=defaults.breaker.half_open_max_calls
        ): whole_box(1, 20),
    }


def price_incomplete(user_input: dict[str, Any]) -> bool:
    """Tell whether a form gave one price override without the other."""
    return (CONF_PRICE_INPUT in user_input) != (CONF_PRICE_OUTPUT in user_input)


def price_fields() -> dict[Any, Any]:
    """Return the optional price override fields: USD per million input and output tokens."""
    return {
        probatio.Optional(key): number_box(
            0,
            100000,
            step=0.001,
            unit=UNIT_USD_PER_MTOK,
            translation_key="price",
        )
        for key in (CONF_PRICE_INPUT, CONF_PRICE_OUTPUT)
    }


def usd(rate: float) -> str:
    """Format a rate as the price step shows it: up to three decimals, no trailing zeros."""
    return f"{rate:.3f}".rstrip("0").rstrip(".")
