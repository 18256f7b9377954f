"""Config flow: what a compatible server does, the price of an unlisted model, admins only."""

from __future__ import annotations

from homeassistant.config_entries import SOURCE_RECONFIGURE
from homeassistant.const import CONF_API_KEY, CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.aicleaner.const import (
    CONF_ADMIN_ONLY,
    CONF_BASE_URL,
    CONF_ENABLED,
    CONF_MODEL,
    CONF_PRICE_INPUT,
    CONF_PRICE_OUTPUT,
    CONF_PRIORITY,
    CONF_SERVER_ROLE,
    CONF_WEIGHT,
    DOMAIN,
)
from custom_components.aicleaner.credentials import async_get_vault
from custom_components.aicleaner.router.errors import AllProvidersFailed
from custom_components.aicleaner.router.models import AIRequest, ModelPrice
from tests.simulator import SimulatorServer
from tests.test_config_flow import _router_entry, _start_subentry_flow, _suggested

SETTINGS = {CONF_ENABLED: True, CONF_PRIORITY: 1, CONF_WEIGHT: 1}


async def _to_settings(
    hass: HomeAssistant, entry, kind: str, base_url: str, api_key: str | None = "k"
) -> dict:
    result = await _start_subentry_flow(hass, entry, kind)
    data = {CONF_NAME: f"My {kind}", CONF_BASE_URL: base_url}
    if api_key is not None:
        data[CONF_API_KEY] = api_key
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], data
    )
    assert result["step_id"] == "settings"
    return result


async def test_a_private_host_listing_cloud_models_is_not_suggested_as_running_them(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    # Issue 19: a private host alone once suggested "runs the models"; a server on 127.0.0.1 that
    # lists gpt-* models is a gateway (tests/test_config_flow_gateway.py has the other cases).
    entry = await _router_entry(hass)
    result = await _to_settings(
        hass, entry, "openai_compatible", simulator.provider_url("openai")
    )
    assert _suggested(result)[CONF_SERVER_ROLE] == "forwards"
    assert result["description_placeholders"]["host"] == "127.0.0.1"
    assert _suggested(result)[CONF_ADMIN_ONLY] is False


async def test_a_loopback_gateway_declared_forwarding_is_charged_and_never_local(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _router_entry(hass)
    result = await _to_settings(
        hass, entry, "openai_compatible", simulator.provider_url("openai")
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {CONF_MODEL: "gpt-4o-mini", CONF_SERVER_ROLE: "forwards", **SETTINGS},
    )
    # gpt-4o-mini has a listed price: no price step.
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_SERVER_ROLE] == "forwards"
    await hass.async_block_till_done()
    router = entry.runtime_data.router
    answer = await router.process(AIRequest(prompt="hello", use_cache=False))
    assert answer.cost > 0
    with pytest.raises(AllProvidersFailed, match="not local"):
        await router.process(AIRequest(prompt="hello", local_only=True))


async def test_a_server_declared_to_run_its_models_is_free_and_local(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _router_entry(hass)
    result = await _to_settings(
        hass, entry, "openai_compatible", simulator.provider_url("openai")
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {CONF_MODEL: "my-local-llama", CONF_SERVER_ROLE: "runs_models", **SETTINGS},
    )
    # Free by the user's statement: no price to ask for.
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    (provider,) = entry.runtime_data.router._slots.values()
    assert provider.provider.is_local
    assert provider.provider.price() == ModelPrice(0.0, 0.0)


async def test_an_unlisted_model_shows_its_reservation_price_and_takes_an_override(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _router_entry(hass)
    result = await _to_settings(
        hass, entry, "openai_compatible", simulator.provider_url("openai")
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {CONF_MODEL: "my-gateway-model", CONF_SERVER_ROLE: "forwards", **SETTINGS},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "price"
    placeholders = result["description_placeholders"]
    assert (placeholders["input"], placeholders["output"]) == ("30", "180")
    assert placeholders["model"] == "my-gateway-model"
    fields = {str(key) for key in result["data_schema"].schema}
    assert fields == {CONF_PRICE_INPUT, CONF_PRICE_OUTPUT}
    # One price alone is refused.
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_PRICE_INPUT: 0.5}
    )
    assert result["errors"] == {"base": "price_incomplete"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_PRICE_INPUT: 0.5, CONF_PRICE_OUTPUT: 1.5}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    (slot,) = entry.runtime_data.router._slots.values()
    assert slot.provider.price() == ModelPrice(0.5, 1.5)


async def test_an_unlisted_model_may_keep_the_reservation_price(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _router_entry(hass)
    result = await _to_settings(hass, entry, "openai", simulator.provider_url("openai"))
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_MODEL: "gpt-7-preview-alias", **SETTINGS}
    )
    assert result["step_id"] == "price"
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_PRICE_INPUT] is None


async def test_the_settings_step_takes_an_override_and_admins_only(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _router_entry(hass)
    result = await _to_settings(hass, entry, "openai", simulator.provider_url("openai"))
    fields = {str(key) for key in result["data_schema"].schema}
    assert {CONF_ADMIN_ONLY, CONF_PRICE_INPUT, CONF_PRICE_OUTPUT} <= fields
    assert CONF_SERVER_ROLE not in fields  # only OpenAI-compatible servers are asked
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            CONF_MODEL: "gpt-4o-mini",
            CONF_ADMIN_ONLY: True,
            CONF_PRICE_INPUT: 0.2,
            CONF_PRICE_OUTPUT: 0.8,
            **SETTINGS,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_ADMIN_ONLY] is True
    await hass.async_block_till_done()
    (slot,) = entry.runtime_data.router._slots.values()
    assert slot.provider.price() == ModelPrice(0.2, 0.8)


async def test_reconfiguring_a_provider_on_a_retired_model_suggests_a_current_one(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    vault = await async_get_vault(hass)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="AICleaner",
        subentries_data=[
            {
                "subentry_type": "openai",
                "title": "OpenAI",
                "unique_id": None,
                "data": {
                    CONF_API_KEY: vault.encrypt("sk-sim-valid-key"),
                    CONF_BASE_URL: simulator.provider_url("openai"),
                    # Shut down on 2026-10-23; the simulator still lists it.
                    CONF_MODEL: "o4-mini",
                },
            }
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    result = await _start_subentry_flow(
        hass,
        entry,
        "openai",
        source=SOURCE_RECONFIGURE,
        subentry_id=next(iter(entry.subentries)),
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {CONF_NAME: "OpenAI", CONF_BASE_URL: simulator.provider_url("openai")},
    )
    assert result["step_id"] == "settings"
    assert _suggested(result)[CONF_MODEL] == "gpt-5.4-mini"
