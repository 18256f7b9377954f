"""The selection strategy select: its state (snapshot), and a live change kept in the options."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import snapshot_platform
from syrupy.assertion import SnapshotAssertion

from custom_components.aicleaner.const import CONF_SELECTION_STRATEGY
from tests.entity_setup import async_setup_providers
from tests.entity_setup_state import ha_snapshot, only_platform
from tests.simulator import SimulatorServer


async def test_strategy_select(
    hass: HomeAssistant, simulator: SimulatorServer, snapshot: SnapshotAssertion
) -> None:
    with only_platform(Platform.SELECT):
        entry = await async_setup_providers(hass, simulator, ("openai", "OpenAI", {}))

    await snapshot_platform(
        hass, er.async_get(hass), ha_snapshot(snapshot), entry.entry_id
    )


async def test_choosing_a_strategy_changes_the_live_router_and_the_options(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await async_setup_providers(hass, simulator, ("openai", "OpenAI", {}))
    router = entry.runtime_data.router
    assert hass.states.get("select.aicleaner_selection_strategy").state == "priority"

    await hass.services.async_call(
        "select",
        "select_option",
        {"entity_id": "select.aicleaner_selection_strategy", "option": "round_robin"},
        blocking=True,
    )
    await hass.async_block_till_done()

    assert entry.runtime_data.router is router
    assert router.config.selection_strategy == "round_robin"
    assert entry.options[CONF_SELECTION_STRATEGY] == "round_robin"
    assert hass.states.get("select.aicleaner_selection_strategy").state == "round_robin"
