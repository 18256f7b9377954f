"""Setting up AICleaner with fixed ids against the simulator, for the coordinator and entity tests."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.aicleaner.const import (
    CONF_BASE_URL,
    CONF_DAILY_BUDGET,
    CONF_MODEL,
    CONF_PRIORITY,
    CONF_SELECTION_STRATEGY,
    DOMAIN,
)
from custom_components.aicleaner.coordinator import FIRST_CHECK_DELAY
from custom_components.aicleaner.credentials import async_get_vault
from tests.simulator import SimulatorServer

ENTRY_ID = "01JAICLEANERENTRY00000000"
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


def subentry_id(kind: str) -> str:
    """The fixed subentry id the helper gives a provider of `kind`."""
    return f"01J{kind.upper():0<22}"[:25]


async def async_setup_providers(
    hass: HomeAssistant,
    simulator: SimulatorServer,
    *providers: tuple[str, str, dict[str, Any]],
    options: dict[str, Any] | None = None,
) -> MockConfigEntry:
    """Set up AICleaner with providers (kind, title, extra data) in priority order, fixed ids."""
    vault = await async_get_vault(hass)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="AICleaner",
        entry_id=ENTRY_ID,
        options={CONF_SELECTION_STRATEGY: "priority", **(options or {})},
        subentries_data=[
            {
                "subentry_id": subentry_id(kind),
                "subentry_type": kind,
                "title": title,
                "unique_id": None,
                "data": {
                    **(
                        {}
                        if kind == "ollama"
                        else {CONF_API_KEY: vault.encrypt("sk-1")}
                    ),
                    CONF_BASE_URL: f"{simulator.url}{PATHS[kind]}",
                    CONF_MODEL: MODELS[kind],
                    CONF_PRIORITY: index + 1,
                    CONF_DAILY_BUDGET: None,
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


async def async_first_health_calls(hass: HomeAssistant) -> None:
    """Let the first round of health calls, due shortly after setup, run."""
    async_fire_time_changed(
        hass, dt_util.utcnow() + timedelta(seconds=FIRST_CHECK_DELAY + 1)
    )
    # The coordinator's timed refresh runs as a background task.
    await hass.async_block_till_done(wait_background_tasks=True)


async def analyze(hass: HomeAssistant, **data: Any) -> Any:
    """Call `aicleaner.analyze` and return its answer."""
    return await hass.services.async_call(
        DOMAIN, "analyze", data, blocking=True, return_response=True
    )
