"""Tests for setting up and unloading AICleaner."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.aicleaner.const import (
    CONF_CACHE_TTL,
    CONF_SELECTION_STRATEGY,
    DOMAIN,
)


async def test_entry_loads_and_unloads(hass: HomeAssistant) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN, title="AICleaner", options={CONF_SELECTION_STRATEGY: "priority"}
    )
    entry.add_to_hass(hass)

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.settings[CONF_SELECTION_STRATEGY] == "priority"

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED


async def test_changing_options_reloads_the_entry(hass: HomeAssistant) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN, title="AICleaner", options={CONF_CACHE_TTL: 300}
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    first = entry.runtime_data

    hass.config_entries.async_update_entry(entry, options={CONF_CACHE_TTL: 10})
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data is not first
    assert entry.runtime_data.settings[CONF_CACHE_TTL] == 10
