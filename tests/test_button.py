"""The reset circuit breaker button: its state (snapshot), and closing an open breaker."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import snapshot_platform
from syrupy.assertion import SnapshotAssertion

from tests.entity_setup import analyze, async_setup_providers
from tests.entity_setup_state import ha_snapshot, only_platform
from tests.simulator import Fault, SimulatorServer


async def test_reset_buttons(
    hass: HomeAssistant, simulator: SimulatorServer, snapshot: SnapshotAssertion
) -> None:
    with only_platform(Platform.BUTTON):
        entry = await async_setup_providers(hass, simulator, ("openai", "OpenAI", {}))

    await snapshot_platform(
        hass, er.async_get(hass), ha_snapshot(snapshot), entry.entry_id
    )


async def test_pressing_reset_closes_a_breaker_an_auth_failure_opened(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    await async_setup_providers(
        hass, simulator, ("openai", "OpenAI", {}), ("anthropic", "Claude", {})
    )
    simulator.sim.set_fault(
        "openai", Fault(kind="status", status=401, endpoint="generate")
    )
    assert (await analyze(hass, prompt="hi"))["provider"] == "Claude"
    assert hass.states.get("sensor.openai_status").state == "circuit_open"
    assert hass.states.get("sensor.openai_status").attributes["breaker"] == "open"
    simulator.sim.clear_faults()

    await hass.services.async_call(
        "button",
        "press",
        {"entity_id": "button.openai_reset_circuit_breaker"},
        blocking=True,
    )

    state = hass.states.get("sensor.openai_status")
    assert state.attributes["breaker"] == "closed"
    # The press starts it afresh: the failure before it (the fault now fixed) no longer shows.
    assert state.state == "healthy"
    assert state.attributes["last_error"] is None
    answer = await analyze(hass, prompt="hi again", provider=["OpenAI"])
    assert answer["provider"] == "OpenAI"
    assert hass.states.get("sensor.openai_status").state == "healthy"


async def test_pressing_reset_checks_the_provider_again_at_once(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    await async_setup_providers(hass, simulator, ("openai", "OpenAI", {}))
    simulator.sim.set_fault(
        "openai", Fault(kind="status", status=500, endpoint="models")
    )
    await hass.services.async_call(
        "aicleaner", "check_health", {}, blocking=True, return_response=True
    )
    assert hass.states.get("sensor.openai_status").state == "unhealthy"
    simulator.sim.clear_faults()

    await hass.services.async_call(
        "button",
        "press",
        {"entity_id": "button.openai_reset_circuit_breaker"},
        blocking=True,
    )

    assert hass.states.get("sensor.openai_status").state == "healthy"
