"""Tests for the AICleaner config flow."""

from __future__ import annotations

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.aicleaner.const import (
    CONF_BATCH_SIZE,
    CONF_CACHE_TTL,
    CONF_SELECTION_STRATEGY,
    DOMAIN,
)


async def test_user_flow_creates_the_router_entry(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] is None

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_SELECTION_STRATEGY: "priority", CONF_CACHE_TTL: 60, CONF_BATCH_SIZE: 3},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "AICleaner"
    assert result["data"] == {}
    assert result["options"] == {
        CONF_SELECTION_STRATEGY: "priority",
        CONF_CACHE_TTL: 60,
        CONF_BATCH_SIZE: 3,
    }
    entries = hass.config_entries.async_entries(DOMAIN)
    assert len(entries) == 1
    assert entries[0].state is ConfigEntryState.LOADED


async def test_user_flow_defaults_to_adaptive_routing(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["options"] == {
        CONF_SELECTION_STRATEGY: "adaptive",
        CONF_CACHE_TTL: 300,
        CONF_BATCH_SIZE: 5,
    }


async def test_second_flow_aborts_because_one_entry_is_allowed(
    hass: HomeAssistant,
) -> None:
    MockConfigEntry(domain=DOMAIN, title="AICleaner").add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "single_instance_allowed"
