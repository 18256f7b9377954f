"""Tests for the AICleaner config flow."""

from __future__ import annotations

from unittest.mock import patch

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    SOURCE_USER,
    ConfigEntryState,
)
from homeassistant.const import CONF_API_KEY, CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.aicleaner.const import (
    CONF_BASE_URL,
    CONF_BATCH_SIZE,
    CONF_CACHE_TTL,
    CONF_DAILY_BUDGET,
    CONF_ENABLED,
    CONF_MODEL,
    CONF_PRIORITY,
    CONF_RATE_LIMIT_RPM,
    CONF_SELECTION_STRATEGY,
    CONF_WEIGHT,
    DOMAIN,
)
from custom_components.aicleaner.credentials import async_get_vault
from tests.simulator import Fault, SimulatorServer


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


# --- provider subentries ------------------------------------------------------------------------


async def _router_entry(hass: HomeAssistant) -> MockConfigEntry:
    entry = MockConfigEntry(domain=DOMAIN, title="AICleaner")
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def _start_subentry_flow(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    kind: str,
    source: str = SOURCE_USER,
    **context: str,
) -> dict:
    return await hass.config_entries.subentries.async_init(
        (entry.entry_id, kind), context={"source": source, **context}
    )


async def test_adding_a_provider_tests_the_key_lists_models_and_stores_the_key_encrypted(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _router_entry(hass)
    result = await _start_subentry_flow(hass, entry, "openai")
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "connection"

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            CONF_NAME: "OpenAI",
            CONF_API_KEY: "sk-secret-123",
            CONF_BASE_URL: f"{simulator.url}/openai/v1",
        },
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "settings"
    # The model list came from the provider's free model-list call.
    models = result["data_schema"].schema[CONF_MODEL].config["options"]
    assert "gpt-4o-mini" in models
    assert simulator.sim.request_count("openai") == 1
    assert simulator.sim.requests["openai"][0].path.endswith("/models")

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            CONF_MODEL: "gpt-4o-mini",
            CONF_ENABLED: True,
            CONF_PRIORITY: 2,
            CONF_WEIGHT: 1.5,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    subentry = next(iter(entry.subentries.values()))
    assert subentry.title == "OpenAI"
    assert subentry.subentry_type == "openai"
    token = subentry.data[CONF_API_KEY]
    assert "sk-secret-123" not in token
    assert (await async_get_vault(hass)).decrypt(token) == "sk-secret-123"
    # Left empty: no budget and no rate limit, rather than the defaults.
    assert subentry.data[CONF_DAILY_BUDGET] is None
    assert subentry.data[CONF_RATE_LIMIT_RPM] is None
    await hass.async_block_till_done()
    assert entry.runtime_data.router.provider_names == ("OpenAI",)
    stats = entry.runtime_data.router.provider_stats("OpenAI")
    assert stats.budget_remaining is None


async def test_provider_with_rejected_key_shows_invalid_auth(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _router_entry(hass)
    result = await _start_subentry_flow(hass, entry, "anthropic")
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            CONF_NAME: "Claude",
            CONF_API_KEY: "bad-key",
            CONF_BASE_URL: f"{simulator.url}/anthropic",
        },
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "connection"
    assert result["errors"] == {"base": "invalid_auth"}
    assert not entry.subentries


async def test_unreachable_provider_shows_cannot_connect(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _router_entry(hass)
    simulator.sim.set_fault("gemini", Fault(kind="reset"))
    result = await _start_subentry_flow(hass, entry, "gemini")
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            CONF_NAME: "Gemini",
            CONF_API_KEY: "g-key",
            CONF_BASE_URL: f"{simulator.url}/gemini",
        },
    )
    assert result["errors"] == {"base": "cannot_connect"}


async def test_provider_names_must_be_unique(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _router_entry(hass)
    for expected in (None, {CONF_NAME: "name_exists"}):
        result = await _start_subentry_flow(hass, entry, "ollama")
        schema_keys = {str(key) for key in result["data_schema"].schema}
        assert CONF_API_KEY not in schema_keys  # Ollama takes no key
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"],
            {CONF_NAME: "Local", CONF_BASE_URL: f"{simulator.url}/ollama"},
        )
        if expected is None:
            result = await hass.config_entries.subentries.async_configure(
                result["flow_id"],
                {
                    CONF_MODEL: "llava",
                    CONF_ENABLED: True,
                    CONF_PRIORITY: 1,
                    CONF_WEIGHT: 1,
                },
            )
            assert result["type"] is FlowResultType.CREATE_ENTRY
        else:
            assert result["errors"] == expected


async def test_openai_compatible_needs_a_valid_base_url(hass: HomeAssistant) -> None:
    entry = await _router_entry(hass)
    result = await _start_subentry_flow(hass, entry, "openai_compatible")
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: "Groq", CONF_BASE_URL: "not a url"}
    )
    assert result["errors"] == {CONF_BASE_URL: "invalid_base_url"}


