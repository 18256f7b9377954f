"""The Assist agent's subentry flow (agent_flow.py): add an agent, change it, and what it may choose."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import SOURCE_RECONFIGURE, ConfigEntryState
from homeassistant.const import CONF_API_KEY, CONF_LLM_HASS_API, CONF_NAME, CONF_PROMPT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import llm
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.aicleaner.agent_config import (
    CONF_AGENT_PROVIDERS,
    CONF_MAX_TOKENS,
    CONF_MAX_TOOL_ROUNDS,
    CONF_PROVIDER_ORDER,
    CONF_TEMPERATURE,
    CONF_TTFT_TIMEOUT,
    SUBENTRY_CONVERSATION,
    AgentSettings,
)
from custom_components.aicleaner.const import (
    CONF_BASE_URL,
    CONF_DAILY_BUDGET,
    CONF_MODEL,
    DOMAIN,
)
from custom_components.aicleaner.credentials import async_get_vault
from tests.simulator import SimulatorServer
from tests.test_config_flow import _start_subentry_flow, _suggested

AGENT_SETTINGS = {
    CONF_PROMPT: "You are the house. Answer in one sentence.",
    CONF_LLM_HASS_API: [llm.LLM_API_ASSIST],
    CONF_PROVIDER_ORDER: "priority",
    CONF_MAX_TOOL_ROUNDS: 4,
    CONF_TTFT_TIMEOUT: 2.5,
    CONF_MAX_TOKENS: 300,
    CONF_TEMPERATURE: 0.2,
    CONF_DAILY_BUDGET: 0.25,
}


async def _entry(
    hass: HomeAssistant, simulator: SimulatorServer, *agents: dict[str, Any]
) -> MockConfigEntry:
    """A loaded entry with an OpenAI and an Ollama provider on the simulator, plus `agents`."""
    # Assist's LLM API is registered by `llm`, which `conversation` sets up (as a running HA has).
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    vault = await async_get_vault(hass)
    providers = [
        {
            "subentry_type": "openai",
            "title": "OpenAI",
            "unique_id": None,
            "data": {
                CONF_API_KEY: vault.encrypt("sk-flow"),
                CONF_BASE_URL: simulator.provider_url("openai"),
                CONF_MODEL: "gpt-4o-mini",
            },
        },
        {
            "subentry_type": "ollama",
            "title": "Ollama",
            "unique_id": None,
            "data": {
                CONF_BASE_URL: simulator.provider_url("ollama"),
                CONF_MODEL: "llava",
            },
        },
    ]
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="AICleaner",
        minor_version=2,
        subentries_data=[
            *providers,
            *(
                {
                    "subentry_type": SUBENTRY_CONVERSATION,
                    "title": agent.pop(CONF_NAME),
                    "unique_id": None,
                    "data": agent,
                }
                for agent in agents
            ),
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


def _ids_by_title(entry: MockConfigEntry) -> dict[str, str]:
    return {subentry.title: key for key, subentry in entry.subentries.items()}


def _options(result: dict, field: str) -> list[Any]:
    """The choices a select field of a form offers."""
    for key, selector in result["data_schema"].schema.items():
        if str(key) == field:
            return list(selector.config["options"])
    raise AssertionError(f"no field {field}")


async def test_a_new_agent_starts_from_the_defaults_and_saves_them(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _entry(hass, simulator)
    result = await _start_subentry_flow(hass, entry, SUBENTRY_CONVERSATION)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    suggested = _suggested(result)
    assert suggested[CONF_PROMPT] == llm.DEFAULT_INSTRUCTIONS_PROMPT
    assert suggested[CONF_LLM_HASS_API] == [llm.LLM_API_ASSIST]
    assert suggested[CONF_AGENT_PROVIDERS] == []
    assert suggested[CONF_PROVIDER_ORDER] == "local_first"
    assert suggested[CONF_MAX_TOOL_ROUNDS] == 10

    # Only the name typed: the required fields keep what the form showed; the optional ones (prompt,
    # APIs, providers) are left empty, as when a user clears them (core then uses its own prompt).
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: "Kitchen voice"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    agent = next(
        s for s in entry.subentries.values() if s.subentry_type == SUBENTRY_CONVERSATION
    )
    assert agent.title == "Kitchen voice"
    assert AgentSettings.from_data(agent.data) == AgentSettings(
        prompt=None,
        llm_apis=(),
        providers=frozenset(),
        provider_order="local_first",
        max_tool_rounds=10,
        ttft_timeout=30.0,
        max_tokens=1024,
        temperature=0.7,
        daily_budget=1.0,
    )
    # An agent is no provider: the router never routes to it, and the entry stays loaded.
    assert entry.state is ConfigEntryState.LOADED
    assert set(entry.runtime_data.router.provider_names) == {
        key for key, s in entry.subentries.items() if s.subentry_type != "conversation"
    }


async def test_an_agent_saves_every_setting_it_is_given(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _entry(hass, simulator)
    ollama = _ids_by_title(entry)["Ollama"]
    result = await _start_subentry_flow(hass, entry, SUBENTRY_CONVERSATION)
    # The providers offered are the entry's providers, by title, and never an agent.
    assert _options(result, CONF_AGENT_PROVIDERS) == [
        {"value": ollama, "label": "Ollama"},
        {"value": _ids_by_title(entry)["OpenAI"], "label": "OpenAI"},
    ]
    assert {o["value"] for o in _options(result, CONF_LLM_HASS_API)} == {
        api.id for api in llm.async_get_apis(hass)
    }
    assert "local_first" in _options(result, CONF_PROVIDER_ORDER)

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {CONF_NAME: "Voice", CONF_AGENT_PROVIDERS: [ollama], **AGENT_SETTINGS},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    agent = entry.subentries[_ids_by_title(entry)["Voice"]]
    assert dict(agent.data) == {CONF_AGENT_PROVIDERS: [ollama], **AGENT_SETTINGS}
    assert AgentSettings.from_data(agent.data).providers == {ollama}


async def test_reconfigure_shows_the_current_settings_and_saves_changes(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _entry(
        hass,
        simulator,
        {CONF_NAME: "Voice", CONF_AGENT_PROVIDERS: [], **AGENT_SETTINGS},
    )
    agent_id = _ids_by_title(entry)["Voice"]
    result = await _start_subentry_flow(
        hass,
        entry,
        SUBENTRY_CONVERSATION,
        source=SOURCE_RECONFIGURE,
        subentry_id=agent_id,
    )
    assert result["step_id"] == "init"
    # A name is asked only when the agent is added (the subentry is renamed from its menu).
    assert CONF_NAME not in {str(key) for key in result["data_schema"].schema}
    suggested = _suggested(result)
    for key, value in AGENT_SETTINGS.items():
        assert suggested[key] == value, key

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {**AGENT_SETTINGS, CONF_MAX_TOOL_ROUNDS: 2, CONF_LLM_HASS_API: []},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    settings = AgentSettings.from_data(entry.subentries[agent_id].data)
    assert settings.max_tool_rounds == 2
    assert settings.llm_apis == ()
    assert settings.daily_budget == 0.25


async def test_a_removed_provider_is_not_offered_back_on_reconfigure(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _entry(
        hass,
        simulator,
        {CONF_NAME: "Voice", CONF_AGENT_PROVIDERS: ["gone"], **AGENT_SETTINGS},
    )
    result = await _start_subentry_flow(
        hass,
        entry,
        SUBENTRY_CONVERSATION,
        source=SOURCE_RECONFIGURE,
        subentry_id=_ids_by_title(entry)["Voice"],
    )
    assert _suggested(result)[CONF_AGENT_PROVIDERS] == []


async def test_an_agent_cannot_be_added_while_the_entry_is_not_loaded(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _entry(hass, simulator)
    assert await hass.config_entries.async_unload(entry.entry_id)
    result = await _start_subentry_flow(hass, entry, SUBENTRY_CONVERSATION)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "entry_not_loaded"


async def test_routing_rules_and_analyze_see_only_providers_beside_an_agent(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _entry(hass, simulator, {CONF_NAME: "Voice", **AGENT_SETTINGS})
    answer = await hass.services.async_call(
        DOMAIN,
        "analyze",
        {"prompt": "What needs cleaning?", "provider": ["OpenAI"]},
        blocking=True,
        return_response=True,
    )
    assert answer["provider"] == "OpenAI"
    # Naming the agent as a provider is refused as an unknown provider, listing only providers.
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "add_rule"}
    )
    assert {o["label"] for o in _options(result, "providers")} == {"OpenAI", "Ollama"}
