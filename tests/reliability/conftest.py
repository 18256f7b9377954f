"""Fixtures of the reliability suite: AICleaner over the simulator with small, fast limits."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from hypothesis import HealthCheck, settings
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.aicleaner.const import (
    CONF_BASE_URL,
    CONF_BREAKER_TIMEOUT,
    CONF_DAILY_BUDGET,
    CONF_FAILURE_THRESHOLD,
    CONF_HALF_OPEN_MAX_CALLS,
    CONF_MAX_RETRIES,
    CONF_MODEL,
    CONF_PRIORITY,
    CONF_RATE_LIMIT_RPH,
    CONF_RATE_LIMIT_RPM,
    CONF_RATE_LIMIT_TPM,
    CONF_SELECTION_STRATEGY,
    CONF_TIMEOUT_SECONDS,
    DOMAIN,
)
from custom_components.aicleaner.credentials import async_get_vault
from tests.simulator import SimulatorServer

# Hypothesis settings of the fuzzing tests: the same examples every run (no database), no deadline
# (a call may wait for a provider), and fixtures shared by the examples of one test are fine.
FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

PATHS = {
    "openai": "/openai/v1",
    "anthropic": "/anthropic",
    "gemini": "/gemini",
    "ollama": "/ollama",
}
MODELS = {
    "openai": "gpt-4o-mini",
    "anthropic": "claude-haiku-4-5",
    "gemini": "gemini-2.5-flash",
    "ollama": "llava",
}
# One distinct key per provider kind: the secrets check looks for each of them everywhere.
KEYS = {
    "openai": "sk-reliability-openai-5d1f0c2a9b",
    "anthropic": "sk-ant-reliability-7e4b11c0d3",
    "gemini": "AIzaReliabilityGemini0x81c2f",
}
# Attempt timeout of every provider: what a hanging or stalled answer costs in real time.
FAST_ATTEMPT_TIMEOUT = 0.25
FAST_PROVIDER: dict[str, Any] = {
    CONF_TIMEOUT_SECONDS: FAST_ATTEMPT_TIMEOUT,
    CONF_MAX_RETRIES: 2,
    CONF_FAILURE_THRESHOLD: 3,
    CONF_BREAKER_TIMEOUT: 0.05,
    CONF_HALF_OPEN_MAX_CALLS: 3,
    CONF_RATE_LIMIT_RPM: None,
    CONF_RATE_LIMIT_TPM: None,
    CONF_RATE_LIMIT_RPH: None,
    CONF_DAILY_BUDGET: None,
}
FAST_ROUTER: dict[str, Any] = {
    CONF_SELECTION_STRATEGY: "priority",
    "backoff_base": 0.01,
    "backoff_max": 0.05,
    "max_retry_wait": 0.5,
    "cache_ttl": 0,
}

type Setup = Callable[..., Coroutine[Any, Any, MockConfigEntry]]


@pytest.fixture
def setup_reliable(hass: HomeAssistant, simulator: SimulatorServer) -> Setup:
    """Set up AICleaner with the given providers (kind, title, extra data), in priority order."""

    async def _setup(
        *providers: tuple[str, str, dict[str, Any]],
        options: dict[str, Any] | None = None,
    ) -> MockConfigEntry:
        vault = await async_get_vault(hass)
        entry = MockConfigEntry(
            domain=DOMAIN,
            title="AICleaner",
            options={**FAST_ROUTER, **(options or {})},
            subentries_data=[
                {
                    "subentry_type": kind,
                    "title": title,
                    "unique_id": None,
                    "data": {
                        **(
                            {CONF_API_KEY: vault.encrypt(KEYS[kind])}
                            if kind in KEYS
                            else {}
                        ),
                        CONF_BASE_URL: f"{simulator.url}{PATHS[kind]}",
                        CONF_MODEL: MODELS[kind],
                        CONF_PRIORITY: index + 1,
                        **FAST_PROVIDER,
                        **extra,
                    },
                }
                for index, (kind, title, extra) in enumerate(providers)
            ],
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        return entry

    return _setup


async def analyze(hass: HomeAssistant, **data: Any) -> Any:
    """Call aicleaner.analyze and return its response."""
    return await hass.services.async_call(
        DOMAIN, "analyze", data, blocking=True, return_response=True
    )
