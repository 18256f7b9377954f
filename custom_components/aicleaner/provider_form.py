"""The provider settings step's fields and what it shows before anything is typed."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from homeassistant.helpers.selector import (
    BooleanSelector,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)
import probatio

from .const import (
    CONF_ADMIN_ONLY,
    CONF_BREAKER_TIMEOUT,
    CONF_BURST_ALLOWANCE,
    CONF_DAILY_BUDGET,
    CONF_ENABLED,
    CONF_FAILURE_THRESHOLD,
    CONF_HALF_OPEN_MAX_CALLS,
    CONF_LOCAL,
    CONF_MAX_RETRIES,
    CONF_MODEL,
    CONF_PRICE_INPUT,
    CONF_PRICE_OUTPUT,
    CONF_PRIORITY,
    CONF_RATE_LIMIT_RPH,
    CONF_RATE_LIMIT_RPM,
    CONF_RATE_LIMIT_TPM,
    CONF_SERVER_ROLE,
    CONF_TIMEOUT_SECONDS,
    CONF_TTFT_TIMEOUT,
    CONF_WEIGHT,
    SECTION_ADVANCED,
    SERVER_FORWARDS,
    SERVER_ROLES,
    SERVER_RUNS_MODELS,
    UNIT_REQUESTS,
    UNIT_REQUESTS_PER_HOUR,
    UNIT_REQUESTS_PER_MINUTE,
    UNIT_TOKENS_PER_MINUTE,
)
from .flow_schema import number_box, whole_box
from .providers import PROVIDER_CLASSES
from .providers.catalog import is_retired, recommended_model
from .providers.gateway import GatewayFinding
from .providers.locality import is_private_host
from .router import ProviderSettings


def settings_fields(
    kind: str, model_options: list[SelectOptionDict], *, local: bool
) -> dict[Any, Any]:
    """Return the settings step's fields: model, what a compatible server does, routing, limits."""
    fields: dict[Any, Any] = {
        # Custom values too: a model the list does not name (an alias, a new release).
        probatio.Required(CONF_MODEL): SelectSelector(
            SelectSelectorConfig(
                options=model_options,
                custom_value=True,
                sort=False,
                mode=SelectSelectorMode.DROPDOWN,
            )
        ),
    }
    if kind == "openai_compatible":
        fields[probatio.Required(CONF_SERVER_ROLE)] = SelectSelector(
            SelectSelectorConfig(
                options=list(SERVER_ROLES),
                mode=SelectSelectorMode.LIST,
                translation_key=CONF_SERVER_ROLE,
            )
        )
    fields.update(
        {
            probatio.Required(CONF_ENABLED): BooleanSelector(),
            probatio.Required(CONF_PRIORITY): whole_box(1, 100),
            probatio.Required(CONF_WEIGHT): number_box(0.1, 100, step=0.1),
            # Empty: no daily limit for this provider.
            probatio.Optional(CONF_DAILY_BUDGET): number_box(
                0, 10000, step=0.01, unit="USD"
            ),
            probatio.Optional(CONF_RATE_LIMIT_RPM): whole_box(
                1,
                100000,
                unit=UNIT_REQUESTS_PER_MINUTE,
                translation_key="rate_limit_rpm",
            ),
            probatio.Optional(CONF_RATE_LIMIT_TPM): whole_box(
                1,
                100000000,
                unit=UNIT_TOKENS_PER_MINUTE,
                translation_key="rate_limit_tpm",
            ),
            probatio.Optional(CONF_RATE_LIMIT_RPH): whole_box(
                1,
                1000000,
                unit=UNIT_REQUESTS_PER_HOUR,
                translation_key="rate_limit_rph",
            ),
            probatio.Required(
                CONF_BURST_ALLOWANCE, default=ProviderSettings().burst_allowance
            ): whole_box(
                0, 10000, unit=UNIT_REQUESTS, translation_key="burst_allowance"
            ),
            probatio.Optional(CONF_ADMIN_ONLY, default=False): BooleanSelector(),
        }
    )
    if kind == "ollama":
        # Whether local-only requests may use this server; its -cloud models never serve them.
        fields[probatio.Required(CONF_LOCAL, default=local)] = BooleanSelector()
    return fields


