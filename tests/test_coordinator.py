"""The health coordinator against the simulator: health calls, passive health, alerts, the action."""

from __future__ import annotations

import asyncio
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import CONF_API_KEY
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest

from custom_components.aicleaner.const import (
    CONF_LATENCY_CRITICAL,
    CONF_LATENCY_WARNING,
    DOMAIN,
    EVENT_HEALTH_ALERT,
)
from custom_components.aicleaner.coordinator import ProviderStatus
from custom_components.aicleaner.credentials import async_get_vault
from tests.entity_setup import (
    ENTRY_ID,
    analyze,
    async_first_health_calls,
    async_setup_providers,
    subentry_id,
)
from tests.simulator import Fault, SimulatorServer

OPENAI = subentry_id("openai")
CLAUDE = subentry_id("anthropic")


def _health_calls(simulator: SimulatorServer, provider: str) -> int:
    """The provider's free health calls: its model list (Ollama: its tags)."""
    return sum(
        1 for request in simulator.sim.requests[provider] if request.method == "GET"
    )


def _alerts(hass: HomeAssistant) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []

    @callback
    def _keep(event: Event) -> None:
        events.append(dict(event.data))

    hass.bus.async_listen(EVENT_HEALTH_ALERT, _keep)
    return events


async def _check_health(hass: HomeAssistant) -> Any:
    return await hass.services.async_call(
        DOMAIN, "check_health", {}, blocking=True, return_response=True
    )


async def test_setup_waits_on_no_provider_and_the_first_health_calls_follow(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await async_setup_providers(
        hass, simulator, ("openai", "OpenAI", {}), ("anthropic", "Claude", {})
    )
    assert simulator.sim.request_count("openai") == 0
    coordinator = entry.runtime_data.coordinator
    assert coordinator.data.providers[OPENAI].check is None
    assert coordinator.data.providers[OPENAI].status is ProviderStatus.HEALTHY

    await async_first_health_calls(hass)

    assert _health_calls(simulator, "openai") == 1
    assert _health_calls(simulator, "anthropic") == 1
    health = coordinator.data.providers[OPENAI]
    assert health.check is not None
    assert health.check.error is None
    assert health.check.latency_ms is not None
    assert health.check.latency_ms > 0
    # No request yet: the latency shown is the health call's.
    assert health.latency_ms == health.check.latency_ms
    assert coordinator.update_interval is not None
    assert coordinator.update_interval.total_seconds() == 300


async def test_a_failing_health_call_is_unhealthy_logged_once_and_its_recovery_once(
    hass: HomeAssistant, simulator: SimulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    await async_setup_providers(hass, simulator, ("openai", "OpenAI", {}))
    await async_first_health_calls(hass)
    alerts = _alerts(hass)
    simulator.sim.set_fault(
        "openai", Fault(kind="status", status=500, endpoint="models")
    )

    first = await _check_health(hass)
    await _check_health(hass)

    assert first["overall_health"] == "unhealthy"
    assert first["providers"]["OpenAI"] == {
        "status": "unhealthy",
        "latency_ms": None,
        "breaker": "closed",
        "last_error": "provider",
    }
    assert caplog.text.count("Provider OpenAI is unavailable: provider") == 1
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, OPENAI), ENTRY_ID
    )
    assert device is not None
    assert alerts == [
        {
            # The provider's device: its logbook lists the alert.
            "device_id": device.id,
            "provider": "OpenAI",
            "metric": "status",
            "status": "unhealthy",
            "value": "healthy",
            "threshold": None,
        }
    ]

    simulator.sim.clear_faults()
    recovered = await _check_health(hass)
    await _check_health(hass)

    assert recovered["overall_health"] == "healthy"
    assert recovered["providers"]["OpenAI"]["status"] == "healthy"
    assert caplog.text.count("Provider OpenAI is available again") == 1
    assert alerts[-1]["status"] == "healthy", alerts
    assert len(alerts) == 2


