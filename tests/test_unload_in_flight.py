"""Requests meeting an unload, and raw exceptions: spend is kept, each error is translated."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.aicleaner import inflight
from custom_components.aicleaner.const import DOMAIN
from custom_components.aicleaner.storage import STORAGE_KEY
from tests import test_services
from tests.simulator import Fault, SimulatorServer
from tests.test_services import Setup, analyze

# The actions' setup fixture, shared.
setup_aicleaner = test_services.setup_aicleaner


def _slow(simulator: SimulatorServer, seconds: float = 0.4) -> None:
    simulator.sim.set_fault("openai", Fault(kind="latency", latency=seconds))


async def test_a_reload_waits_for_a_request_in_flight_and_keeps_its_spend(
    hass: HomeAssistant, setup_aicleaner: Setup, simulator: SimulatorServer
) -> None:
    entry = await setup_aicleaner(("openai", "OpenAI", {}))
    _slow(simulator)
    request = asyncio.ensure_future(analyze(hass, prompt="hello", use_cache=False))
    await simulator.sim.wait_for_requests("openai", 1)
    assert await hass.config_entries.async_reload(entry.entry_id)
    result = await request
    assert result["cost"] > 0
    # The new router restored the ledger written after the answer was booked.
    summary = entry.runtime_data.router.get_cost_summary()
    assert summary["total_cost"] == pytest.approx(result["cost"])


async def test_a_request_failing_after_its_entry_is_deleted_gets_a_translated_error(
    hass: HomeAssistant, setup_aicleaner: Setup, simulator: SimulatorServer
) -> None:
    entry = await setup_aicleaner(("openai", "OpenAI", {"max_retries": 0}))
    _slow(simulator)
    simulator.sim.add_fault("openai", Fault(kind="status", status=500))
    request = asyncio.ensure_future(analyze(hass, prompt="hello", use_cache=False))
    await simulator.sim.wait_for_requests("openai", 1)
    assert await hass.config_entries.async_remove(entry.entry_id)
    # Not AttributeError('runtime_data'): the error names what was tried.
    with pytest.raises(HomeAssistantError) as raised:
        await request
    assert raised.value.translation_key == "providers_failed"


async def test_a_request_still_running_at_the_bound_is_cancelled_and_its_reservation_booked(
    hass: HomeAssistant, setup_aicleaner: Setup, simulator: SimulatorServer
) -> None:
    entry = await setup_aicleaner(("openai", "OpenAI", {}))
    _slow(simulator, 5.0)
    request = asyncio.ensure_future(analyze(hass, prompt="hello", use_cache=False))
    await simulator.sim.wait_for_requests("openai", 1)
    with patch.object(inflight, "UNLOAD_WAIT", 0.05):
        assert await hass.config_entries.async_reload(entry.entry_id)
    with pytest.raises(HomeAssistantError) as raised:
        await request
    assert raised.value.translation_key == "unloaded_during_request"
    # The cancelled call may have been billed: its reservation survived the reload.
    summary = entry.runtime_data.router.get_cost_summary()
    assert summary["total_cost"] > 0


async def test_a_batch_built_while_the_entry_unloads_never_runs_on_the_old_router(
    hass: HomeAssistant, setup_aicleaner: Setup, simulator: SimulatorServer
) -> None:
    entry = await setup_aicleaner(("openai", "OpenAI", {}))
    reading = asyncio.Event()
    release = asyncio.Event()

    async def read_images(*_args: Any, **_kwargs: Any) -> tuple[()]:
        reading.set()
        await release.wait()
        return ()

    with patch("custom_components.aicleaner.services.async_read_images", read_images):
        batch = asyncio.ensure_future(
            hass.services.async_call(
                DOMAIN,
                "analyze_batch",
                {"requests": [{"prompt": "one"}]},
                blocking=True,
                return_response=True,
            )
        )
        await reading.wait()
        assert await hass.config_entries.async_unload(entry.entry_id)
        release.set()
        with pytest.raises(HomeAssistantError) as raised:
            await batch
    assert raised.value.translation_key == "unloaded_during_request"
    assert simulator.sim.request_count("openai") == 0


async def test_no_save_is_made_after_the_unload(
    hass: HomeAssistant,
    setup_aicleaner: Setup,
    hass_storage: dict[str, Any],
) -> None:
    entry = await setup_aicleaner(("openai", "OpenAI", {}))
    ledger = entry.runtime_data.ledger
    assert await hass.config_entries.async_unload(entry.entry_id)
    written = hass_storage[STORAGE_KEY]
    # A late change of the old router would otherwise be written over a newer ledger.
    ledger.async_schedule_save()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=5))
    await hass.async_block_till_done()
    assert hass_storage[STORAGE_KEY] is written


async def test_an_image_entity_without_the_image_integration_is_a_clear_refusal(
    hass: HomeAssistant, setup_aicleaner: Setup
) -> None:
    await setup_aicleaner(("openai", "OpenAI", {}))
    # A state with no image integration loaded (a leftover, or one set by hand).
    hass.states.async_set("image.front_door", "2026-12-07T10:00:00+00:00")
    with pytest.raises(ServiceValidationError) as raised:
        await analyze(
            hass,
            prompt="What is at the door?",
            media_content_id="media-source://image/image.front_door",
        )
    assert raised.value.translation_key == "media_unknown"
