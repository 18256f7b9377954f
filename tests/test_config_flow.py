"""Tests for the AICleaner config flow."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
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

import custom_components.aicleaner
from custom_components.aicleaner.const import (
    CONF_BASE_URL,
    CONF_BATCH_SIZE,
    CONF_CACHE_TTL,
    CONF_DAILY_BUDGET,
    CONF_ENABLED,
    CONF_MODEL,
    CONF_PRIORITY,
    CONF_RATE_LIMIT_RPM,
    CONF_RATE_LIMIT_TPM,
    CONF_SELECTION_STRATEGY,
    CONF_WEIGHT,
    DOMAIN,
)
from custom_components.aicleaner.credentials import async_get_vault
from custom_components.aicleaner.providers import PROVIDER_KINDS
from custom_components.aicleaner.router.errors import (
    AuthError,
    BadRequestError,
    MalformedResponseError,
    NetworkError,
    ProviderServerError,
    ProviderTimeoutError,
    RateLimitError,
)
from tests.e2e.hass_process import free_port
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


def _schema_field(result: dict, name: str) -> Any:
    """The selector of field `name` in a form result."""
    value = next(
        value for key, value in result["data_schema"].schema.items() if key == name
    )
    # probatio.All(selector, Coerce(int)): the selector comes first.
    return value.validators[0] if hasattr(value, "validators") else value


def _suggested(result: dict) -> dict[str, Any]:
    """The values a form result pre-fills, by field."""
    return {
        str(key): key.description["suggested_value"]
        for key in result["data_schema"].schema
        if key.description and "suggested_value" in key.description
    }


def _strings() -> dict[str, Any]:
    return json.loads(
        (Path(custom_components.aicleaner.__file__).parent / "strings.json").read_text(
            encoding="utf-8"
        )
    )


def _provider_strings() -> dict[str, Any]:
    """The texts of each provider kind's subentry flow (not the Assist agent's)."""
    subentries = _strings()["config_subentries"]
    return {kind: subentries[kind] for kind in PROVIDER_KINDS}


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
    models = [o["value"] for o in _schema_field(result, CONF_MODEL).config["options"]]
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
    # The router keys providers by subentry id; the title is what people see.
    assert entry.runtime_data.router.provider_names == (subentry.subentry_id,)
    stats = entry.runtime_data.router.provider_stats(subentry.subentry_id)
    assert stats.label == "OpenAI"
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
    # The same name in another case is the same name (the action finds providers that way).
    for name, expected in (
        ("Local", None),
        ("Local", {CONF_NAME: "name_exists"}),
        ("LOCAL", {CONF_NAME: "name_exists"}),
        (" local ", {CONF_NAME: "name_exists"}),
    ):
        result = await _start_subentry_flow(hass, entry, "ollama")
        schema_keys = {str(key) for key in result["data_schema"].schema}
        assert CONF_API_KEY not in schema_keys  # Ollama takes no key
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"],
            {CONF_NAME: name, CONF_BASE_URL: f"{simulator.url}/ollama"},
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
        assert result["step_id"] == "reconfigure"
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"],
            {
                CONF_NAME: "OpenAI",
                CONF_API_KEY: api_key,
                CONF_BASE_URL: f"{simulator.url}/openai/v1",
            },
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
        result["flow_id"],
        {CONF_NAME: "Claude", CONF_API_KEY: "", CONF_BASE_URL: base_url},
    )
    assert result["errors"] == {CONF_API_KEY: "key_unreadable"}
    assert simulator.sim.request_count("anthropic") == 0

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {CONF_NAME: "Claude", CONF_API_KEY: "sk-ant-fresh", CONF_BASE_URL: base_url},
    )
    assert result["step_id"] == "settings"


async def test_options_flow_changes_router_settings_without_a_reload(
    hass: HomeAssistant,
) -> None:
    entry = await _router_entry(hass)
    router = entry.runtime_data.router
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "init"
    # No rule yet: nothing to change or delete.
    assert result["menu_options"] == ["settings", "add_rule"]

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "settings"}
    )
    assert result["step_id"] == "settings"
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


async def test_reconfiguring_a_provider_with_an_unreadable_key_brings_it_back(
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
    # The entry loads without the provider whose key it cannot read.
    assert await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.LOADED
    router = entry.runtime_data.router
    assert router.provider_names == ()
    subentry_id = next(iter(entry.subentries))

    result = await _start_subentry_flow(
        hass, entry, "openai", source=SOURCE_RECONFIGURE, subentry_id=subentry_id
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            CONF_NAME: "OpenAI",
            CONF_API_KEY: "sk-new",
            CONF_BASE_URL: f"{simulator.url}/openai/v1",
        },
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
    assert entry.runtime_data.router is router
    assert [router.provider_stats(key).label for key in router.provider_names] == [
        "OpenAI"
    ]


# --- what a new user sees (issue 7) ---------------------------------------------------------------

NON_CHAT_OPENAI_MODELS = {
    "dall-e-3",
    "whisper-1",
    "tts-1",
    "text-embedding-3-small",
    "omni-moderation-latest",
}


async def _to_settings(
    hass: HomeAssistant, entry: MockConfigEntry, kind: str, connection: dict[str, Any]
) -> dict:
    result = await _start_subentry_flow(hass, entry, kind)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], connection
    )
    assert result["step_id"] == "settings", result.get("errors")
    return result


async def test_model_step_offers_chat_models_vision_first_and_preselects_the_recommended_one(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _router_entry(hass)
    result = await _to_settings(
        hass,
        entry,
        "openai",
        {
            CONF_NAME: "OpenAI",
            CONF_API_KEY: "sk-x",
            CONF_BASE_URL: f"{simulator.url}/openai/v1",
        },
    )
    field = _schema_field(result, CONF_MODEL)
    options = field.config["options"]
    values = [option["value"] for option in options]
    assert not NON_CHAT_OPENAI_MODELS & set(values)
    assert "gpt-4o-mini" in values
    # Not "dall-e-3", the alphabetically first model of the list.
    assert _suggested(result)[CONF_MODEL] == "gpt-5.4-mini"
    labels = {option["value"]: option["label"] for option in options}
    assert labels["gpt-4o-mini"] == "gpt-4o-mini (sees images)"
    # The frontend keeps our order (vision models first) only when it does not sort by label.
    assert field.config["sort"] is False

    # Accepting the defaults saves a model the provider can chat with.
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], _suggested(result)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert next(iter(entry.subentries.values())).data[CONF_MODEL] == "gpt-5.4-mini"
    await hass.async_block_till_done()


async def test_model_step_marks_only_the_models_that_see_images(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _router_entry(hass)
    result = await _to_settings(
        hass,
        entry,
        "ollama",
        {CONF_NAME: "Local", CONF_BASE_URL: f"{simulator.url}/ollama"},
    )
    options = _schema_field(result, CONF_MODEL).config["options"]
    assert options[0] == {
        "value": "llama3.2-vision:latest",
        "label": "llama3.2-vision:latest (sees images)",
    }
    # The text-only model comes last, unmarked; the embedding model is not offered.
    assert options[-1] == {"value": "llama3.2:latest", "label": "llama3.2:latest"}
    assert "nomic-embed-text:latest" not in [option["value"] for option in options]
    assert _suggested(result)[CONF_MODEL] == "llama3.2-vision:latest"


async def test_an_error_keeps_the_api_key_the_user_typed(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _router_entry(hass)
    typed = {
        CONF_NAME: "Claude",
        CONF_API_KEY: "bad-key",
        CONF_BASE_URL: f"{simulator.url}/anthropic",
    }
    result = await _start_subentry_flow(hass, entry, "anthropic")
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], typed
    )
    assert result["errors"] == {"base": "invalid_auth"}
    assert _suggested(result) == typed

    # Also after an error in another field.
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**typed, CONF_NAME: " ", CONF_API_KEY: "sk-ant-good"}
    )
    assert result["errors"] == {CONF_NAME: "name_required"}
    assert _suggested(result)[CONF_API_KEY] == "sk-ant-good"


async def test_only_the_reconfigure_form_says_an_empty_key_keeps_the_current_one(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _router_entry(hass)
    result = await _start_subentry_flow(hass, entry, "openai")
    assert result["step_id"] == "connection"
    steps_with_a_key = 0
    for kind, texts in _provider_strings().items():
        steps = texts["step"]
        assert steps["reconfigure"]["data"] == steps["connection"]["data"], kind
        if "api_key" not in steps["connection"]["data"]:
            continue
        steps_with_a_key += 1
        assert "keep" not in steps["connection"]["data_description"]["api_key"], kind
        assert "keep" in steps["reconfigure"]["data_description"]["api_key"], kind
    assert steps_with_a_key == 4


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (NetworkError("cannot connect", provider="p"), "cannot_connect"),
        (ProviderTimeoutError("no answer", provider="p"), "cannot_connect"),
        (AuthError("rejected", provider="p", status=401), "invalid_auth"),
        (BadRequestError("not found", provider="p", status=404), "wrong_endpoint"),
        (BadRequestError("no GET", provider="p", status=405), "wrong_endpoint"),
        (BadRequestError("redirected", provider="p", status=301), "wrong_endpoint"),
        (
            MalformedResponseError("HTML page", provider="p", status=200),
            "wrong_endpoint",
        ),
        (RateLimitError("slow down", provider="p", status=429), "provider_unavailable"),
        (ProviderServerError("boom", provider="p", status=500), "provider_unavailable"),
    ],
)
async def test_connection_errors_say_what_is_wrong(
    hass: HomeAssistant, error: Exception, expected: str
) -> None:
    entry = await _router_entry(hass)
    result = await _start_subentry_flow(hass, entry, "openai")
    with patch(
        "custom_components.aicleaner.providers.openai.OpenAIProvider.health",
        side_effect=error,
    ):
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"], {CONF_NAME: "OpenAI", CONF_API_KEY: "sk-x"}
        )
    assert result["errors"] == {"base": expected}
    for kind, texts in _provider_strings().items():
        assert texts["error"][expected], kind


async def test_a_reachable_server_on_a_wrong_path_is_not_called_unreachable(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _router_entry(hass)
    for base_url, expected in (
        (f"{simulator.url}/wrong/v1", "wrong_endpoint"),
        (f"http://127.0.0.1:{free_port()}/v1", "cannot_connect"),
    ):
        result = await _start_subentry_flow(hass, entry, "openai")
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"],
            {CONF_NAME: "OpenAI", CONF_API_KEY: "sk-x", CONF_BASE_URL: base_url},
        )
        assert result["errors"] == {"base": expected}, base_url


@pytest.mark.parametrize(
    ("kind", "official"),
    [
        ("openai", "https://api.openai.com/v1"),
        ("anthropic", "https://api.anthropic.com"),
        ("gemini", "https://generativelanguage.googleapis.com"),
    ],
)
async def test_the_wrong_path_error_names_the_official_address_from_a_placeholder(
    hass: HomeAssistant, simulator: SimulatorServer, kind: str, official: str
) -> None:
    entry = await _router_entry(hass)
    result = await _start_subentry_flow(hass, entry, kind)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {CONF_NAME: kind, CONF_API_KEY: "k", CONF_BASE_URL: f"{simulator.url}/wrong"},
    )
    assert result["errors"] == {"base": "wrong_endpoint"}
    message = _strings()["config_subentries"][kind]["error"]["wrong_endpoint"]
    # hassfest refuses URLs in strings: the address comes in as a placeholder.
    assert "http" not in message
    assert official in message.format(**result["description_placeholders"])


async def _entry_with_providers(
    hass: HomeAssistant, simulator: SimulatorServer
) -> MockConfigEntry:
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
            },
            {
                "subentry_type": "anthropic",
                "title": "Claude",
                "unique_id": None,
                "data": {
                    CONF_API_KEY: vault.encrypt("sk-ant"),
                    CONF_BASE_URL: f"{simulator.url}/anthropic",
                    CONF_MODEL: "claude-haiku-4-5",
                },
            },
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def test_reconfigure_names_the_provider_renames_it_and_ends_with_its_own_message(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _entry_with_providers(hass, simulator)
    subentry_id = next(
        sid for sid, sub in entry.subentries.items() if sub.title == "OpenAI"
    )
    result = await _start_subentry_flow(
        hass, entry, "openai", source=SOURCE_RECONFIGURE, subentry_id=subentry_id
    )
    assert result["step_id"] == "reconfigure"
    assert result["description_placeholders"] == {
        "name": "OpenAI",
        "default_url": "https://api.openai.com/v1",
    }
    assert (
        "{name}"
        in _strings()["config_subentries"]["openai"]["step"]["reconfigure"]["title"]
    )
    # The name is offered for change; the stored key never goes back to the form.
    assert _suggested(result)[CONF_NAME] == "OpenAI"
    assert CONF_API_KEY not in _suggested(result)

    connection = {CONF_API_KEY: "", CONF_BASE_URL: f"{simulator.url}/openai/v1"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**connection, CONF_NAME: "Claude"}
    )
    assert result["errors"] == {CONF_NAME: "name_exists"}

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**connection, CONF_NAME: "Cloud GPT"}
    )
    assert result["step_id"] == "settings"
    assert result["description_placeholders"] == {"name": "Cloud GPT"}
    # Reconfiguring keeps the chosen model rather than the recommended one.
    assert _suggested(result)[CONF_MODEL] == "gpt-4o-mini"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], _suggested(result)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    # Our own message (config_subentries.openai.abort), not HA's generic one.
    assert result.get("translation_domain") is None
    assert _strings()["config_subentries"]["openai"]["abort"]["reconfigure_successful"]
    await hass.async_block_till_done()
    subentry = entry.subentries[subentry_id]
    assert subentry.title == "Cloud GPT"
    assert CONF_NAME not in subentry.data
    assert subentry.data[CONF_MODEL] == "gpt-4o-mini"


async def test_settings_step_describes_itself_and_the_rate_limits_have_units(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _router_entry(hass)
    result = await _to_settings(
        hass,
        entry,
        "gemini",
        {
            CONF_NAME: "Gemini",
            CONF_API_KEY: "g-key",
            CONF_BASE_URL: f"{simulator.url}/gemini",
        },
    )
    assert result["description_placeholders"] == {"name": "Gemini"}
    strings = _strings()
    for field, unit, text in (
        (CONF_RATE_LIMIT_RPM, "requests_per_minute", "requests/min"),
        (CONF_RATE_LIMIT_TPM, "tokens_per_minute", "tokens/min"),
    ):
        config = _schema_field(result, field).config
        assert config["unit_of_measurement"] == unit
        key = config["translation_key"]
        assert strings["selector"][key]["unit_of_measurement"][unit] == text
    assert (
        _schema_field(result, CONF_DAILY_BUDGET).config["unit_of_measurement"] == "USD"
    )
    for kind, texts in _provider_strings().items():
        settings = texts["step"]["settings"]
        assert "{name}" in settings["description"], kind
        # Every new provider starts at priority 1, so the text says what a tie does.
        assert "equal priority" in settings["data_description"][CONF_PRIORITY], kind
