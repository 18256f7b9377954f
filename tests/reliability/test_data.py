"""Data: a restart mid-traffic keeps every committed cost; corrupt or missing files never fail setup."""

from __future__ import annotations

import asyncio
from typing import Any

from cryptography.fernet import Fernet
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.aicleaner.const import (
    CONF_BASE_URL,
    CONF_MODEL,
    CONF_SELECTION_STRATEGY,
    DOMAIN,
)
from custom_components.aicleaner.credentials import STORAGE_KEY as CREDENTIALS_KEY
from custom_components.aicleaner.storage import STORAGE_KEY as LEDGER_KEY
from tests.simulator import Fault, SimulatorServer

from .conftest import KEYS, Setup, analyze


async def test_a_restart_mid_traffic_keeps_every_cost_committed_before_the_stop(
    hass: HomeAssistant,
    setup_reliable: Setup,
    simulator: SimulatorServer,
    hass_storage: dict[str, Any],
) -> None:
    entry = await setup_reliable(("openai", "OpenAI", {}), ("gemini", "Gemini", {}))
    simulator.sim.add_fault("openai", Fault(kind="latency", latency_range=(0.0, 0.1)))
    done: list[float] = []
    twenty = asyncio.Event()

    async def one(number: int) -> None:
        try:
            answer = await analyze(hass, prompt=f"r{number}", use_cache=False)
        except HomeAssistantError:
            return
        done.append(answer["cost"])
        if len(done) == 20:
            twenty.set()

    traffic = [asyncio.create_task(one(number)) for number in range(60)]
    await twenty.wait()
    router = entry.runtime_data.router
    committed_before_stop = router.get_cost_summary()["total_cost"]
    assert await hass.config_entries.async_unload(entry.entry_id)
    committed_at_stop = router.get_cost_summary()["total_cost"]
    await asyncio.gather(*traffic)
    assert hass_storage[LEDGER_KEY]["data"]["router"]["budget"]["day"]

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    restored = entry.runtime_data.router.get_cost_summary()["total_cost"]
    assert restored >= committed_before_stop > 0
    assert restored == pytest.approx(committed_at_stop)
    # Nothing answered before the stop is missing from the restored ledger.
    assert restored + 1e-9 >= sum(done[:20])


@pytest.mark.parametrize(
    "saved",
    [
        {"days": "not a mapping", "router": {}},
        {"days": {"yesterday": {}}, "router": {}},
        {"days": {}, "router": ["a", "list"]},
        {"router": {"version": 1, "budget": {"day": "garbage", "providers": 7}}},
    ],
)
async def test_a_corrupt_ledger_gives_a_repair_and_a_clean_start(
    hass: HomeAssistant,
    setup_reliable: Setup,
    hass_storage: dict[str, Any],
    saved: dict[str, Any],
) -> None:
    hass_storage[LEDGER_KEY] = {"version": 1, "key": LEDGER_KEY, "data": saved}
    entry = await setup_reliable(("openai", "OpenAI", {}))
    assert entry.state is ConfigEntryState.LOADED
    assert ir.async_get(hass).async_get_issue(DOMAIN, "ledger_unreadable")
    assert entry.runtime_data.router.get_cost_summary()["total_cost"] == 0
    assert (await analyze(hass, prompt="still works"))["provider"] == "OpenAI"


async def test_a_missing_ledger_is_a_clean_start_without_a_repair(
    hass: HomeAssistant, setup_reliable: Setup, hass_storage: dict[str, Any]
) -> None:
    hass_storage.pop(LEDGER_KEY, None)
    entry = await setup_reliable(("openai", "OpenAI", {}))
    assert entry.state is ConfigEntryState.LOADED
    assert ir.async_get(hass).async_get_issue(DOMAIN, "ledger_unreadable") is None
    assert (await analyze(hass, prompt="works"))["cost"] > 0


@pytest.mark.parametrize(
    "stored",
    [
        None,  # missing: a new data key, the old ciphertexts unreadable
        {"key": Fernet.generate_key().decode()},  # replaced by another installation's
        {"key": "not a fernet key"},
        {"no key": 1},
        ["a", "list"],
    ],
    ids=["missing", "replaced", "not-a-key", "wrong-shape", "not-a-mapping"],
)
async def test_a_lost_or_corrupt_data_key_gives_repairs_and_never_a_failed_setup(
    hass: HomeAssistant,
    simulator: SimulatorServer,
    hass_storage: dict[str, Any],
    stored: Any,
) -> None:
    if stored is None:
        hass_storage.pop(CREDENTIALS_KEY, None)
    else:
        hass_storage[CREDENTIALS_KEY] = {
            "version": 1,
            "key": CREDENTIALS_KEY,
            "data": stored,
        }
    # The key was encrypted with a data key that is gone.
    lost = Fernet(Fernet.generate_key())
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="AICleaner",
        options={CONF_SELECTION_STRATEGY: "priority"},
        subentries_data=[
            {
                "subentry_type": "openai",
                "title": "OpenAI",
                "unique_id": None,
                "data": {
                    CONF_API_KEY: lost.encrypt(KEYS["openai"].encode()).decode(),
                    CONF_BASE_URL: f"{simulator.url}/openai/v1",
                    CONF_MODEL: "gpt-4o-mini",
                },
            },
            {
                "subentry_type": "ollama",
                "title": "Ollama",
                "unique_id": None,
                "data": {
                    CONF_BASE_URL: f"{simulator.url}/ollama",
                    CONF_MODEL: "llava",
                },
            },
        ],
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    openai_key = next(k for k, s in entry.subentries.items() if s.title == "OpenAI")
    assert entry.runtime_data.unreadable_keys == {openai_key}
    issues = [
        issue
        for (domain, _), issue in ir.async_get(hass).issues.items()
        if domain == DOMAIN
    ]
    assert issues
    # The provider without a key keeps working.
    assert (await analyze(hass, prompt="works"))["provider"] == "Ollama"
