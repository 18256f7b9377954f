"""Tests for setting up, updating and unloading AICleaner."""

from __future__ import annotations

from types import MappingProxyType

from homeassistant.config_entries import ConfigEntryState, ConfigSubentry
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.aicleaner.const import (
    CONF_BASE_URL,
    CONF_CACHE_TTL,
    CONF_DAILY_BUDGET,
    CONF_MODEL,
    CONF_SELECTION_STRATEGY,
    DOMAIN,
)
from custom_components.aicleaner.credentials import async_get_vault
from custom_components.aicleaner.router import SelectionStrategy
from custom_components.aicleaner.router.errors import AllProvidersFailed
from custom_components.aicleaner.router.models import AIRequest
from tests.simulator import SimulatorServer


async def _setup(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def test_entry_loads_and_unloads(hass: HomeAssistant) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN, title="AICleaner", options={CONF_SELECTION_STRATEGY: "priority"}
    )
    await _setup(hass, entry)
    assert entry.state is ConfigEntryState.LOADED
    assert (
        entry.runtime_data.router.config.selection_strategy
        is SelectionStrategy.PRIORITY
    )
    assert entry.runtime_data.router.provider_names == ()

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED


async def test_changing_options_updates_the_router_without_a_reload(
    hass: HomeAssistant,
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN, title="AICleaner", options={CONF_CACHE_TTL: 300}
    )
    await _setup(hass, entry)
    router = entry.runtime_data.router

    hass.config_entries.async_update_entry(entry, options={CONF_CACHE_TTL: 10})
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.router is router
    assert router.config.cache_ttl == 10


async def test_provider_subentries_become_router_providers_with_decrypted_keys(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    vault = await async_get_vault(hass)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="AICleaner",
        subentries_data=[
            {
                "subentry_type": "openai",
                "title": "Cloud",
                "unique_id": None,
                "data": {
                    CONF_API_KEY: vault.encrypt("sk-test-1"),
                    CONF_BASE_URL: f"{simulator.url}/openai/v1",
                    CONF_MODEL: "gpt-4o-mini",
                    CONF_DAILY_BUDGET: None,
                },
            }
        ],
    )
    await _setup(hass, entry)
    router = entry.runtime_data.router
    [key] = entry.subentries
    assert router.provider_names == (key,)
    assert router.provider_stats(key).label == "Cloud"
    assert router.provider_stats(key).budget_remaining is None

    response = await router.process(AIRequest(prompt="Is the kitchen clean?"))
    assert response.provider == key
    assert response.model.startswith(
        "gpt-4o-mini"
    )  # OpenAI answers with the dated snapshot
    sent = simulator.sim.requests["openai"][-1]
    assert sent.headers["Authorization"] == "Bearer sk-test-1"


async def test_adding_a_subentry_keeps_todays_router_state(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    vault = await async_get_vault(hass)
    entry = MockConfigEntry(domain=DOMAIN, title="AICleaner")
    await _setup(hass, entry)
    router = entry.runtime_data.router

    hass.config_entries.async_add_subentry(
        entry,
        ConfigSubentry(
            data=MappingProxyType(
                {
                    CONF_API_KEY: vault.encrypt("sk-ant-1"),
                    CONF_BASE_URL: f"{simulator.url}/anthropic",
                    CONF_MODEL: "claude-haiku-4-5",
                }
            ),
            subentry_type="anthropic",
            title="Claude",
            unique_id=None,
        ),
    )
    await hass.async_block_till_done()

    assert entry.runtime_data.router is router
    [key] = entry.subentries
    assert router.provider_names == (key,)
    assert router.provider_stats(key).label == "Claude"
    response = await router.process(AIRequest(prompt="hello"))
    assert response.provider == key


async def test_rotating_a_rejected_key_reopens_the_provider_at_once(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    vault = await async_get_vault(hass)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="AICleaner",
        subentries_data=[
            {
                "subentry_type": "gemini",
                "title": "Gemini",
                "unique_id": None,
                "data": {
                    CONF_API_KEY: vault.encrypt("bad-key"),
                    CONF_BASE_URL: f"{simulator.url}/gemini",
                    CONF_MODEL: "gemini-2.5-flash",
                },
            }
        ],
    )
    await _setup(hass, entry)
    router = entry.runtime_data.router
    with pytest.raises(AllProvidersFailed) as failed:
        await router.process(AIRequest(prompt="hello", use_cache=False))
    assert [a.category for a in failed.value.attempts] == ["auth"]
    # An auth failure keeps the breaker open until the key changes: no more calls go out.
    calls = simulator.sim.request_count("gemini")
    with pytest.raises(AllProvidersFailed):
        await router.process(AIRequest(prompt="hello again", use_cache=False))
    assert simulator.sim.request_count("gemini") == calls

    subentry = next(iter(entry.subentries.values()))
    hass.config_entries.async_update_subentry(
        entry, subentry, data={**subentry.data, CONF_API_KEY: vault.encrypt("good-key")}
    )
    await hass.async_block_till_done()

    response = await router.process(AIRequest(prompt="hello", use_cache=False))
    assert response.provider == subentry.subentry_id
    assert simulator.sim.last_request("gemini").headers["x-goog-api-key"] == "good-key"


async def test_renaming_a_provider_keeps_todays_spend(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    vault = await async_get_vault(hass)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="AICleaner",
        subentries_data=[
            {
                "subentry_type": "openai",
                "title": "Kitchen",
                "unique_id": None,
                "data": {
                    CONF_API_KEY: vault.encrypt("sk-1"),
                    CONF_BASE_URL: f"{simulator.url}/openai/v1",
                    CONF_MODEL: "gpt-4o-mini",
                    CONF_DAILY_BUDGET: 1.0,
                },
            }
        ],
    )
    await _setup(hass, entry)
    router = entry.runtime_data.router
    await router.process(AIRequest(prompt="hello", use_cache=False))
    [key] = entry.subentries
    assert router.provider_stats(key).label == "Kitchen"
    spent = router.provider_stats(key).cost_today
    assert spent > 0

    subentry = next(iter(entry.subentries.values()))
    hass.config_entries.async_update_subentry(entry, subentry, title="Garage")
    await hass.async_block_till_done()

    assert router.provider_names == (key,)
    assert router.provider_stats(key).label == "Garage"
    assert router.provider_stats(key).cost_today == spent
    assert router.provider_stats(key).budget_remaining == pytest.approx(1.0 - spent)
    response = await router.process(AIRequest(prompt="again", use_cache=False))
    assert response.provider == key


async def test_a_provider_on_a_retired_model_gets_a_repair_until_its_model_changes(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    from homeassistant.helpers import issue_registry as ir

    from custom_components.aicleaner.model_repairs import issue_id

    vault = await async_get_vault(hass)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="AICleaner",
        subentries_data=[
            {
                "subentry_type": "openai",
                "title": "Old",
                "unique_id": None,
                "data": {
                    CONF_API_KEY: vault.encrypt("sk-1"),
                    CONF_BASE_URL: f"{simulator.url}/openai/v1",
                    CONF_MODEL: "gpt-4-turbo",
                },
            }
        ],
    )
    await _setup(hass, entry)
    [subentry] = entry.subentries.values()
    registry = ir.async_get(hass)
    assert registry.async_get_issue(DOMAIN, issue_id(subentry.subentry_id)) is not None

    hass.config_entries.async_update_subentry(
        entry, subentry, data={**subentry.data, CONF_MODEL: "gpt-4o-mini"}
    )
    await hass.async_block_till_done()
    assert registry.async_get_issue(DOMAIN, issue_id(subentry.subentry_id)) is None