async def test_reconfigure_rotates_the_key_and_an_empty_key_keeps_it(
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
                    CONF_API_KEY: vault.encrypt("sk-old"),
                    CONF_BASE_URL: f"{simulator.url}/openai/v1",
                    CONF_MODEL: "gpt-4o-mini",
                },
            }
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    subentry_id = next(iter(entry.subentries))

    async def reconfigure(api_key: str) -> None:
        result = await _start_subentry_flow(
            hass, entry, "openai", source=SOURCE_RECONFIGURE, subentry_id=subentry_id
        )
        assert result["step_id"] == "connection"
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"],
            {CONF_API_KEY: api_key, CONF_BASE_URL: f"{simulator.url}/openai/v1"},
        )
        assert result["step_id"] == "settings"
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"],
            {
                CONF_MODEL: "gpt-4o",
                CONF_ENABLED: True,
                CONF_PRIORITY: 1,
                CONF_WEIGHT: 1,
            },
        )
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "reconfigure_successful"
        await hass.async_block_till_done()

    await reconfigure("sk-new")
    assert (
        simulator.sim.requests["openai"][-1].headers["Authorization"] == "Bearer sk-new"
    )
    data = entry.subentries[subentry_id].data
    assert vault.decrypt(data[CONF_API_KEY]) == "sk-new"
    assert data[CONF_MODEL] == "gpt-4o"

    await reconfigure("")
    # The key was tested (with the stored one) and kept.
    assert (
        simulator.sim.requests["openai"][-1].headers["Authorization"] == "Bearer sk-new"
    )
    assert vault.decrypt(entry.subentries[subentry_id].data[CONF_API_KEY]) == "sk-new"


async def test_reconfigure_asks_for_the_key_again_when_the_stored_one_is_unreadable(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="AICleaner",
        subentries_data=[
            {
                "subentry_type": "anthropic",
                "title": "Claude",
                "unique_id": None,
                "data": {
                    CONF_API_KEY: "gAAAAAB-from-a-lost-vault",
                    CONF_MODEL: "claude-haiku-4-5",
                },
            }
        ],
    )
    entry.add_to_hass(hass)
    subentry_id = next(iter(entry.subentries))
    result = await _start_subentry_flow(
        hass, entry, "anthropic", source=SOURCE_RECONFIGURE, subentry_id=subentry_id
    )
    base_url = f"{simulator.url}/anthropic"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_API_KEY: "", CONF_BASE_URL: base_url}
    )
    assert result["errors"] == {CONF_API_KEY: "key_unreadable"}
    assert simulator.sim.request_count("anthropic") == 0

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_API_KEY: "sk-ant-fresh", CONF_BASE_URL: base_url}
    )
    assert result["step_id"] == "settings"


async def test_options_flow_changes_router_settings_without_a_reload(
    hass: HomeAssistant,
) -> None:
    entry = await _router_entry(hass)
    router = entry.runtime_data.router
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"

    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_SELECTION_STRATEGY: "cost_optimal",
            CONF_CACHE_TTL: 0,
            CONF_BATCH_SIZE: 2,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.runtime_data.router is router
    assert router.config.selection_strategy == "cost_optimal"
    assert router.config.cache_ttl == 0
    assert router.config.batch_size == 2


async def test_unexpected_error_while_testing_shows_unknown(
    hass: HomeAssistant, simulator: SimulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    entry = await _router_entry(hass)
    result = await _start_subentry_flow(hass, entry, "openai")
    with patch(
        "custom_components.aicleaner.providers.openai.OpenAIProvider.health",
        side_effect=RuntimeError("boom"),
    ):
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"],
            {
                CONF_NAME: "OpenAI",
                CONF_API_KEY: "sk-x",
                CONF_BASE_URL: f"{simulator.url}/openai/v1",
            },
        )
    assert result["errors"] == {"base": "unknown"}
    assert "Unexpected error while testing openai" in caplog.text


async def test_fixing_an_unreadable_key_brings_a_failed_entry_back(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="AICleaner",
        subentries_data=[
            {
                "subentry_type": "openai",
                "title": "OpenAI",
                "unique_id": None,
                "data": {
                    CONF_API_KEY: "gAAAAAB-from-a-lost-vault",
                    CONF_MODEL: "gpt-4o-mini",
                },
            }
        ],
    )
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    subentry_id = next(iter(entry.subentries))

    result = await _start_subentry_flow(
        hass, entry, "openai", source=SOURCE_RECONFIGURE, subentry_id=subentry_id
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {CONF_API_KEY: "sk-new", CONF_BASE_URL: f"{simulator.url}/openai/v1"},
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
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.router.provider_names == ("OpenAI",)
