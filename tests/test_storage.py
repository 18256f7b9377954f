"""The cost ledger: money survives unloads and restarts, saves soon, keeps 90 days, never fails setup."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_API_KEY, EVENT_HOMEASSISTANT_FINAL_WRITE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.aicleaner.const import (
    CONF_BASE_URL,
    CONF_DAILY_BUDGET,
    CONF_MODEL,
    DOMAIN,
)
from custom_components.aicleaner.credentials import async_get_vault
from custom_components.aicleaner.storage import HISTORY_DAYS, STORAGE_KEY
from tests.simulator import SimulatorServer

SUBENTRY_ID = "01JDEMOPROVIDER0000000000"


async def _entry(hass: HomeAssistant, simulator: SimulatorServer) -> MockConfigEntry:
    vault = await async_get_vault(hass)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="AICleaner",
        subentries_data=[
            {
                "subentry_id": SUBENTRY_ID,
                "subentry_type": "openai",
                "title": "OpenAI",
                "unique_id": None,
                "data": {
                    CONF_API_KEY: vault.encrypt("sk-1"),
                    CONF_BASE_URL: f"{simulator.url}/openai/v1",
                    CONF_MODEL: "gpt-4o-mini",
                    CONF_DAILY_BUDGET: 0.01,
                },
            }
        ],
    )
    entry.add_to_hass(hass)
    return entry


async def _setup(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def _analyze(hass: HomeAssistant, prompt: str = "hello") -> Any:
    return await hass.services.async_call(
        DOMAIN,
        "analyze",
        {"prompt": prompt, "use_cache": False},
        blocking=True,
        return_response=True,
    )


def _saved(hass_storage: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = hass_storage[STORAGE_KEY]["data"]
    return data


async def test_spend_survives_an_unload_and_a_new_setup(
    hass: HomeAssistant, simulator: SimulatorServer, hass_storage: dict[str, Any]
) -> None:
    entry = await _entry(hass, simulator)
    await _setup(hass, entry)
    first = await _analyze(hass)
    assert await hass.config_entries.async_unload(entry.entry_id)
    # Written on unload, keyed by the subentry id.
    today = _saved(hass_storage)["router"]["budget"]["day"]
    assert _saved(hass_storage)["days"][today][SUBENTRY_ID]["cost"] == first["cost"]

    await _setup(hass, entry)
    router = entry.runtime_data.router
    assert router.provider_stats(SUBENTRY_ID).cost_today == first["cost"]
    assert router.provider_stats(SUBENTRY_ID).budget_remaining == pytest.approx(
        0.01 - first["cost"]
    )
    metrics = await hass.services.async_call(
        DOMAIN, "get_metrics", {}, blocking=True, return_response=True
    )
    assert metrics["costs"]["today"]["provider_costs"]["OpenAI"]["requests"] == 1


async def test_the_ledger_is_saved_within_two_seconds_and_on_the_final_write(
    hass: HomeAssistant,
    simulator: SimulatorServer,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
) -> None:
    entry = await _entry(hass, simulator)
    await _setup(hass, entry)
    await _analyze(hass)
    assert STORAGE_KEY not in hass_storage
    freezer.tick(timedelta(seconds=2.1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    today = _saved(hass_storage)["router"]["budget"]["day"]
    assert _saved(hass_storage)["days"][today][SUBENTRY_ID]["requests"] == 1

    await _analyze(hass, "again")
    hass.bus.async_fire(EVENT_HOMEASSISTANT_FINAL_WRITE)
    await hass.async_block_till_done()
    assert _saved(hass_storage)["days"][today][SUBENTRY_ID]["requests"] == 2


async def test_a_restart_with_the_budget_spent_admits_nothing(
    hass: HomeAssistant, simulator: SimulatorServer, hass_storage: dict[str, Any]
) -> None:
    today = dt_util.now().date().isoformat()
    spent = {
        "cost": 0.01,
        "input_tokens": 10,
        "output_tokens": 10,
        "requests": 3,
        "failures": 0,
    }
    hass_storage[STORAGE_KEY] = {
        "version": 1,
        "minor_version": 1,
        "key": STORAGE_KEY,
        "data": {
            "days": {today: {SUBENTRY_ID: spent}},
            "router": {
                "version": 1,
                "budget": {"day": today, "providers": {SUBENTRY_ID: spent}},
            },
        },
    }
    entry = await _entry(hass, simulator)
    await _setup(hass, entry)
    with pytest.raises(HomeAssistantError) as raised:
        await _analyze(hass)
    assert raised.value.translation_key == "budget_exhausted"
    assert simulator.sim.request_count("openai") == 0


async def test_days_older_than_the_history_are_dropped_on_save(
    hass: HomeAssistant, simulator: SimulatorServer, hass_storage: dict[str, Any]
) -> None:
    today = dt_util.now().date()
    old = (today - timedelta(days=HISTORY_DAYS + 1)).isoformat()
    kept = (today - timedelta(days=HISTORY_DAYS - 1)).isoformat()
    figures = {"cost": 0.5, "requests": 1}
    hass_storage[STORAGE_KEY] = {
        "version": 1,
        "minor_version": 1,
        "key": STORAGE_KEY,
        "data": {
            "days": {old: {SUBENTRY_ID: figures}, kept: {SUBENTRY_ID: figures}},
            "router": {"version": 1, "budget": {}},
        },
    }
    entry = await _entry(hass, simulator)
    await _setup(hass, entry)
    assert await hass.config_entries.async_unload(entry.entry_id)
    days = _saved(hass_storage)["days"]
    assert old not in days
    assert days[kept][SUBENTRY_ID]["cost"] == 0.5


@pytest.mark.parametrize(
    "data",
    [
        {"days": "garbage", "router": {}},
        {"days": {"not-a-date": {}}, "router": {}},
        {"days": {}, "router": ["not", "a", "mapping"]},
        {"days": {}},
    ],
)
async def test_an_unreadable_ledger_gives_a_repair_and_a_fresh_start_not_a_failed_setup(
    hass: HomeAssistant,
    simulator: SimulatorServer,
    hass_storage: dict[str, Any],
    data: dict[str, Any],
) -> None:
    hass_storage[STORAGE_KEY] = {
        "version": 1,
        "minor_version": 1,
        "key": STORAGE_KEY,
        "data": data,
    }
    entry = await _entry(hass, simulator)
    await _setup(hass, entry)
    assert entry.state is ConfigEntryState.LOADED
    issue = ir.async_get(hass).async_get_issue(DOMAIN, "ledger_unreadable")
    assert issue is not None
    assert issue.translation_key == "ledger_unreadable"
    answer = await _analyze(hass)
    assert answer["provider"] == "OpenAI"
