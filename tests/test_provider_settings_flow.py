"""Provider subentry settings of issue 10: limits, retries, breaker, `local`, keys over plain http.

Each is saved by the flow and used by the running router without a reload.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_RECONFIGURE
from homeassistant.const import CONF_API_KEY, CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import InvalidData
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.aicleaner.const import (
    CONF_API_KEY_SET_AT,
    CONF_BASE_URL,
    CONF_BREAKER_TIMEOUT,
    CONF_BURST_ALLOWANCE,
    CONF_ENABLED,
    CONF_FAILURE_THRESHOLD,
    CONF_HALF_OPEN_MAX_CALLS,
    CONF_LOCAL,
    CONF_MAX_RETRIES,
    CONF_MODEL,
    CONF_PRIORITY,
    CONF_RATE_LIMIT_RPH,
    CONF_SELECTION_STRATEGY,
    CONF_TIMEOUT_SECONDS,
    CONF_TTFT_TIMEOUT,
    CONF_WEIGHT,
    DOMAIN,
    SECTION_ADVANCED,
)
from custom_components.aicleaner.credentials import async_get_vault
from custom_components.aicleaner.providers.gateway import GatewayFinding
from custom_components.aicleaner.router import BreakerSettings, ProviderSettings
from custom_components.aicleaner.router.errors import AllProvidersFailed
from custom_components.aicleaner.router.models import AIRequest, HealthResult
from custom_components.aicleaner.router.streaming import TTFT_CLOUD, ttft_deadline
from tests.simulator import Fault, SimulatorServer
from tests.test_config_flow import _router_entry, _start_subentry_flow, _suggested

BASICS = {CONF_ENABLED: True, CONF_PRIORITY: 1, CONF_WEIGHT: 1}
ADVANCED = {
    CONF_TIMEOUT_SECONDS: 1,
    CONF_MAX_RETRIES: 0,
    CONF_FAILURE_THRESHOLD: 1,
    CONF_BREAKER_TIMEOUT: 600,
    CONF_HALF_OPEN_MAX_CALLS: 2,
}
HEALTHY = HealthResult(latency_ms=1.0, models=("gpt-4o-mini", "llava"))


async def _provider_entry(
    hass: HomeAssistant, simulator: SimulatorServer, **data: Any
) -> MockConfigEntry:
    vault = await async_get_vault(hass)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="AICleaner",
        minor_version=2,
        options={CONF_SELECTION_STRATEGY: "priority"},
        subentries_data=[
            {
                "subentry_type": "openai",
                "title": "OpenAI",
                "unique_id": None,
                "data": {
                    CONF_API_KEY: vault.encrypt("sk-old"),
                    CONF_API_KEY_SET_AT: "2026-01-02T03:04:05+00:00",
                    CONF_BASE_URL: simulator.provider_url("openai"),
                    CONF_MODEL: "gpt-4o-mini",
                    **data,
                },
            }
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def _reconfigure_to_settings(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    simulator: SimulatorServer,
    **typed: Any,
) -> dict:
    subentry_id = next(iter(entry.subentries))
    result = await _start_subentry_flow(
        hass, entry, "openai", source=SOURCE_RECONFIGURE, subentry_id=subentry_id
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            CONF_NAME: "OpenAI",
            CONF_BASE_URL: simulator.provider_url("openai"),
            **typed,
        },
    )
    assert result["step_id"] == "settings", result.get("errors")
    return result


# --- limits, retries, breaker --------------------------------------------------------------------


async def test_limits_retries_and_breaker_are_saved_flat_and_used_without_a_reload(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _provider_entry(hass, simulator)
    router = entry.runtime_data.router
    [subentry_id] = entry.subentries
    result = await _reconfigure_to_settings(hass, entry, simulator)
    suggested = _suggested(result)
    # The current (default) values are shown; the advanced ones in their own section.
    assert suggested[CONF_BURST_ALLOWANCE] == 10
    assert suggested[CONF_RATE_LIMIT_RPH] == 3600
    section = next(
        value
        for key, value in result["data_schema"].schema.items()
        if key == SECTION_ADVANCED
    )
    assert section.options == {"collapsed": True}
    assert {
        str(key): key.description["suggested_value"]
        for key in section.schema.schema
        if key.description
    } == {
        CONF_TIMEOUT_SECONDS: 30.0,
        CONF_MAX_RETRIES: 3,
        CONF_FAILURE_THRESHOLD: 5,
        CONF_BREAKER_TIMEOUT: 60.0,
        CONF_HALF_OPEN_MAX_CALLS: 3,
    }

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            CONF_MODEL: "gpt-4o-mini",
            **BASICS,
            CONF_RATE_LIMIT_RPH: 100,
            CONF_BURST_ALLOWANCE: 0,
            SECTION_ADVANCED: ADVANCED,
        },
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    data = entry.subentries[subentry_id].data
    assert SECTION_ADVANCED not in data
    assert {key: data[key] for key in ADVANCED} == ADVANCED
    assert entry.runtime_data.router is router
    settings = router._slots[subentry_id].settings
    assert settings == ProviderSettings(
        rate_limit_rpm=None,
        rate_limit_tpm=None,
        rate_limit_rph=100,
        burst_allowance=0,
        daily_budget=None,
        timeout_seconds=1,
        max_retries=0,
        breaker=BreakerSettings(
            failure_threshold=1, timeout_seconds=600, half_open_max_calls=2
        ),
    )

    # One slow answer: the attempt stops after 1 s, is not retried, and opens the breaker. (The
    # answer would take 10 s; the simulator drops it once the client has left.)
    simulator.sim.set_fault(
        "openai", Fault(kind="latency", latency=10.0, endpoint="generate", count=1)
    )
    calls = simulator.sim.request_count("openai")
    started = hass.loop.time()
    with pytest.raises(AllProvidersFailed) as failed:
        await router.process(AIRequest(prompt="slow", use_cache=False))
    assert hass.loop.time() - started < 4.0
    assert [attempt.category for attempt in failed.value.attempts] == ["timeout"]
    assert simulator.sim.request_count("openai") == calls + 1
    assert router.provider_stats(subentry_id).breaker_state == "open"


def _advanced_suggestions(result: dict) -> dict[str, Any]:
    section = next(
        value
        for key, value in result["data_schema"].schema.items()
        if key == SECTION_ADVANCED
    )
    return {
        str(key): (key.description or {}).get("suggested_value")
        for key in section.schema.schema
    }


async def test_the_first_word_deadline_is_offered_empty_saved_used_and_cleared(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _provider_entry(hass, simulator)
    router = entry.runtime_data.router
    [subentry_id] = entry.subentries
    result = await _reconfigure_to_settings(hass, entry, simulator)
    # Offered in the advanced section, empty: the default by locality (10 s in the cloud).
    assert _advanced_suggestions(result)[CONF_TTFT_TIMEOUT] is None
    assert ttft_deadline(router._slots[subentry_id]) == TTFT_CLOUD

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            CONF_MODEL: "gpt-4o-mini",
            **BASICS,
            SECTION_ADVANCED: {**ADVANCED, CONF_TTFT_TIMEOUT: 4.5},
        },
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.subentries[subentry_id].data[CONF_TTFT_TIMEOUT] == 4.5
    assert router._slots[subentry_id].settings.ttft_timeout == 4.5
    assert ttft_deadline(router._slots[subentry_id]) == 4.5

    # Reconfigure shows the saved value; emptying the field goes back to the default.
    result = await _reconfigure_to_settings(hass, entry, simulator)
    assert _advanced_suggestions(result)[CONF_TTFT_TIMEOUT] == 4.5
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {CONF_MODEL: "gpt-4o-mini", **BASICS, SECTION_ADVANCED: ADVANCED},
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.subentries[subentry_id].data[CONF_TTFT_TIMEOUT] is None
    assert ttft_deadline(router._slots[subentry_id]) == TTFT_CLOUD


async def test_an_hourly_limit_turns_away_the_request_over_it(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _provider_entry(hass, simulator)
    router = entry.runtime_data.router
    result = await _reconfigure_to_settings(hass, entry, simulator)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {CONF_MODEL: "gpt-4o-mini", **BASICS, CONF_RATE_LIMIT_RPH: 1},
    )
    await hass.async_block_till_done()
    await router.process(AIRequest(prompt="one", use_cache=False))
    calls = simulator.sim.request_count("openai")
    # The next slot is an hour away, past the request's deadline: it is not sent.
    with pytest.raises(AllProvidersFailed):
        await router.process(AIRequest(prompt="two", use_cache=False, timeout=5))
    assert simulator.sim.request_count("openai") == calls


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (CONF_RATE_LIMIT_RPH, 0),
        (CONF_BURST_ALLOWANCE, -1),
        (CONF_TIMEOUT_SECONDS, 0),
        (CONF_MAX_RETRIES, 11),
        (CONF_FAILURE_THRESHOLD, 0),
        (CONF_BREAKER_TIMEOUT, 0),
        (CONF_HALF_OPEN_MAX_CALLS, 0),
    ],
)
async def test_provider_settings_out_of_range_are_refused(
    hass: HomeAssistant, simulator: SimulatorServer, field: str, value: int
) -> None:
    entry = await _provider_entry(hass, simulator)
    result = await _reconfigure_to_settings(hass, entry, simulator)
    typed: dict[str, Any] = {CONF_MODEL: "gpt-4o-mini", **BASICS}
    if field in ADVANCED:
        typed[SECTION_ADVANCED] = {**ADVANCED, field: value}
    else:
        typed[field] = value
    with pytest.raises(InvalidData) as err:
        await hass.config_entries.subentries.async_configure(result["flow_id"], typed)
    # A section's field is reported by its path.
    assert field in str(err.value.schema_errors)


# --- local (Ollama) ------------------------------------------------------------------------------


async def test_an_ollama_server_is_suggested_local_on_a_private_host_and_can_be_declared_not(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _router_entry(hass)
    result = await _start_subentry_flow(hass, entry, "ollama")
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {CONF_NAME: "Ollama", CONF_BASE_URL: simulator.provider_url("ollama")},
    )
    assert _suggested(result)[CONF_LOCAL] is True
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_MODEL: "llava", **BASICS}
    )
    assert result["data"][CONF_LOCAL] is True
    await hass.async_block_till_done()
    router = entry.runtime_data.router
    [subentry_id] = entry.subentries
    answer = await router.process(AIRequest(prompt="hi", local_only=True))
    assert answer.provider == subentry_id

    # Declared not at home: local-only requests no longer use it, at once.
    result = await _start_subentry_flow(
        hass, entry, "ollama", source=SOURCE_RECONFIGURE, subentry_id=subentry_id
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {CONF_NAME: "Ollama", CONF_BASE_URL: simulator.provider_url("ollama")},
    )
    assert _suggested(result)[CONF_LOCAL] is True
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_MODEL: "llava", **BASICS, CONF_LOCAL: False}
    )
    await hass.async_block_till_done()
    assert entry.runtime_data.router is router
    with pytest.raises(AllProvidersFailed, match="not local"):
        await router.process(AIRequest(prompt="hi", local_only=True, use_cache=False))


async def test_an_ollama_server_on_a_public_host_is_not_suggested_local(
    hass: HomeAssistant,
) -> None:
    entry = await _router_entry(hass)
    result = await _start_subentry_flow(hass, entry, "ollama")
    assert "local" not in {
        str(key) for key in result["data_schema"].schema
    }  # asked with the model, after the address is known
    with patch(
        "custom_components.aicleaner.providers.ollama.OllamaProvider.health",
        return_value=HEALTHY,
    ):
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"],
            {CONF_NAME: "Rented GPU", CONF_BASE_URL: "https://gpu.example.com"},
        )
    assert _suggested(result)[CONF_LOCAL] is False


async def test_only_ollama_asks_whether_it_runs_at_home(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _provider_entry(hass, simulator)
    result = await _reconfigure_to_settings(hass, entry, simulator)
    assert CONF_LOCAL not in {str(key) for key in result["data_schema"].schema}


# --- keys over plain http ------------------------------------------------------------------------


@pytest.fixture
def no_gateway_probe() -> Iterator[None]:
    """The hosts below do not exist: the connection test's model list is patched, so is the probe."""
    with patch(
        "custom_components.aicleaner.provider_flow.async_probe_gateway",
        return_value=GatewayFinding(),
    ):
        yield