async def test_a_rejected_key_shows_as_an_auth_category_never_the_providers_text(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    await async_setup_providers(
        hass, simulator, ("openai", "OpenAI", {}), ("anthropic", "Claude", {})
    )
    simulator.sim.set_fault(
        "anthropic",
        Fault(
            kind="status",
            status=401,
            body={"type": "error", "error": {"message": "key sk-ant-SECRET rejected"}},
            endpoint="models",
        ),
    )

    result = await _check_health(hass)

    assert result["overall_health"] == "degraded"
    assert result["providers"]["Claude"]["status"] == "unhealthy"
    assert result["providers"]["Claude"]["last_error"] == "auth"
    assert result["providers"]["OpenAI"]["status"] == "healthy"
    assert "SECRET" not in repr(result)


async def test_a_429_on_the_health_call_is_rate_limited_not_down(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    await async_setup_providers(hass, simulator, ("openai", "OpenAI", {}))
    simulator.sim.set_fault("openai", Fault(kind="rate_limit", endpoint="models"))

    result = await _check_health(hass)

    assert result["providers"]["OpenAI"]["status"] == "rate_limited"
    assert result["providers"]["OpenAI"]["last_error"] == "rate_limit"
    assert hass.states.get("binary_sensor.openai_problem").state == "on"


async def test_failing_real_requests_degrade_a_provider_whose_health_call_succeeds(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await async_setup_providers(
        hass, simulator, ("openai", "OpenAI", {}), ("anthropic", "Claude", {})
    )
    await async_first_health_calls(hass)
    simulator.sim.set_fault(
        "openai", Fault(kind="status", status=500, endpoint="generate")
    )

    answer = await analyze(hass, prompt="What needs cleaning?")

    assert answer["provider"] == "Claude"
    data = entry.runtime_data.coordinator.data
    check = data.providers[OPENAI].check
    assert check is not None
    assert check.error is None
    assert data.providers[OPENAI].status is ProviderStatus.DEGRADED
    assert data.providers[CLAUDE].status is ProviderStatus.HEALTHY
    assert hass.states.get("sensor.openai_status").state == "degraded"


async def test_health_calls_run_at_once_each_under_its_own_timeout(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    await async_setup_providers(
        hass, simulator, ("openai", "OpenAI", {}), ("anthropic", "Claude", {})
    )
    sim = simulator.sim
    # OpenAI never answers (until its timeout); Claude answers after half a second.
    sim.set_fault("openai", Fault(kind="hang", endpoint="models"))
    sim.set_fault("anthropic", Fault(kind="latency", latency=0.5, endpoint="models"))

    with patch("custom_components.aicleaner.coordinator.HEALTH_CHECK_TIMEOUT", 1.5):
        check = hass.async_create_task(_check_health(hass))
        await sim.wait_for_requests("openai")
        await sim.wait_for_requests("anthropic")
        # Both calls are at the provider at once: one after the other, the second would be sent
        # only once the first had its answer (Claude's) or its timeout (OpenAI's).
        assert sim.in_flight == 2
        result = await check

    assert result["providers"]["OpenAI"]["status"] == "unhealthy"
    assert result["providers"]["OpenAI"]["last_error"] == "timeout"
    assert result["providers"]["Claude"]["status"] == "healthy"
    assert result["providers"]["Claude"]["latency_ms"] >= 500


async def test_latency_crossing_the_thresholds_fires_one_alert_per_crossing(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    # Each latency is at least 0.1 s past the threshold it must cross and half a second short of
    # the next one, and a plain health call has 0.4 s to come in under the warning: room for a busy
    # machine either way.
    await async_setup_providers(
        hass,
        simulator,
        ("openai", "OpenAI", {}),
        options={CONF_LATENCY_WARNING: 0.4, CONF_LATENCY_CRITICAL: 1.0},
    )
    alerts = _alerts(hass)

    simulator.sim.set_fault(
        "openai", Fault(kind="latency", latency=0.5, endpoint="models")
    )
    await _check_health(hass)
    await _check_health(hass)
    simulator.sim.set_fault(
        "openai", Fault(kind="latency", latency=1.1, endpoint="models")
    )
    await _check_health(hass)
    simulator.sim.clear_faults()
    await _check_health(hass)

    assert [(a["metric"], a["status"], a["threshold"]) for a in alerts] == [
        ("latency", "warning", 400.0),
        ("latency", "critical", 1000.0),
        ("latency", "ok", 400.0),
    ]
    assert all(a["provider"] == "OpenAI" for a in alerts)
    assert 500 <= alerts[0]["value"] < 1000
    assert alerts[1]["value"] >= 1100
    assert alerts[2]["value"] < 400


async def test_the_latency_shown_is_the_p50_of_requests_once_there_are_some(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await async_setup_providers(hass, simulator, ("openai", "OpenAI", {}))
    await async_first_health_calls(hass)
    simulator.sim.set_fault(
        "openai", Fault(kind="latency", latency=0.2, endpoint="generate")
    )

    await analyze(hass, prompt="one")

    health = entry.runtime_data.coordinator.data.providers[OPENAI]
    assert health.stats.latency_p50 is not None
    assert health.latency_ms == pytest.approx(health.stats.latency_p50 * 1000)
    assert health.latency_ms >= 200
    assert float(hass.states.get("sensor.openai_latency").state) >= 200


async def test_entities_follow_requests_at_most_once_a_second(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    await async_setup_providers(hass, simulator, ("openai", "OpenAI", {}))
    seen: list[str] = []

    @callback
    def _keep(event: Event) -> None:
        if event.data["entity_id"] == "sensor.openai_requests_today":
            seen.append(event.data["new_state"].state)

    hass.bus.async_listen("state_changed", _keep)

    for prompt in ("one", "two", "three"):
        await analyze(hass, prompt=prompt)
    await hass.async_block_till_done()

    # The first request showed at once; the next two wait for the end of the second.
    assert seen == ["1"]
    await asyncio.sleep(1.1)
    await hass.async_block_till_done()
    assert seen == ["1", "3"]


async def test_each_provider_has_its_own_service_device_and_the_router_one(
    hass: HomeAssistant,
    simulator: SimulatorServer,
    device_registry: dr.DeviceRegistry,
) -> None:
    entry = await async_setup_providers(
        hass, simulator, ("openai", "OpenAI", {}), ("ollama", "Home server", {})
    )

    openai = device_registry.async_get_device_by_identifier(
        (DOMAIN, OPENAI), entry.entry_id
    )
    assert openai is not None
    assert (openai.name, openai.manufacturer, openai.model) == (
        "OpenAI",
        "OpenAI",
        "gpt-4o-mini",
    )
    assert openai.entry_type is dr.DeviceEntryType.SERVICE
    assert openai.config_entry_id == entry.entry_id
    assert openai.config_subentry_id == OPENAI
    ollama = device_registry.async_get_device_by_identifier(
        (DOMAIN, subentry_id("ollama")), entry.entry_id
    )
    assert ollama is not None
    assert (ollama.manufacturer, ollama.model) == ("Ollama", "llava")
    router = device_registry.async_get_device_by_identifier(
        (DOMAIN, entry.entry_id), entry.entry_id
    )
    assert router is not None
    assert (router.name, router.model) == ("AICleaner", "Router")
    assert router.entry_type is dr.DeviceEntryType.SERVICE


async def test_a_removed_provider_takes_its_device_and_entities_along(
    hass: HomeAssistant,
    simulator: SimulatorServer,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    entry = await async_setup_providers(
        hass, simulator, ("openai", "OpenAI", {}), ("anthropic", "Claude", {})
    )
    assert entity_registry.async_get_entity_id("sensor", DOMAIN, f"{CLAUDE}_status")

    assert hass.config_entries.async_remove_subentry(entry, CLAUDE)
    await hass.async_block_till_done()

    assert (
        device_registry.async_get_device_by_identifier((DOMAIN, CLAUDE), entry.entry_id)
        is None
    )
    assert not [
        e
        for e in er.async_entries_for_config_entry(entity_registry, entry.entry_id)
        if e.config_subentry_id == CLAUDE
    ]
    assert hass.states.get("sensor.claude_status") is None
    assert hass.states.get("sensor.openai_status").state == "healthy"
    assert "Claude" not in (await _check_health(hass))["providers"]


async def test_a_provider_added_later_gets_its_entities_without_a_reload(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await async_setup_providers(hass, simulator, ("openai", "OpenAI", {}))
    router = entry.runtime_data.router

    hass.config_entries.async_add_subentry(
        entry,
        ConfigSubentry(
            data={
                "base_url": f"{simulator.url}/ollama",
                "model": "llava",
                "daily_budget": None,
            },
            subentry_type="ollama",
            title="Home server",
            unique_id=None,
        ),
    )
    await hass.async_block_till_done()

    assert entry.runtime_data.router is router
    assert hass.states.get("sensor.home_server_status").state == "healthy"
    # A newcomer is checked at once.
    assert _health_calls(simulator, "ollama") == 1
    assert hass.states.get("sensor.home_server_latency").state != "unknown"


async def test_a_renamed_provider_shows_its_new_name_and_model_on_its_device(
    hass: HomeAssistant,
    simulator: SimulatorServer,
    device_registry: dr.DeviceRegistry,
) -> None:
    entry = await async_setup_providers(hass, simulator, ("openai", "OpenAI", {}))
    subentry = entry.subentries[OPENAI]

    hass.config_entries.async_update_subentry(
        entry,
        subentry,
        title="Cloud",
        data={**subentry.data, "model": "gpt-4o"},
    )
    await hass.async_block_till_done()

    device = device_registry.async_get_device_by_identifier(
        (DOMAIN, OPENAI), entry.entry_id
    )
    assert device is not None
    assert (device.name, device.model) == ("Cloud", "gpt-4o")
    result = await _check_health(hass)
    assert list(result["providers"]) == ["Cloud"]


async def test_a_good_health_call_clears_the_failures_before_it(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    await async_setup_providers(
        hass,
        simulator,
        ("openai", "OpenAI", {"max_retries": 0}),
        ("anthropic", "Claude", {}),
    )
    await async_first_health_calls(hass)
    simulator.sim.set_fault(
        "openai", Fault(kind="status", status=503, endpoint="generate", count=1)
    )
    assert (await analyze(hass, prompt="Tidy?"))["provider"] == "Claude"
    assert hass.states.get("sensor.openai_status").state == "degraded"
    # Recovered: it answers, yet one failure in two calls still reads degraded ...
    answer = await analyze(hass, prompt="Tidy again?", provider=["OpenAI"])
    assert answer["provider"] == "OpenAI"
    assert hass.states.get("sensor.openai_status").state == "degraded"

    # ... until a good health call clears what came before it.
    result = await _check_health(hass)

    assert result["providers"]["OpenAI"]["status"] == "healthy"
    assert result["providers"]["OpenAI"]["last_error"] is None
    assert hass.states.get("sensor.aicleaner_healthy_providers").state == "2"


async def test_an_answer_after_a_failed_health_call_shows_the_provider_up(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    await async_setup_providers(hass, simulator, ("openai", "OpenAI", {}))
    simulator.sim.set_fault(
        "openai", Fault(kind="status", status=500, endpoint="models")
    )
    await _check_health(hass)
    assert hass.states.get("sensor.openai_status").state == "unhealthy"

    assert (await analyze(hass, prompt="Tidy?"))["provider"] == "OpenAI"
    await hass.async_block_till_done()

    assert hass.states.get("sensor.openai_status").state == "healthy"


async def test_a_new_key_clears_the_old_keys_auth_failure(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await async_setup_providers(
        hass, simulator, ("openai", "OpenAI", {}), ("anthropic", "Claude", {})
    )
    simulator.sim.set_fault("anthropic", Fault(kind="status", status=401))
    await _check_health(hass)
    assert (await analyze(hass, prompt="Tidy?", provider=["Claude", "OpenAI"]))[
        "provider"
    ] == "OpenAI"
    assert hass.states.get("binary_sensor.claude_problem").state == "on"
    simulator.sim.clear_faults()

    vault = await async_get_vault(hass)
    subentry = entry.subentries[CLAUDE]
    hass.config_entries.async_update_subentry(
        entry, subentry, data={**subentry.data, CONF_API_KEY: vault.encrypt("sk-2")}
    )
    await hass.async_block_till_done()

    state = hass.states.get("sensor.claude_status")
    assert state.state == "healthy"
    assert state.attributes["last_error"] is None
    assert hass.states.get("binary_sensor.claude_problem").state == "off"
