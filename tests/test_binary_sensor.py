"""The problem binary sensor: its state and attributes (snapshot), and what turns it on."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import snapshot_platform
from syrupy.assertion import SnapshotAssertion

from custom_components.aicleaner.const import CONF_ENABLED, DOMAIN
from tests.entity_setup import async_setup_providers
from tests.entity_setup_state import ha_snapshot, only_platform
from tests.simulator import Fault, SimulatorServer


async def test_problem_sensors(
    hass: HomeAssistant, simulator: SimulatorServer, snapshot: SnapshotAssertion
) -> None:
    with only_platform(Platform.BINARY_SENSOR):
        entry = await async_setup_providers(
            hass,
            simulator,
            ("openai", "OpenAI", {}),
            ("anthropic", "Claude", {CONF_ENABLED: False}),
        )

    await snapshot_platform(
        hass, er.async_get(hass), ha_snapshot(snapshot), entry.entry_id
    )


async def test_a_provider_down_is_a_problem_until_it_recovers(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    await async_setup_providers(hass, simulator, ("openai", "OpenAI", {}))
    assert hass.states.get("binary_sensor.openai_problem").state == "off"

    simulator.sim.set_fault("openai", Fault(kind="reset", endpoint="models"))
    await hass.services.async_call(
        DOMAIN, "check_health", {}, blocking=True, return_response=True
    )
    assert hass.states.get("binary_sensor.openai_problem").state == "on"
    assert hass.states.get("sensor.openai_status").attributes["last_error"] == "network"

    simulator.sim.clear_faults()
    await hass.services.async_call(
        DOMAIN, "check_health", {}, blocking=True, return_response=True
    )
    assert hass.states.get("binary_sensor.openai_problem").state == "off"


async def test_a_disabled_provider_is_no_problem(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    await async_setup_providers(
        hass, simulator, ("openai", "OpenAI", {CONF_ENABLED: False})
    )

    result = await hass.services.async_call(
        DOMAIN, "check_health", {}, blocking=True, return_response=True
    )

    assert result["providers"]["OpenAI"]["status"] == "disabled"
    assert result["overall_health"] == "unhealthy"
    assert simulator.sim.request_count("openai") == 0
    assert hass.states.get("binary_sensor.openai_problem").state == "off"