@pytest.mark.usefixtures("no_gateway_probe")
async def test_a_key_is_never_sent_over_plain_http_to_a_public_host(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _router_entry(hass)
    result = await _start_subentry_flow(hass, entry, "openai_compatible")
    typed = {
        CONF_NAME: "Gateway",
        CONF_API_KEY: "sk-secret",
        CONF_BASE_URL: "http://gateway.example.com/v1",
    }
    with patch(
        "custom_components.aicleaner.providers.openai.OpenAIProvider.health",
        return_value=HEALTHY,
    ) as health:
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"], typed
        )
        assert result["errors"] == {CONF_BASE_URL: "key_in_clear"}
        assert _suggested(result) == typed
        health.assert_not_called()

        # https to the same host, or no key at all, is fine.
        for changed in (
            {CONF_BASE_URL: "https://gateway.example.com/v1"},
            {CONF_API_KEY: ""},
        ):
            result = await _start_subentry_flow(hass, entry, "openai_compatible")
            result = await hass.config_entries.subentries.async_configure(
                result["flow_id"], {**typed, **changed}
            )
            assert result["step_id"] == "settings", changed


@pytest.mark.usefixtures("no_gateway_probe")
async def test_a_key_over_plain_http_on_the_home_network_is_allowed(
    hass: HomeAssistant,
) -> None:
    entry = await _router_entry(hass)
    for base_url in ("http://192.168.1.20:8080/v1", "http://localai:8080/v1"):
        result = await _start_subentry_flow(hass, entry, "openai_compatible")
        with patch(
            "custom_components.aicleaner.providers.openai.OpenAIProvider.health",
            return_value=HEALTHY,
        ):
            result = await hass.config_entries.subentries.async_configure(
                result["flow_id"],
                {CONF_NAME: "LocalAI", CONF_API_KEY: "k", CONF_BASE_URL: base_url},
            )
        assert result["step_id"] == "settings", base_url


