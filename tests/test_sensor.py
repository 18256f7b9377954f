"""Sensors: every state and attribute (snapshot), the day's totals, and following requests."""

from __future__ import annotations

from datetime import timedelta
import time
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    async_fire_time_changed,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.aicleaner.const import CONF_DAILY_BUDGET, DOMAIN
from tests.entity_setup import analyze, async_setup_providers, subentry_id
from tests.entity_setup_state import NOW, ha_snapshot, only_platform, saved_ledger
from tests.simulator import SimulatorServer

OPENAI = subentry_id("openai")


async def test_sensors_show_the_saved_days_figures(
    hass: HomeAssistant,
    simulator: SimulatorServer,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
    snapshot: SnapshotAssertion,
) -> None:
    freezer.move_to(NOW)
    hass_storage.update({"aicleaner.ledger": saved_ledger()})
    with only_platform(Platform.SENSOR):
        entry = await async_setup_providers(
            hass,
            simulator,
            ("openai", "OpenAI", {CONF_DAILY_BUDGET: 1.0}),
            ("anthropic", "Claude", {}),
        )

    await snapshot_platform(
        hass, er.async_get(hass), ha_snapshot(snapshot), entry.entry_id
    )


async def test_day_totals_are_total_sensors_reset_at_local_midnight(
    hass: HomeAssistant,
    simulator: SimulatorServer,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to(NOW)
    hass_storage.update({"aicleaner.ledger": saved_ledger()})
    await async_setup_providers(
        hass, simulator, ("openai", "OpenAI", {CONF_DAILY_BUDGET: 1.0})
    )
    midnight = dt_util.start_of_local_day(dt_util.now())

    for entity_id in ("sensor.openai_cost_today", "sensor.aicleaner_total_cost_today"):
        state = hass.states.get(entity_id)
        assert state.attributes["state_class"] == "total"
        assert state.attributes["device_class"] == "monetary"
        assert state.attributes["unit_of_measurement"] == "USD"
        assert dt_util.parse_datetime(state.attributes["last_reset"]) == midnight
    assert hass.states.get("sensor.openai_cost_today").state == "0.0125"
    assert hass.states.get("sensor.openai_budget_remaining_today").state == "0.9875"
    assert hass.states.get("sensor.openai_requests_today").state == "5"

    # The next local day: the totals start afresh at midnight, not at the next request. (The
    # router reads the date at most once a second of real time.)
    await hass.async_add_executor_job(time.sleep, 1.05)
    freezer.move_to(midnight + timedelta(days=1, seconds=2))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()

    state = hass.states.get("sensor.openai_cost_today")
    assert state.state == "0.0"
    assert dt_util.parse_datetime(
        state.attributes["last_reset"]
    ) == midnight + timedelta(days=1)
    assert hass.states.get("sensor.openai_requests_today").state == "0"
    assert hass.states.get("sensor.openai_budget_remaining_today").state == "1.0"


async def test_a_request_moves_cost_budget_requests_and_success_rate(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    await async_setup_providers(
        hass, simulator, ("openai", "OpenAI", {CONF_DAILY_BUDGET: 1.0})
    )
    assert hass.states.get("sensor.openai_success_rate").state == "unknown"
    assert hass.states.get("sensor.openai_latency").state == "unknown"

    answer = await analyze(hass, prompt="What needs cleaning?")

    cost = float(hass.states.get("sensor.openai_cost_today").state)
    assert cost == pytest.approx(answer["cost"])
    assert cost > 0
    assert float(
        hass.states.get("sensor.openai_budget_remaining_today").state
    ) == pytest.approx(1.0 - cost)
    assert hass.states.get("sensor.openai_requests_today").state == "1"
    assert hass.states.get("sensor.openai_success_rate").state == "100.0"
    assert float(hass.states.get("sensor.openai_latency").state) > 0
    assert hass.states.get("sensor.aicleaner_total_requests_today").state == "1"
    assert hass.states.get("sensor.aicleaner_cache_hit_rate").state == "0.0"


async def test_the_tokens_sensor_is_disabled_by_default(
    hass: HomeAssistant,
    simulator: SimulatorServer,
    entity_registry: er.EntityRegistry,
) -> None:
    await async_setup_providers(hass, simulator, ("openai", "OpenAI", {}))

    entity_id = entity_registry.async_get_entity_id(
        "sensor", DOMAIN, f"{OPENAI}_tokens_today"
    )
    assert entity_id is not None
    entry = entity_registry.async_get(entity_id)
    assert entry is not None
    assert entry.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    assert hass.states.get(entity_id) is None


async def test_a_spent_budget_shows_as_budget_exhausted(
    hass: HomeAssistant,
    simulator: SimulatorServer,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to(NOW)
    hass_storage.update({"aicleaner.ledger": saved_ledger()})
    await async_setup_providers(
        hass, simulator, ("openai", "OpenAI", {CONF_DAILY_BUDGET: 0.01})
    )

    assert hass.states.get("sensor.openai_status").state == "budget_exhausted"
    assert hass.states.get("sensor.openai_budget_remaining_today").state == "0.0"
    assert hass.states.get("binary_sensor.openai_problem").state == "on"
    assert hass.states.get("sensor.aicleaner_healthy_providers").state == "0"