def suggested_local(
    kind: str, current: Mapping[str, Any], base_url: str | None
) -> bool:
    """Trust an Ollama server as local when it says so, else when its host is private."""
    stated = current.get(CONF_LOCAL)
    if stated is not None:
        return bool(stated)
    return is_private_host(base_url or PROVIDER_CLASSES[kind].default_base_url or "")


def suggested_settings(
    kind: str,
    current: Mapping[str, Any],
    *,
    models: tuple[str, ...],
    base_url: str | None,
    gateway: GatewayFinding,
    today: date,
) -> dict[str, Any]:
    """Return what the settings step shows: the saved values, else the defaults and suggestions."""
    defaults = ProviderSettings()
    model = current.get(CONF_MODEL)
    if not model or is_retired(model, today):
        # A shut-down model is never pre-selected, not even the one being replaced.
        model = recommended_model(kind, models, today=today)
    suggested = {
        CONF_MODEL: model,
        CONF_ENABLED: current.get(CONF_ENABLED, defaults.enabled),
        CONF_PRIORITY: current.get(CONF_PRIORITY, defaults.priority),
        CONF_WEIGHT: current.get(CONF_WEIGHT, defaults.weight),
        CONF_DAILY_BUDGET: current.get(CONF_DAILY_BUDGET, defaults.daily_budget),
        CONF_RATE_LIMIT_RPM: current.get(CONF_RATE_LIMIT_RPM, defaults.rate_limit_rpm),
        CONF_RATE_LIMIT_TPM: current.get(CONF_RATE_LIMIT_TPM, defaults.rate_limit_tpm),
        CONF_RATE_LIMIT_RPH: current.get(CONF_RATE_LIMIT_RPH, defaults.rate_limit_rph),
        CONF_BURST_ALLOWANCE: current.get(
            CONF_BURST_ALLOWANCE, defaults.burst_allowance
        ),
        CONF_ADMIN_ONLY: current.get(CONF_ADMIN_ONLY, False),
        SECTION_ADVANCED: {
            CONF_TIMEOUT_SECONDS: current.get(
                CONF_TIMEOUT_SECONDS, defaults.timeout_seconds
            ),
            CONF_MAX_RETRIES: current.get(CONF_MAX_RETRIES, defaults.max_retries),
            CONF_FAILURE_THRESHOLD: current.get(
                CONF_FAILURE_THRESHOLD, defaults.breaker.failure_threshold
            ),
            CONF_BREAKER_TIMEOUT: current.get(
                CONF_BREAKER_TIMEOUT, defaults.breaker.timeout_seconds
            ),
            CONF_HALF_OPEN_MAX_CALLS: current.get(
                CONF_HALF_OPEN_MAX_CALLS, defaults.breaker.half_open_max_calls
            ),
        },
    }
    if current.get(CONF_TTFT_TIMEOUT) is not None:
        # Empty stays empty: the default by locality (a None suggestion would not validate).
        suggested[SECTION_ADVANCED][CONF_TTFT_TIMEOUT] = current[CONF_TTFT_TIMEOUT]
    if kind == "ollama":
        suggested[CONF_LOCAL] = suggested_local(kind, current, base_url)
    # An empty override stays empty (a None suggestion would not validate as a number).
    suggested.update(
        {
            key: current[key]
            for key in (CONF_PRICE_INPUT, CONF_PRICE_OUTPUT)
            if current.get(key) is not None
        }
    )
    if kind == "openai_compatible":
        # Only a suggestion: a private host may well be a gateway to the cloud (see strings).
        # A gateway found by the connection test forwards, wherever it is.
        suggested[CONF_SERVER_ROLE] = current.get(CONF_SERVER_ROLE) or (
            SERVER_RUNS_MODELS
            if not gateway.is_gateway and is_private_host(base_url or "")
            else SERVER_FORWARDS
        )
    return suggested
