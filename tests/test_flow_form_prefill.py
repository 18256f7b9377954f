"""The provider forms as the real frontend fills them: submittable untouched, showing the right values.

Issue 20 item 1: the collapsed section "Timeouts, retries and circuit breaker" was declared with an
empty default, which the frontend takes as the section's whole value; its five required fields were
left empty and every add and reconfigure form failed with "Not all required fields are filled in".
"""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import SOURCE_RECONFIGURE
from homeassistant.const import CONF_API_KEY, CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest

from custom_components.aicleaner.const import (
    CONF_ADMIN_ONLY,
    CONF_BASE_URL,
    CONF_BREAKER_TIMEOUT,
    CONF_BURST_ALLOWANCE,
    CONF_DAILY_BUDGET,
    CONF_ENABLED,
    CONF_FAILURE_THRESHOLD,
    CONF_HALF_OPEN_MAX_CALLS,
    CONF_MAX_RETRIES,
    CONF_MODEL,
    CONF_PRICE_INPUT,
    CONF_PRICE_OUTPUT,
    CONF_PRIORITY,
    CONF_RATE_LIMIT_RPH,
    CONF_RATE_LIMIT_RPM,
    CONF_RATE_LIMIT_TPM,
    CONF_TIMEOUT_SECONDS,
    CONF_WEIGHT,
    SECTION_ADVANCED,
)
from tests.frontend_form import initial_data, missing_required, serialized
from tests.simulator import SimulatorServer
from tests.test_config_flow import _router_entry, _start_subentry_flow
from tests.test_provider_settings_flow import _provider_entry

DEFAULT_ADVANCED = {
    CONF_TIMEOUT_SECONDS: 30,
    CONF_MAX_RETRIES: 3,
    CONF_FAILURE_THRESHOLD: 5,
    CONF_BREAKER_TIMEOUT: 60,
    CONF_HALF_OPEN_MAX_CALLS: 3,
}
SAVED_ADVANCED = {
    CONF_TIMEOUT_SECONDS: 12,
    CONF_MAX_RETRIES: 1,
    CONF_FAILURE_THRESHOLD: 7,
    CONF_BREAKER_TIMEOUT: 240,
    CONF_HALF_OPEN_MAX_CALLS: 2,
}
SAVED_BASICS = {
    CONF_ENABLED: False,
    CONF_PRIORITY: 4,
    CONF_WEIGHT: 2.5,
    CONF_DAILY_BUDGET: 1.25,
    CONF_RATE_LIMIT_RPM: 30,
    CONF_RATE_LIMIT_TPM: 20000,
    CONF_RATE_LIMIT_RPH: 500,
    CONF_BURST_ALLOWANCE: 2,
    CONF_ADMIN_ONLY: True,
}
SAVED_PRICE = {CONF_PRICE_INPUT: 0.5, CONF_PRICE_OUTPUT: 2.0}


async def _submit_untouched(hass: HomeAssistant, result: dict[str, Any]) -> dict:
    """Submit the form with only what the frontend pre-fills; it must let the user do so."""
    fields = serialized(result)
    data = initial_data(fields)
    assert missing_required(fields, data) == []
    return await hass.config_entries.subentries.async_configure(result["flow_id"], data)


@pytest.mark.parametrize(
    ("kind", "connection"),
    [
        ("openai", {CONF_API_KEY: "sk-x", CONF_BASE_URL: "openai/v1"}),
        ("anthropic", {CONF_API_KEY: "sk-ant", CONF_BASE_URL: "anthropic"}),
        ("gemini", {CONF_API_KEY: "g-key", CONF_BASE_URL: "gemini"}),
        ("ollama", {CONF_BASE_URL: "ollama"}),
        ("openai_compatible", {CONF_API_KEY: "sk-c", CONF_BASE_URL: "openai/v1"}),
    ],
)
async def test_a_new_provider_form_submits_untouched_with_the_default_advanced_settings(
    hass: HomeAssistant,
    simulator: SimulatorServer,
    kind: str,
    connection: dict[str, str],
) -> None:
    entry = await _router_entry(hass)
    result = await _start_subentry_flow(hass, entry, kind)
    typed = {
        **connection,
        CONF_NAME: f"My {kind}",
        CONF_BASE_URL: f"{simulator.url}/{connection[CONF_BASE_URL]}",
    }
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], typed
    )
    assert result["step_id"] == "settings", result.get("errors")
    fields = serialized(result)
    assert initial_data(fields)[SECTION_ADVANCED] == DEFAULT_ADVANCED

    result = await _submit_untouched(hass, result)
    if result.get("step_id") == "price":
        result = await _submit_untouched(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    (subentry,) = entry.subentries.values()
    assert {key: subentry.data[key] for key in DEFAULT_ADVANCED} == DEFAULT_ADVANCED
    await hass.async_block_till_done()


async def test_reconfigure_shows_every_saved_value_and_submits_untouched(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _provider_entry(
        hass, simulator, **SAVED_BASICS, **SAVED_ADVANCED, **SAVED_PRICE
    )
    [subentry_id] = entry.subentries
    result = await _start_subentry_flow(
        hass, entry, "openai", source=SOURCE_RECONFIGURE, subentry_id=subentry_id
    )
    shown = initial_data(serialized(result))
    # The stored key never goes back to the browser; an empty field keeps it.
    assert shown == {
        CONF_NAME: "OpenAI",
        CONF_BASE_URL: simulator.provider_url("openai"),
    }
    result = await _submit_untouched(hass, result)
    assert result["step_id"] == "settings", result.get("errors")

    shown = initial_data(serialized(result))
    assert shown == {
        CONF_MODEL: "gpt-4o-mini",
        **SAVED_BASICS,
        **SAVED_PRICE,
        SECTION_ADVANCED: SAVED_ADVANCED,
    }
    result = await _submit_untouched(hass, result)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    data = entry.subentries[subentry_id].data
    assert {key: data[key] for key in SAVED_ADVANCED} == SAVED_ADVANCED
    assert {key: data[key] for key in SAVED_BASICS} == SAVED_BASICS


async def test_reconfigure_through_the_api_without_the_section_keeps_the_saved_values(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _provider_entry(hass, simulator, **SAVED_ADVANCED)
    [subentry_id] = entry.subentries
    result = await _start_subentry_flow(
        hass, entry, "openai", source=SOURCE_RECONFIGURE, subentry_id=subentry_id
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {CONF_NAME: "OpenAI", CONF_BASE_URL: simulator.provider_url("openai")},
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            CONF_MODEL: "gpt-4o-mini",
            CONF_ENABLED: True,
            CONF_PRIORITY: 1,
            CONF_WEIGHT: 1,
        },
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    data = entry.subentries[subentry_id].data
    assert {key: data[key] for key in SAVED_ADVANCED} == SAVED_ADVANCED