async def test_moving_a_stored_key_to_a_public_http_address_is_refused(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _provider_entry(hass, simulator)
    subentry_id = next(iter(entry.subentries))
    result = await _start_subentry_flow(
        hass, entry, "openai", source=SOURCE_RECONFIGURE, subentry_id=subentry_id
    )
    calls = simulator.sim.request_count("openai")
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            CONF_NAME: "OpenAI",
            CONF_API_KEY: "",
            CONF_BASE_URL: "http://api.example.com/v1",
        },
    )
    assert result["errors"] == {CONF_BASE_URL: "key_in_clear"}
    assert simulator.sim.request_count("openai") == calls


# --- when the key was set ------------------------------------------------------------------------


async def test_the_flow_records_when_a_key_was_set_and_keeps_it_while_the_key_stays(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _provider_entry(hass, simulator)
    [subentry_id] = entry.subentries
    old = entry.subentries[subentry_id].data[CONF_API_KEY_SET_AT]

    async def reconfigure(api_key: str) -> str:
        result = await _reconfigure_to_settings(
            hass, entry, simulator, **{CONF_API_KEY: api_key}
        )
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"], {CONF_MODEL: "gpt-4o-mini", **BASICS}
        )
        assert result["reason"] == "reconfigure_successful"
        await hass.async_block_till_done()
        return str(entry.subentries[subentry_id].data[CONF_API_KEY_SET_AT])

    assert await reconfigure("") == old
    # The same key typed again is not a new key.
    assert await reconfigure("sk-old") == old
    new = dt_util.parse_datetime(await reconfigure("sk-new"))
    assert new is not None
    assert dt_util.utcnow() - new < timedelta(minutes=1)
